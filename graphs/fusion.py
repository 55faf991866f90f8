"""Logit-based CoGenesis (paper §3.3) as a graph node, and the fusion graph.

    prepare ─► retrieve ─► fuse ─► END

This graph fuses or fails with a typed error (:class:`TokenizerMismatch`,
:class:`CloudLogprobsUnavailable`); the router graph (``graphs/router.py``) falls
back to the sketch path instead.

The local model decodes from instruction + private context; at each step the cloud
scores the public instruction + the generated prefix, and a combiner fuses the two
distributions. Prefixes pass the egress guard and a prefix gate; once private text
appears in the prefix, the cloud stops taking part.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from langchain_cogenesis import prompts
from langchain_cogenesis.graphs.defaults import components
from langchain_cogenesis.graphs.messages import local_messages, with_conversation
from langchain_cogenesis.graphs.nodes import prepare, retrieve
from langchain_cogenesis.graphs.scanners import scanner_for
from langchain_cogenesis.graphs.state import (
    Components,
    WritingInput,
    WritingOutput,
    WritingState,
)
from langchain_cogenesis.privacy import restore
from langchain_cogenesis.privacy.egress.gate import PrefixGate
from langchain_cogenesis.privacy.redaction.placeholders import StreamRestorer

if TYPE_CHECKING:
    from langchain_cogenesis.fusion import FusionResult, TokenScorer


@lru_cache(maxsize=1)
def default_local_scorer() -> TokenScorer:
    """The local GGUF (``COGENESIS_LOCAL_MODEL`` or the bundled one, with the adapter
    ``COGENESIS_LOCAL_LORA`` when set) as a scorer."""
    from langchain_cogenesis.config import Settings
    from langchain_cogenesis.fusion import LlamaCppScorer
    from langchain_cogenesis.models import bundled_model_path

    settings = Settings.from_env()
    path = settings.local_model_path or bundled_model_path(settings.model_cache)
    return LlamaCppScorer(path, name="local", lora_path=settings.local_lora_path)


def cloud_scorer_for(state: WritingState, parts: Components, local: TokenScorer) -> TokenScorer:
    """The cloud side: in-process when given, else guarded remote with a tokenizer
    check (cached per model file and endpoint, see :mod:`~langchain_cogenesis.fusion.tokenizer`)."""
    # the fusion package (numpy) is imported on use: the sketch path runs without it
    from langchain_cogenesis.fusion import check_same_tokenizer
    from langchain_cogenesis.fusion.tokenizer import remote_cloud_scorer

    if parts.cloud_scorer is not None:
        check_same_tokenizer(local, parts.cloud_scorer)
        return parts.cloud_scorer  # type: ignore[no-any-return]
    guard = parts.egress_guard
    assert guard is not None  # checked in prepare
    return remote_cloud_scorer(
        guard, local, scanner=scanner_for(state, parts), user_id=state["user_id"]
    )


def fuse(state: WritingState, runtime: Runtime[Components]) -> dict[str, Any]:
    """Fused decoding of the answer.

    Raises:
        TokenizerMismatch: the two models do not share a vocabulary.
        CloudLogprobsUnavailable: the cloud endpoint returns no log-probabilities.
        MissingExtra: the ``fusion`` extra is not installed.
    """
    from langchain_cogenesis.fusion import MeanCombiner
    from langchain_cogenesis.fusion.decoding import final_result, fused_chat
    from langchain_cogenesis.fusion.preparation import fit_private_context, public_side

    started = time.perf_counter()
    parts = components(runtime)
    local = parts.local_scorer
    if local is None:
        local = default_local_scorer()
    kind = state.get("kind", "context-aware")
    update: dict[str, Any] = {}
    # one preparation with ChatCoGenesisFusion: the public side decided once, before
    # decoding (placeholders cannot be added mid-generation), and the local window fit
    scanner = scanner_for(state, parts)
    public = public_side(
        with_conversation(
            state,
            prompts.without_context_prompt(kind).format_messages(task=state["public_instruction"]),
        ),
        scanner,
        parts.door(),
        user_id=state["user_id"],
    )
    cloud: TokenScorer | None = None
    if public.cloud_skipped:
        update["cloud_skipped"] = public.cloud_skipped
    else:  # the tokenizer check probes the cloud: only once the cloud takes part
        cloud = cloud_scorer_for(state, parts, local)
    context, dropped = fit_private_context(
        state.get("context", []),
        lambda kept: local_messages({**state, "context": kept}),
        local,
        parts.fusion_max_tokens,
    )
    if dropped:
        update.update(context=context, context_dropped=dropped)
    # the fusion package's loop (fusion.decoding), as ChatCoGenesisFusion runs it
    steps = fused_chat(
        local,
        cloud,
        local_messages({**state, "context": context}),
        public.messages,
        parts.combiner or MeanCombiner(),
        max_tokens=parts.fusion_max_tokens,
        first_k=parts.first_k,
        prefix_gate=PrefixGate(scanner),
        draft=parts.fusion_draft,
        degrade=parts.degrade_on_cloud_error,
    )
    result = final_result(_streamed(steps, runtime.stream_writer, public.redactions))
    if result.cloud_error:
        update["degraded_reason"] = (
            f"the cloud failed after {result.cloud_tokens} fused token(s), so the local "
            f"model finished alone: {result.cloud_error}"
        )
    return {
        **update,
        # placeholders of the split or of this redaction are filled in on the device
        "answer": restore(
            result.text.strip(), {**state.get("redactions", {}), **public.redactions}
        ),
        "fusion": {
            "cloud_tokens": result.cloud_tokens,
            "cloud_stopped_at": result.cloud_stopped_at,
            "cloud_requests": result.cloud_requests,
            "drafted": result.drafted,
            "accepted": result.accepted,
            # exactly what the cloud received: one prompt per completion request
            "cloud_prompts": list(getattr(cloud, "prompts_sent", [])),
            "first_k": parts.first_k,
            "finish_reason": result.finish_reason,
            "cloud_error": result.cloud_error,
            "trace": [
                {
                    "token": t.text,
                    "weight": t.weight,
                    "local_top": list(t.local_top),
                    "cloud_top": list(t.cloud_top) if t.cloud_top else None,
                }
                for t in result.trace
            ],
        },
        "timings": {"fusion": time.perf_counter() - started},
    }


def _streamed(
    steps: Iterator[tuple[Any, FusionResult]],
    write: Callable[[Any], None],
    redactions: dict[str, str],
) -> Iterator[tuple[Any, FusionResult]]:
    """The decoding steps, each new piece of text also written to LangGraph's custom
    stream (``{"fused_token": text}``, restored on the device) as soon as it exists."""
    restorer, shown = StreamRestorer(redactions), ""
    for step in steps:
        text = step[1].text.rstrip("\ufffd")  # a broken multi-byte character waits
        if len(text) > len(shown) and text.startswith(shown):
            if piece := restorer.feed(text[len(shown) :]):
                write({"fused_token": piece})
            shown = text
        yield step
    if rest := restorer.flush():
        write({"fused_token": rest})


def fusion_builder(
    fuse_node: Any = fuse, output_schema: type[Any] = WritingState
) -> StateGraph[WritingState, Components, WritingInput, WritingState]:
    """prepare ─► retrieve ─► fuse, uncompiled; the router adds its fallback to it."""
    builder = StateGraph(
        WritingState,
        context_schema=Components,
        input_schema=WritingInput,
        output_schema=output_schema,
    )
    builder.add_node("prepare", prepare)
    builder.add_node("retrieve", retrieve)
    builder.add_node("fuse", fuse_node)
    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "retrieve")
    builder.add_edge("retrieve", "fuse")
    return builder


def compile_with(builder: Any, checkpointer: Any, name: str) -> Any:
    """Compile with an in-memory checkpointer (``"memory"``), a given one, or none;
    the graph's runs trace through the scrubber
    (:mod:`~langchain_cogenesis.privacy.tracing.private`)."""
    from langgraph.checkpoint.memory import InMemorySaver

    from langchain_cogenesis.privacy.tracing.privately_traced import private_graph

    saver = InMemorySaver() if checkpointer == "memory" else checkpointer
    return private_graph(builder.compile(checkpointer=saver, name=name))


def build_fusion_graph(
    checkpointer: Any = "memory", *, output_schema: type[Any] = WritingState
) -> CompiledStateGraph[WritingState, Components, WritingInput, WritingState]:
    """Fusion only: prepare, retrieve, fuse (typed errors when fusion cannot run).

    ``output_schema`` as in :func:`~langchain_cogenesis.graphs.build_sketch_graph`.
    """
    builder = fusion_builder(output_schema=output_schema)
    builder.add_edge("fuse", END)
    return compile_with(builder, checkpointer, "cogenesis-fusion")  # type: ignore[no-any-return]


graph = build_fusion_graph(checkpointer=None, output_schema=WritingOutput)
"""The compiled fusion graph LangGraph Server serves (no checkpointer; public output)."""
