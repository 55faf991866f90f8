"""Sketch-based CoGenesis (paper §3.2) as a LangGraph graph.

    prepare ─► retrieve ─► sketch (cloud, public part only) ─► write (local SLM)
       │           ├──────────────────────────────────────────► write   (mode="local")
       │           └─► cloud_answer (with context; explicit opt-in)      (mode="cloud-private")
       └─► cloud_answer (public part only)                                (mode="cloud-public")

Run it with :class:`Components` as LangGraph's run-time context::

    from langchain_cogenesis.graphs import Components, build_sketch_graph

    graph = build_sketch_graph()
    state = graph.invoke(
        {"user_id": "maya-okafor", "public_instruction": "Write a toast for a garden party"},
        config={"configurable": {"thread_id": "1"}},
        context=Components(store=store, local_model=local_model, egress_guard=guard),
    )

With tracing on (``LANGSMITH_TRACING=true``, or any callback handler), a run traces
through the scrubber of :mod:`~langchain_cogenesis.privacy.tracing.private`: the run's
structure, timings, the public sketch payload and the egress decisions show; private
text shows only as keyed digests.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from langchain_cogenesis.errors import UnknownThread
from langchain_cogenesis.graphs.messages import instruction_of
from langchain_cogenesis.graphs.nodes import (
    cloud_answer,
    prepare,
    retrieve,
    route_after_prepare,
    route_after_retrieve,
    sketch,
    write,
)
from langchain_cogenesis.graphs.router import fuse_or_fall_back, route_after_fuse
from langchain_cogenesis.graphs.state import (
    Components,
    WritingInput,
    WritingOutput,
    WritingState,
)
from langchain_cogenesis.privacy.tracing.private import allow_raw_tracing
from langchain_cogenesis.privacy.tracing.privately_traced import private_graph, with_private_tracing
from langchain_cogenesis.schema import CloudPayload, Sketch, WritingResult

CheckpointerChoice = BaseCheckpointSaver[Any] | Literal["memory"] | None


def _builder(
    output_schema: type[Any] = WritingState,
) -> StateGraph[WritingState, Components, WritingInput, WritingState]:
    builder = StateGraph(
        WritingState,
        context_schema=Components,
        input_schema=WritingInput,
        output_schema=output_schema,
    )
    builder.add_node("prepare", prepare)
    builder.add_node("retrieve", retrieve)
    builder.add_node("sketch", sketch)
    builder.add_node("write", write)
    builder.add_node("cloud_answer", cloud_answer)
    builder.add_node("fuse", fuse_or_fall_back)
    builder.add_edge(START, "prepare")
    builder.add_conditional_edges(
        "prepare", route_after_prepare, ["retrieve", "sketch", "cloud_answer"]
    )
    builder.add_conditional_edges(
        "retrieve", route_after_retrieve, ["sketch", "fuse", "write", "cloud_answer"]
    )
    builder.add_conditional_edges("fuse", route_after_fuse, ["sketch", "write", END])
    builder.add_edge("sketch", "write")
    builder.add_edge("write", END)
    builder.add_edge("cloud_answer", END)
    return builder


def build_sketch_graph(
    checkpointer: CheckpointerChoice = "memory",
    *,
    output_schema: type[Any] = WritingState,
) -> CompiledStateGraph[WritingState, Components, WritingInput, WritingState]:
    """Compile the sketch graph.

    Args:
        checkpointer: ``"memory"`` (default) for an in-memory saver, any LangGraph
            checkpointer (e.g. :func:`sqlite_checkpointer`), or ``None`` for none.
            With a checkpointer, pass ``{"configurable": {"thread_id": ...}}``.
        output_schema: what a run returns: the whole state (default), or
            :class:`~langchain_cogenesis.graphs.state.WritingOutput`, the answer and
            the egress record without the retrieved documents (the served graph's).
    """
    saver = InMemorySaver() if checkpointer == "memory" else checkpointer
    compiled = _builder(output_schema).compile(checkpointer=saver, name="cogenesis-sketch")
    return private_graph(compiled)


def result_from_state(state: dict[str, Any]) -> WritingResult:
    """Turn a finished graph state into a :class:`WritingResult`."""
    sketch_text = state.get("sketch")
    return WritingResult(
        user_id=state["user_id"],
        mode=state["mode"],
        instruction=instruction_of(state),  # type: ignore[arg-type]
        answer=state.get("answer", ""),
        sketch=Sketch.from_text(sketch_text) if sketch_text else None,
        context_used=[document.page_content for document in state.get("context", [])],
        context_dropped=[d.page_content for d in state.get("context_dropped", [])],
        cloud_payloads=[CloudPayload.model_validate(p) for p in state.get("cloud_payloads", [])],
        cloud_skipped=state.get("cloud_skipped", ""),
        degraded=bool(state.get("degraded_reason")),
        degraded_reason=state.get("degraded_reason", ""),
        route=state.get("route", ""),
        route_reason=state.get("route_reason", ""),
        fusion=state.get("fusion"),
        timings=dict(state.get("timings", {})),
        local_usage={key: int(value) for key, value in state.get("local_usage", {}).items()},
    )


def run_sketch_graph(
    components: Components,
    request: WritingInput,
    *,
    graph: CompiledStateGraph[WritingState, Components, WritingInput, WritingState] | None = None,
    config: RunnableConfig | None = None,
) -> WritingResult:
    """Run the graph once and return a :class:`WritingResult`.

    A fresh thread id is used unless ``config`` names one. Each step's checkpoint is
    written before the next step starts (``durability="sync"``), so with a durable
    checkpointer a run killed mid-way resumes with :func:`resume_sketch_graph`.
    """
    graph = graph or build_sketch_graph()
    # checkpoints written step by step need a checkpointer to write them to
    durable: dict[str, Any] = {"durability": "sync"} if graph.checkpointer else {}
    traced = with_private_tracing(graph)
    run_config: RunnableConfig = dict(config or {})  # type: ignore[assignment]
    configurable = dict(run_config.get("configurable", {}))
    configurable.setdefault("thread_id", uuid.uuid4().hex)
    run_config["configurable"] = configurable
    with private_run(components):
        state = traced.invoke(request, config=run_config, context=components, **durable)
    return result_from_state(state)


def stream_sketch_graph(
    components: Components,
    request: WritingInput | None,
    *,
    graph: CompiledStateGraph[WritingState, Components, WritingInput, WritingState],
    config: RunnableConfig,
    stream_mode: Sequence[str] = ("updates", "messages"),
) -> Iterator[tuple[str, Any]]:
    """Run the graph as :func:`run_sketch_graph` does, yielding LangGraph's
    ``(stream_mode, event)`` pairs as the steps finish and the answer is written
    (``request=None`` continues the thread ``config`` names from its checkpoint). The
    result is the thread's state afterwards: ``result_from_state(graph.get_state(config).values)``.
    """
    durable: dict[str, Any] = {"durability": "sync"} if graph.checkpointer else {}
    traced: Any = with_private_tracing(graph)
    with private_run(components):
        for mode, event in traced.stream(
            request, config=config, context=components, stream_mode=list(stream_mode), **durable
        ):
            yield str(mode), event


def resume_sketch_graph(
    components: Components,
    thread_id: str,
    *,
    graph: CompiledStateGraph[WritingState, Components, WritingInput, WritingState],
) -> WritingResult:
    """Finish the run stored under ``thread_id`` from its last checkpoint.

    Steps that finished before the run stopped (a crash, a killed process) are not
    run again: a sketch the cloud already wrote is read from the checkpoint, and the
    cloud is not asked twice. A finished run returns its stored result.

    Raises:
        UnknownThread: ``graph``'s checkpointer holds no run under ``thread_id``.
    """
    graph = with_private_tracing(graph)
    config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
    snapshot = graph.get_state(config)
    if not snapshot.values:
        raise UnknownThread(thread_id)
    if not snapshot.next:
        return result_from_state(snapshot.values)
    with private_run(components):
        state = graph.invoke(None, config=config, context=components, durability="sync")
    return result_from_state(state)


@contextmanager
def private_run(components: Components) -> Iterator[None]:
    """A block that runs with ``components``: traced through the scrubber, like every
    run of the package's graphs, unless ``components.allow_tracing`` is set.

    A tracer ships every prompt, the local ones included, to a remote service: an
    egress the guard does not see. The scrubber
    (:mod:`~langchain_cogenesis.privacy.tracing.private`)
    lets a tracer see the run's structure, timings, public payloads and egress
    decisions, and private text only as keyed digests. ``allow_tracing`` keeps
    tracing raw, for a tracer that stays on the device (a self-hosted collector).
    """
    if components.allow_tracing:
        with allow_raw_tracing():
            yield
        return
    yield


graph = build_sketch_graph(checkpointer=None, output_schema=WritingOutput)
"""The graph LangGraph Server serves (``langgraph.json``): no checkpointer (the server
brings its own) and only the answer and the egress record as output."""
