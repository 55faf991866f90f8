"""Tracing that cannot leak: every public entry point traces through a scrubber.

A tracer (LangSmith with ``LANGSMITH_TRACING=true``, or any callback handler that
exports) is an exit the egress guard does not see. Inside a private entry point
(``ChatCoGenesis``, ``ChatCoGenesisFusion``, the compiled graphs, ``cogenesis_tool``,
``PrivateContextRetriever``, anything wrapped with
:func:`~langchain_cogenesis.privacy.tracing.privately_traced.with_private_tracing`):

- LangChain's tracer (``LangChainTracer``) is replaced by a :class:`ScrubbingTracer`
  that hands its runs to the LangSmith client only when the entry point's own run
  ends, scrubbed then (:mod:`~langchain_cogenesis.privacy.tracing.trace_view`): by that time
  every text that went to the cloud is known, so the public sketch payload and the
  cloud's reply show as they are while private text shows as a keyed digest. Run
  names, nesting, timings, tags, metadata keys, numbers and egress decisions stay.
- Every other callback handler is wrapped in a :class:`ScrubbingHandler`: it gets
  the same scrubbed view, as each event happens.
- In-process plumbing that feeds the caller on this device sees the real text:
  ``stream()`` and ``astream_events()`` / ``astream_log()`` handlers, LangGraph's
  ``stream_mode="messages"``, ``with_listeners`` listeners, ``collect_runs()`` and
  usage counters. They are the caller's own code, like the returned answer.

``with allow_raw_tracing():`` (or ``Components(allow_tracing=True)`` for a
graph run) keeps tracing raw, e.g. towards a self-hosted collector on the device.

This module decides what each handler of a private run sees (:func:`private_callbacks`,
:func:`private_config`); the entry points that use it are in
:mod:`~langchain_cogenesis.privacy.tracing.privately_traced`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import cast

from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler, CallbackManager
from langchain_core.callbacks.base import Callbacks
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import ensure_config
from langchain_core.tracers.langchain import LangChainTracer

from langchain_cogenesis.errors import PrivacyViolation
from langchain_cogenesis.privacy.egress.decision import PublicRecord, current_record
from langchain_cogenesis.privacy.tracing import _langchain_internals as _internals
from langchain_cogenesis.privacy.tracing.scrubbing import (
    AsyncScrubbingHandler,
    ScrubbingHandler,
    ScrubbingTracer,
)

_internals.check()  # a langchain-core without what scrubbing needs fails here, loudly

_raw_tracing: ContextVar[bool] = ContextVar("cogenesis_raw_tracing", default=False)


@contextmanager
def allow_raw_tracing() -> Iterator[None]:
    """Trace private runs started inside this block without scrubbing.

    Only for a tracer that stays on the device (a self-hosted collector): every
    prompt, the private context included, reaches it as it is.
    """
    token = _raw_tracing.set(True)
    try:
        yield
    finally:
        _raw_tracing.reset(token)


def raw_tracing_allowed() -> bool:
    """Whether :func:`allow_raw_tracing` is in force here."""
    return _raw_tracing.get()


def private_callbacks(
    callbacks: Callbacks, local: Callbacks = None, record: PublicRecord | None = None
) -> Callbacks:
    """The callbacks of a private entry point: ``callbacks`` (and ``local`` ones) plus
    what LangChain would add (the environment's tracer, configure hooks), each
    wrapped so that it sees only what a tracer may see: private text as digests, the
    texts of ``record`` (the run's :class:`PublicRecord`; default the enclosing
    run's, else a new one) as they are. Idempotent."""
    if raw_tracing_allowed():
        return callbacks
    record = record or current_record() or PublicRecord()
    manager = CallbackManager.configure(callbacks, local)
    if not manager.handlers and not manager.inheritable_handlers:
        return manager
    in_process = _in_process_handlers()
    wrapped: dict[int, BaseCallbackHandler] = {}

    def wrap(handler: BaseCallbackHandler) -> BaseCallbackHandler:
        if id(handler) not in wrapped:
            wrapped[id(handler)] = _scrubbing(handler, in_process, record)
        return wrapped[id(handler)]

    private = manager.copy()
    private.handlers = [wrap(h) for h in manager.handlers]
    private.inheritable_handlers = [wrap(h) for h in manager.inheritable_handlers]
    return private


def raw_exporters(callbacks: Callbacks) -> list[str]:
    """The handlers of the caller's run that would see raw text returned into it:
    tracers and other exporters that are neither scrubbing nor the caller's own
    in-process plumbing (the environment's tracer included, as LangChain adds it)."""
    if raw_tracing_allowed():
        return []
    manager = CallbackManager.configure(callbacks)
    if manager.parent_run_id is None:
        return []  # a run of its own: private_callbacks scrubs it whole
    in_process = _in_process_handlers()
    return sorted(
        {
            type(handler).__name__
            for handler in [*manager.handlers, *manager.inheritable_handlers]
            if _scrubbing(handler, in_process, PublicRecord()) is not handler
        }
    )


def refuse_raw_tracing(callbacks: Callbacks, where: str) -> None:
    """Refuse to handle private text inside a run that a raw tracer records.

    A part used inside the caller's own runnable (``cogenesis_tool`` or
    ``PrivacyMiddleware`` in an agent) cannot scrub the caller's runs, which would
    carry what it returns; it stops before any private text exists.

    Raises:
        PrivacyViolation: ``callbacks`` hold a raw tracer; nothing private was made.
    """
    raw = raw_exporters(callbacks)
    if raw:
        raise PrivacyViolation(
            f"{where} runs inside a run traced raw by {', '.join(raw)}: the tracer would "
            "record the private text it handles. Wrap the agent or chain with "
            "langchain_cogenesis.with_private_tracing(...), or, for a tracer that stays "
            "on this device, run it inside allow_raw_tracing()."
        )


def private_config(
    config: RunnableConfig | None, record: PublicRecord | None = None
) -> RunnableConfig:
    """``config`` with :func:`private_callbacks` (the parent run's, when inside one)."""
    config = ensure_config(config)
    if raw_tracing_allowed():
        return config
    callbacks = private_callbacks(config.get("callbacks"), record=record)
    return cast("RunnableConfig", {**config, "callbacks": callbacks})


def run_record() -> PublicRecord:
    """The record of a private run starting here: the enclosing run's, else a new one."""
    return current_record() or PublicRecord()


def _scrubbing(
    handler: BaseCallbackHandler, in_process: set[int], record: PublicRecord
) -> BaseCallbackHandler:
    if isinstance(handler, ScrubbingTracer | ScrubbingHandler | AsyncScrubbingHandler):
        return handler
    if isinstance(handler, LangChainTracer):
        return ScrubbingTracer.around(handler, record)
    if id(handler) in in_process or _feeds_the_caller(handler):
        return handler
    if isinstance(handler, AsyncCallbackHandler):
        return AsyncScrubbingHandler(handler, record)
    return ScrubbingHandler(handler, record)


def _feeds_the_caller(handler: BaseCallbackHandler) -> bool:
    from langchain_core.callbacks.usage import UsageMetadataCallbackHandler
    from langchain_core.tracers.root_listeners import (
        AsyncRootListenersTracer,
        RootListenersTracer,
    )
    from langchain_core.tracers.run_collector import RunCollectorCallbackHandler

    mro = type(handler).__mro__
    # inheritance, not the runtime protocol: any exporter may have the tap methods
    if any(base in mro for base in _internals.streaming_handler_types()):
        return True
    if type(handler).__qualname__ == _internals.IDLE_PROGRESS_HANDLER:
        return True
    return isinstance(
        handler,
        RootListenersTracer
        | AsyncRootListenersTracer
        | RunCollectorCallbackHandler
        | UsageMetadataCallbackHandler,
    )


def _in_process_handlers() -> set[int]:
    """Handlers that ``CallbackManager.configure`` adds from context variables
    (``collect_runs()``, ``get_usage_metadata_callback()``); it adds them again at each
    nested run unless the very object is there, so they are left as they are."""
    return {id(handler) for handler in _internals.configure_hook_handlers()}
