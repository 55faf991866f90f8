"""The private entry points: chat models, graphs, runnables and tools traced privately.

Each class here runs its own run, and every run under it, with the callbacks of
:func:`~langchain_cogenesis.privacy.tracing.private.private_callbacks` and its
:class:`~langchain_cogenesis.privacy.egress.decision.PublicRecord` current:
:class:`PrivatelyTracedChatModel` (the base of the package's chat models),
:class:`PrivatelyTracedGraph` (mixed into compiled graphs by :func:`private_graph`),
:class:`PrivatelyTracedRunnable` (any runnable, by :func:`with_private_tracing`) and
:class:`PrivatelyTracedTool` (``cogenesis_tool``). What a tracer may see is decided in
:mod:`~langchain_cogenesis.privacy.tracing.private`.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from contextvars import copy_context
from typing import Any, TypeVar, cast

from langchain_core.callbacks.base import Callbacks
from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import LLMResult
from langchain_core.runnables import Runnable, RunnableBinding, RunnableConfig
from langchain_core.runnables.config import (
    ensure_config,
    merge_configs,
    var_child_runnable_config,
)
from langchain_core.tools import StructuredTool
from langgraph.pregel import Pregel

from langchain_cogenesis.privacy.egress.decision import (
    PublicRecord,
    drop_record,
    recording,
    use_record,
)
from langchain_cogenesis.privacy.tracing.private import (
    private_callbacks,
    private_config,
    raw_tracing_allowed,
    refuse_raw_tracing,
    run_record,
)


class PrivatelyTracedChatModel(BaseChatModel):
    """A chat model whose own run, and every run under it, traces through the scrubber.

    ``invoke``, ``batch``, ``generate`` (and their async twins), ``stream``, ``astream``
    and ``stream_events`` all pass here; so do handlers given as the model's own
    ``callbacks`` field.
    """

    def _privately(self, config: RunnableConfig | None) -> tuple[Any, RunnableConfig, PublicRecord]:
        config = ensure_config(config)
        record = run_record()
        if raw_tracing_allowed():
            return self, config, record
        callbacks = private_callbacks(config.get("callbacks"), self.callbacks, record)
        model = self.model_copy(update={"callbacks": None}) if self.callbacks else self
        return model, cast("RunnableConfig", {**config, "callbacks": callbacks}), record

    def generate(
        self,
        messages: Any,
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        **kwargs: Any,
    ) -> LLMResult:
        """As any chat model's, traced privately."""
        model, config, record = self._privately({"callbacks": callbacks})
        with recording(record):
            return super(PrivatelyTracedChatModel, model).generate(
                messages, stop, config.get("callbacks"), **kwargs
            )

    async def agenerate(
        self,
        messages: Any,
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        **kwargs: Any,
    ) -> LLMResult:
        """As any chat model's, traced privately."""
        model, config, record = self._privately({"callbacks": callbacks})
        with recording(record):
            return await super(PrivatelyTracedChatModel, model).agenerate(
                messages, stop, config.get("callbacks"), **kwargs
            )

    def stream(self, input: Any, config: Any = None, *, stop: Any = None, **kwargs: Any) -> Any:
        """As any chat model's, traced privately."""
        model, private, record = self._privately(config)
        steps = super(PrivatelyTracedChatModel, model).stream(input, private, stop=stop, **kwargs)
        return _within(steps, record)

    def astream(self, input: Any, config: Any = None, *, stop: Any = None, **kwargs: Any) -> Any:
        """As any chat model's, traced privately."""
        model, private, record = self._privately(config)
        steps = super(PrivatelyTracedChatModel, model).astream(input, private, stop=stop, **kwargs)
        return _awithin(steps, record)

    def stream_events(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        """As any chat model's (every ``version``), traced privately."""
        model, private, record = self._privately(config)
        steps = super(PrivatelyTracedChatModel, model).stream_events(input, private, **kwargs)
        # version="v3" answers a ChatModelStream object, returned as it is: its handlers
        # were wrapped above and scrub with this run's record
        return _within(steps, record) if inspect.isgenerator(steps) else steps

    def astream_events(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        """As any chat model's (every ``version``), traced privately."""
        model, private, record = self._privately(config)
        steps = super(PrivatelyTracedChatModel, model).astream_events(input, private, **kwargs)
        # version="v3" answers an awaitable stream object, returned as it is
        return _awithin(steps, record) if inspect.isasyncgen(steps) else steps


class PrivatelyTracedGraph(Pregel):  # type: ignore[type-arg]
    """Mixed into a compiled graph's class by :func:`private_graph`.

    ``invoke``, ``ainvoke``, ``batch``, ``stream_events`` and LangGraph Server's runs
    all pass through ``stream`` / ``astream``. A run whose context says
    ``allow_tracing`` is traced raw.
    """

    def stream(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        """As any compiled graph's, traced privately."""
        record = run_record()
        graph, private = _graph_privately(self, config, kwargs.get("context"), record)
        steps = super(PrivatelyTracedGraph, graph).stream(input, private, **kwargs)
        return _within(steps, record, None if private is config else private)

    def astream(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        """As any compiled graph's, traced privately."""
        record = run_record()
        graph, private = _graph_privately(self, config, kwargs.get("context"), record)
        steps = super(PrivatelyTracedGraph, graph).astream(input, private, **kwargs)
        return _awithin(steps, record, None if private is config else private)


# A private run's steps run with its PublicRecord current (what went to the cloud in
# it is recorded there). LangGraph merges the ambient config's callbacks (the caller's
# run) into a graph run's own; while a graph runs, the ambient config is the private one.


def _within(
    steps: Iterator[Any], record: PublicRecord, config: RunnableConfig | None = None
) -> Iterator[Any]:
    context = copy_context()
    context.run(use_record, record)
    if config is not None:
        context.run(var_child_runnable_config.set, config)
    try:
        while True:
            try:
                step = context.run(next, steps)
            except StopIteration:
                return
            yield step
    finally:
        context.run(getattr(steps, "close", lambda: None))


async def _awithin(
    steps: AsyncIterator[Any], record: PublicRecord, config: RunnableConfig | None = None
) -> AsyncIterator[Any]:
    token = var_child_runnable_config.set(config) if config is not None else None
    held = use_record(record)
    try:
        async for step in steps:
            yield step
    finally:
        aclose = getattr(steps, "aclose", None)
        if aclose is not None:
            await aclose()
        with suppress(ValueError):  # closed from another context: nothing to restore
            drop_record(held)
            if token is not None:
                var_child_runnable_config.reset(token)


def _graph_privately(
    graph: Any, config: Any, context: Any, record: PublicRecord
) -> tuple[Any, Any]:
    if raw_tracing_allowed() or _allows_tracing(context):
        return graph, config
    if (graph.config or {}).get("callbacks"):
        # handlers bound with with_config(callbacks=...) are scrubbed like the rest
        config = merge_configs(graph.config, config)
        graph = graph.copy({"config": {**graph.config, "callbacks": None}})
    return graph, private_config(config, record)


def _allows_tracing(context: Any) -> bool:
    if isinstance(context, dict):
        return bool(context.get("allow_tracing"))
    return bool(getattr(context, "allow_tracing", False))


_graph_classes: dict[type[Any], type[Any]] = {}

P = TypeVar("P", bound="Pregel[Any, Any, Any, Any]")
R = TypeVar("R", bound=Runnable)  # type: ignore[type-arg]


def private_graph(graph: P) -> P:
    """``graph`` (a compiled LangGraph graph), changed in place so that its runs trace
    through the scrubber. The package's graph builders return graphs made so."""
    cls = type(graph)
    if not issubclass(cls, PrivatelyTracedGraph):
        if cls not in _graph_classes:
            _graph_classes[cls] = type(
                f"PrivatelyTraced{cls.__name__}",
                (PrivatelyTracedGraph, cls),
                {"__module__": cls.__module__},
            )
        graph.__class__ = _graph_classes[cls]
    return graph


class PrivatelyTracedRunnable(RunnableBinding):  # type: ignore[type-arg]
    """Any runnable, traced privately (see :func:`with_private_tracing`)."""

    def _merge_configs(self, *configs: RunnableConfig | None) -> RunnableConfig:
        return private_config(super()._merge_configs(*configs))

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """As the wrapped runnable's, as one private run."""
        with recording(run_record()):
            return super().invoke(input, config, **kwargs)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """As the wrapped runnable's, as one private run."""
        with recording(run_record()):
            return await super().ainvoke(input, config, **kwargs)

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """As the wrapped runnable's, as one private run."""
        record = run_record()
        with recording(record):
            steps = super().stream(input, config, **kwargs)
        return _within(steps, record)

    def astream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """As the wrapped runnable's, as one private run."""
        record = run_record()
        with recording(record):
            steps = super().astream(input, config, **kwargs)
        return _awithin(steps, record)


def with_private_tracing(runnable: R) -> R:
    """``runnable``, with its own run and every run under it traced through the scrubber.

    Wrap an agent that handles private text, e.g. one built with ``create_agent`` and
    :class:`~langchain_cogenesis.graphs.PrivacyMiddleware` (its inputs and outputs
    hold the text the middleware restores on the device) or one that calls
    ``cogenesis_tool``::

        agent = with_private_tracing(create_agent(model, tools, middleware=[...]))

    A compiled graph stays a graph (a traced copy, ``get_state`` and all); any other
    runnable comes back bound, with its methods and attributes reachable as before.
    The package's own entry points are traced so already (returned as they are).
    """
    if isinstance(runnable, PrivatelyTracedGraph | PrivatelyTracedRunnable):
        return runnable
    if isinstance(runnable, Pregel):
        return cast("R", private_graph(runnable.copy()))
    return cast("R", PrivatelyTracedRunnable(bound=runnable))


class PrivatelyTracedTool(StructuredTool):
    """A tool whose run (input, output, errors) traces through the scrubber."""

    def _privately(self, callbacks: Callbacks) -> tuple[Any, Callbacks]:
        if raw_tracing_allowed():
            return self, callbacks
        # the caller's run would hold this tool's answer: refuse under a raw tracer
        refuse_raw_tracing(callbacks, f"The tool {self.name!r}")
        scrubbed = private_callbacks(callbacks, self.callbacks)
        tool = self.model_copy(update={"callbacks": None}) if self.callbacks else self
        return tool, scrubbed

    def run(
        self,
        tool_input: Any,
        verbose: bool | None = None,
        start_color: str | None = "green",
        color: str | None = "green",
        callbacks: Callbacks = None,
        **kwargs: Any,
    ) -> Any:
        """As any tool's, traced privately."""
        with recording(run_record()):
            tool, scrubbed = self._privately(callbacks)
            return super(PrivatelyTracedTool, tool).run(
                tool_input, verbose, start_color, color, scrubbed, **kwargs
            )

    async def arun(
        self,
        tool_input: Any,
        verbose: bool | None = None,
        start_color: str | None = "green",
        color: str | None = "green",
        callbacks: Callbacks = None,
        **kwargs: Any,
    ) -> Any:
        """As any tool's, traced privately."""
        with recording(run_record()):
            tool, scrubbed = self._privately(callbacks)
            return await super(PrivatelyTracedTool, tool).arun(
                tool_input, verbose, start_color, color, scrubbed, **kwargs
            )
