"""Every private name of langchain-core (and LangGraph) the tracing guarantee rests on.

The scrubber must know which callback handlers feed the caller in process (streaming
taps, the configure hooks behind ``collect_runs()``) and must copy a tracer's parent
runs; langchain-core exposes none of that publicly. Those names are reached here and
nowhere else, and :func:`check` runs when :mod:`~langchain_cogenesis.privacy.tracing.private`
is imported: a langchain-core release that renames one fails loudly, with
:class:`IncompatibleLangChain` naming it, instead of scrubbing less without a word.
"""

from __future__ import annotations

import inspect
from typing import Any

IDLE_PROGRESS_HANDLER = "_IdleProgressCallbackHandler"
"""LangGraph's timeout clock (a handler of its own runs); matched by class name."""


class IncompatibleLangChain(ImportError):
    """The installed langchain-core lacks an internal the tracing guarantee uses."""


def streaming_handler_types() -> tuple[type[Any], ...]:
    """The base classes of ``stream()`` / ``astream_events()`` taps (in-process)."""
    from langchain_core.tracers._streaming import (
        _StreamingCallbackHandler,
        _V2StreamingCallbackHandler,
    )

    return (_StreamingCallbackHandler, _V2StreamingCallbackHandler)


def configure_hook_handlers() -> list[Any]:
    """The handlers ``CallbackManager.configure`` adds from context variables now
    (``collect_runs()``, ``get_usage_metadata_callback()``...)."""
    from langchain_core.tracers.context import _configure_hooks

    return [var.get() for var, _, _, _ in _configure_hooks if var.get() is not None]


def external_run_ids(tracer: Any) -> dict[Any, Any]:
    """A copy of the parent runs a ``LangChainTracer`` knows from outside its own tree."""
    return dict(tracer._external_run_ids)


def check() -> None:
    """Raise :class:`IncompatibleLangChain` when an internal above is gone or changed."""
    from langchain_core import __version__
    from langchain_core.tracers.langchain import LangChainTracer

    missing = []
    try:
        streaming_handler_types()
    except ImportError:
        missing.append("langchain_core.tracers._streaming (the streaming handler bases)")
    try:
        from langchain_core.tracers.context import _configure_hooks

        if not all(len(hook) == 4 for hook in _configure_hooks):
            missing.append("langchain_core.tracers.context._configure_hooks (4-tuples)")
    except ImportError:
        missing.append("langchain_core.tracers.context._configure_hooks")
    takes = (
        "_external_run_ids" in inspect.signature(vars(cls)["__init__"]).parameters
        for cls in LangChainTracer.__mro__
        if "__init__" in vars(cls)
    )
    if not any(takes):
        missing.append("LangChainTracer(_external_run_ids=...)")
    for method in ("_start_trace", "_get_stacktrace"):
        if not callable(getattr(LangChainTracer, method, None)):
            missing.append(f"LangChainTracer.{method}")
    if missing:
        raise IncompatibleLangChain(
            f"langchain-core {__version__} lacks what the private tracing needs: "
            f"{'; '.join(missing)}. Install a langchain-core this package supports "
            "(see its pyproject.toml) rather than run without the tracing guarantee."
        )
