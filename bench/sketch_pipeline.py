"""Latency breakdown of sketch-based CoGenesis on the demo (embedded defaults).

Prints, per step, the median seconds over ``--runs`` runs after one warm-up:
retrieve (local Chroma), cloud sketch (stand-in server), local generation
(llama.cpp), everything else, and the graph's own overhead as a share of the
total (target: under 2%). ``--json PATH`` also writes the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from langchain_cogenesis.data import load_demo_users
from langchain_cogenesis.graphs import Components, build_sketch_graph, result_from_state
from langchain_cogenesis.models import ChatLocalLlama, StandInCloud, bundled_model_path
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.retrievers import PrivateStore

STEPS = ("retrieve", "cloud_sketch", "local_generate")


def measure(runs: int, answer_tokens: int, sketch_tokens: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        model_path = bundled_model_path(home / "models")
        store = PrivateStore(home / "store")
        users = load_demo_users()
        for user in users:
            store.add_user_context(user.context)
        user = users[0]
        task = user.tasks[0].instruction
        request: Any = {
            "user_id": user.context.user_id,
            "public_instruction": task.public_instruction,
            "private_instruction": task.private_instruction,
            "mode": "sketch",
        }
        with StandInCloud(model_path) as standin:
            components = Components(
                store=store,
                local_model=ChatLocalLlama(
                    model_path=model_path, max_tokens=answer_tokens, temperature=0.0
                ),
                egress_guard=EgressGuard(
                    base_url=standin.base_url, model=standin.model, send_max_tokens=True
                ),
                sketch_max_tokens=sketch_tokens,
                # the steps one after another: the overhead is the total less the steps
                # (overlapped, the steps add up to more than the total; bench/overlap.py)
                overlap=False,
            )
            graph = build_sketch_graph(checkpointer=None)
            samples: list[dict[str, float]] = []
            for run in range(runs + 1):
                started = time.perf_counter()
                state = graph.invoke(request, context=components)
                total = time.perf_counter() - started
                if run == 0:
                    continue  # warm-up: loads the models
                timings = result_from_state(state).timings
                inside_nodes = sum(timings.values())
                sample = {step: timings.get(step, 0.0) for step in STEPS}
                sample["everything_else"] = total - sum(sample.values())
                sample["graph_overhead"] = total - inside_nodes
                sample["total"] = total
                samples.append(sample)
    medians = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
    medians["graph_overhead_share"] = medians["graph_overhead"] / medians["total"]
    return {
        "benchmark": "sketch_pipeline",
        "runs": runs,
        "answer_tokens": answer_tokens,
        "sketch_tokens": sketch_tokens,
        "median_seconds": medians,
        "target_graph_overhead_share": 0.02,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--answer-tokens", type=int, default=128)
    parser.add_argument("--sketch-tokens", type=int, default=128)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    figures = measure(args.runs, args.answer_tokens, args.sketch_tokens)
    medians = figures["median_seconds"]
    print(f"sketch pipeline, median of {args.runs} run(s) after a warm-up")
    for key in (*STEPS, "everything_else", "total"):
        share = medians[key] / medians["total"]
        print(f"  {key:<16} {medians[key]:8.3f} s  {share:6.1%}")
    verdict = "ok" if medians["graph_overhead_share"] < 0.02 else "ABOVE TARGET"
    print(
        f"  graph overhead   {medians['graph_overhead'] * 1000:8.1f} ms "
        f"{medians['graph_overhead_share']:6.2%} of total (target < 2%: {verdict})"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
