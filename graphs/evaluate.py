"""The evaluation runner's writer: each (setting, sample, seed) through the all-modes graph."""

from __future__ import annotations

from typing import Any

from langchain_cogenesis.evaluation.runner import Sample, Setting, Writer
from langchain_cogenesis.graphs.sketch import build_sketch_graph, run_sketch_graph
from langchain_cogenesis.graphs.state import Components
from langchain_cogenesis.models import ChatLocalLlama
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.retrievers import PrivateStore


def graph_writer(
    store: PrivateStore,
    guard: EgressGuard,
    *,
    fusion_guard: EgressGuard | None = None,
    max_tokens: int = 256,
    sketch_tokens: int = 256,
    k: int = 4,
    local_model_path: Any = None,
    combiner: Any = None,
    draft: int = 0,
) -> Writer:
    """A :data:`Writer` that ingests each sample's user once and runs the graph.

    ``cloud-private`` is the paper's upper bound: it sends the private context on
    purpose (``allow_private_egress``); the leak column shows it.
    """
    graph = build_sketch_graph()
    ingested: set[str] = set()

    def write(setting: Setting, sample: Sample, seed: int) -> str:
        user_id = sample.context.user_id
        if user_id not in ingested:
            if not store.has_user(user_id):
                store.add_user_context(sample.context)
            ingested.add(user_id)
        fusion = setting.mode == "fusion"
        components = Components(
            store=store,
            local_model=ChatLocalLlama(
                model_path=local_model_path, max_tokens=max_tokens, seed=seed
            ),
            egress_guard=(fusion_guard or guard) if fusion else guard,
            k=k,
            sketch_max_tokens=sketch_tokens,
            answer_max_tokens=max_tokens,
            allow_private_egress=setting.mode == "cloud-private",
            first_k=setting.first_k,
            fusion_max_tokens=max_tokens,
            fusion_draft=draft,
            combiner=combiner,
        )
        instruction = sample.task.instruction
        result = run_sketch_graph(
            components,
            {
                "user_id": user_id,
                "public_instruction": instruction.public_instruction,
                "private_instruction": instruction.private_instruction,
                "kind": instruction.kind,
                "mode": setting.mode,
            },
            graph=graph,
        )
        return result.answer

    return write
