"""The CoGenesis graph as a subgraph of your own LangGraph graph.

Your graph keeps its own keys (here a word budget and a review) next to the writing
keys; the compiled sketch graph runs as one node and gets its parts (store, models,
the guard) from the run's context.

Run: python examples/subgraph.py
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from langgraph.graph import END, START, StateGraph

from langchain_cogenesis import ChatLocalLlama, EgressGuard
from langchain_cogenesis.data import load_demo_users
from langchain_cogenesis.graphs import Components, WritingState, build_sketch_graph
from langchain_cogenesis.models import cloud_endpoint
from langchain_cogenesis.retrievers import PrivateStore


class NoteState(WritingState, total=False):
    """The writing keys plus this app's own."""

    word_budget: int
    review: str


def plan(state: NoteState) -> dict[str, Any]:
    """This app's first step: decide the instruction (public) and the private part."""
    return {
        "public_instruction": f"Write a thank-you note of at most {state['word_budget']} words",
        "private_instruction": "Thank Mr. Halvorsen for building the accessible raised beds",
        "mode": "sketch",
    }


def review(state: NoteState) -> dict[str, Any]:
    """This app's last step, on the device: check the budget."""
    words = len(state.get("answer", "").split())
    verdict = "within" if words <= state["word_budget"] else "over"
    return {"review": f"{words} words, {verdict} the budget of {state['word_budget']}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-tokens", type=int, default=120)
    args = parser.parse_args()

    builder = StateGraph(NoteState, context_schema=Components)
    builder.add_node("plan", plan)
    builder.add_node("cogenesis", build_sketch_graph(checkpointer=None))
    builder.add_node("review", review)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "cogenesis")
    builder.add_edge("cogenesis", "review")
    builder.add_edge("review", END)
    app = builder.compile()

    user = load_demo_users()[0]
    with tempfile.TemporaryDirectory() as folder, cloud_endpoint(n_ctx=2048) as cloud:
        base_url, model, is_standin = cloud
        store = PrivateStore(Path(folder) / "store")
        store.add_user_context(user.context)
        parts = Components(
            store=store,
            local_model=ChatLocalLlama(max_tokens=args.max_tokens, seed=1),
            egress_guard=EgressGuard(
                base_url=base_url, model=model, send_max_tokens=is_standin, audit_log=None
            ),
            sketch_max_tokens=args.max_tokens,
        )
        state = app.invoke({"user_id": user.context.user_id, "word_budget": 80}, context=parts)
    print(f"Sketch from the cloud:\n{state['sketch']}\n")
    print(f"Answer written on the device:\n{state['answer']}\n")
    print(f"Review: {state['review']}")
    print(f"Sent to the cloud: {[p['purpose'] for p in state['cloud_payloads']]}")


if __name__ == "__main__":
    main()
