"""The router graph: fusion when it can run, else the sketch path, automatically.

    prepare ─► retrieve ─► fuse ─► END
                             └─► sketch ─► write ─► END

Logit-based fusion needs a shared tokenizer and an endpoint that returns
log-probabilities. When either is missing (:class:`TokenizerMismatch`,
:class:`CloudLogprobsUnavailable`, raised before a single fused token is kept),
the run continues on the sketch path and ``cloud_skipped`` says why. When the cloud
fails outright (:class:`CloudError` after the guard's retries) the local model
writes alone (``degraded``), unless ``degrade_on_cloud_error`` is off.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from langchain_cogenesis.errors import CloudError, CloudLogprobsUnavailable, TokenizerMismatch
from langchain_cogenesis.graphs.defaults import components
from langchain_cogenesis.graphs.fusion import compile_with, fuse, fusion_builder
from langchain_cogenesis.graphs.nodes import degraded_reason, sketch, write
from langchain_cogenesis.graphs.state import (
    Components,
    WritingInput,
    WritingOutput,
    WritingState,
)


def fuse_or_fall_back(state: WritingState, runtime: Runtime[Components]) -> dict[str, Any]:
    """The fuse node; when fusion cannot run, records why and leaves the answer empty."""
    try:
        return fuse(state, runtime)
    except (TokenizerMismatch, CloudLogprobsUnavailable) as reason:
        return {"cloud_skipped": f"fusion fell back to the sketch path: {reason}"}
    except CloudError as failure:
        if not components(runtime).degrade_on_cloud_error:
            raise
        return {"degraded_reason": degraded_reason("fusion", failure)}


def route_after_fuse(state: WritingState) -> str:
    """A fused answer ends the run; a failed cloud leaves the writing to the local
    model; a fallback continues with the sketch path."""
    if state.get("answer"):
        return END
    return "write" if state.get("degraded_reason") else "sketch"


def build_router_graph(
    checkpointer: Any = "memory", *, output_schema: type[Any] = WritingState
) -> CompiledStateGraph[WritingState, Components, WritingInput, WritingState]:
    """Fusion with its automatic fallback to sketch-then-write.

    ``output_schema`` as in :func:`~langchain_cogenesis.graphs.build_sketch_graph`.
    """
    builder = fusion_builder(fuse_or_fall_back, output_schema)
    builder.add_node("sketch", sketch)
    builder.add_node("write", write)
    builder.add_conditional_edges("fuse", route_after_fuse, ["sketch", "write", END])
    builder.add_edge("sketch", "write")
    builder.add_edge("write", END)
    return compile_with(builder, checkpointer, "cogenesis-router")  # type: ignore[no-any-return]


graph = build_router_graph(checkpointer=None, output_schema=WritingOutput)
"""The compiled router graph LangGraph Server serves (no checkpointer; public output)."""
