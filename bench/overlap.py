"""Overlap on the sketch path: end-to-end latency and time to first token, in order vs
overlapped, in one run, with 0, 500 and 2,000 ms added to the cloud's answer.

In order, the sketch graph retrieves, asks the cloud for the sketch, and only then has
the local model read its whole prompt and write. Overlapped (``Components.overlap``,
the default), the sketch request leaves beside retrieval and the local model reads
its prompt up to the sketch's place while the cloud writes; once the sketch is there
only the sketch and the task are left to read.

Each run starts from an empty local context and no saved prefix, so the figures are a
first request's. The figures per run: ``total`` (the graph, end to end), ``ttft``
(first token of the answer), and the parts in order: ``cloud`` (the sketch request),
``read`` (the local model reading its whole prompt: the in-order run's time from the
sketch's arrival to the first token) and ``writing`` (first token to the end). The
goal: overlapped ``total`` within 5% of ``max(cloud, read) + writing``.

``--json PATH`` writes the figures (``bench/run_all.py overlap`` puts them in
``bench/results.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from langchain_cogenesis import prompts
from langchain_cogenesis.data import load_demo_users
from langchain_cogenesis.graphs import Components, build_sketch_graph, stream_sketch_graph
from langchain_cogenesis.graphs.messages import local_messages
from langchain_cogenesis.models import ChatLocalLlama, StandInCloud
from langchain_cogenesis.models.loader import smollm2_model_path
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.retrievers import PrivateStore
from langchain_cogenesis.retrievers.loaders import user_context_documents

DELAYS_MS = (0, 500, 2000)


class SlowCloud(EgressGuard):
    """The guard, with ``delay`` seconds added before the cloud's answer streams."""

    delay = 0.0

    def _stream_bounded(self, *args: Any, **kwargs: Any) -> str:
        time.sleep(self.delay)
        return super()._stream_bounded(*args, **kwargs)


def one_run(
    parts: Components, local: ChatLocalLlama, request: dict[str, Any], overlap: bool
) -> dict[str, float]:
    """One first request, from an empty context: total, first token, and the steps."""
    model = local.shared()
    with model.lock:  # a first request: nothing of this prompt in the context or saved
        model.llama.n_tokens = 0
        model.owner = None
        model.prefix_cache.clear()
    parts.overlap = overlap
    graph = build_sketch_graph()
    config: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
    started = time.perf_counter()
    sketch_at = first_token = 0.0
    for mode, event in stream_sketch_graph(
        parts, request, graph=graph, config=config, stream_mode=("updates", "messages")
    ):
        now = time.perf_counter() - started
        if mode == "updates" and "sketch" in event:
            sketch_at = now
        elif mode == "messages" and not first_token:
            chunk, metadata = event
            if metadata.get("langgraph_node") == "write" and chunk.content:
                first_token = now
    total = time.perf_counter() - started
    timings = graph.get_state(config).values.get("timings", {})
    return {
        "total": total,
        "ttft": first_token,
        "sketch_arrived": sketch_at,
        "cloud": float(timings.get("cloud_sketch", 0.0)),
        "read_ahead": float(timings.get("local_read_ahead", 0.0)),
        "writing": total - first_token,
        "read_after_sketch": first_token - sketch_at,
    }


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}


def measure(options: argparse.Namespace, home: Path) -> dict[str, Any]:
    users = load_demo_users()
    user = users[0]
    store = PrivateStore(home / "store")
    user_id = user.context.user_id
    store.add_documents(user_id, user_context_documents(user.context))
    path = smollm2_model_path()
    local = ChatLocalLlama(
        model_path=path, n_ctx=4096, max_tokens=options.max_tokens, temperature=0.0
    )
    request = {
        "user_id": user_id,
        "public_instruction": options.instruction,
        "private_instruction": options.private,
        "mode": "sketch",
    }
    results: dict[str, Any] = {}
    with StandInCloud(model_path=path, n_ctx=4096) as cloud:
        guard = SlowCloud(
            base_url=cloud.base_url, model=cloud.model, send_max_tokens=True, audit_log=None
        )
        parts = Components(
            store=store,
            local_model=local,
            egress_guard=guard,
            k=options.k,
            sketch_max_tokens=options.sketch_tokens,
        )
        one_run(parts, local, request, overlap=False)  # warm-up: models and detectors loaded
        for delay_ms in options.delays:
            guard.delay = delay_ms / 1000
            runs: dict[str, list[dict[str, float]]] = {"in_order": [], "overlapped": []}
            for _ in range(options.rounds):  # alternated, so drift hits both alike
                for name, overlap in (("in_order", False), ("overlapped", True)):
                    runs[name].append(one_run(parts, local, request, overlap))
            in_order, overlapped = median(runs["in_order"]), median(runs["overlapped"])
            read = in_order["read_after_sketch"]  # the whole prompt, read after the sketch
            bound = max(in_order["cloud"], read) + in_order["writing"]
            results[f"{delay_ms}ms"] = {
                "in_order": in_order,
                "overlapped": overlapped,
                "read_whole_prompt": round(read, 3),
                "goal_total": round(bound * 1.05, 3),
                "overlapped_within_goal": overlapped["total"] <= bound * 1.05,
                "total_ratio": round(overlapped["total"] / in_order["total"], 3),
                "ttft_ratio": round(overlapped["ttft"] / in_order["ttft"], 3),
            }
        # the greedy answer overlapped equals the one written from an empty context with
        # the same sketch (the cloud samples its sketch, so runs differ in their sketch)
        parts.overlap = True
        graph = build_sketch_graph()
        config: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
        for _ in stream_sketch_graph(parts, request, graph=graph, config=config):
            pass
        values = graph.get_state(config).values
        model = local.shared()
        with model.lock:
            model.llama.n_tokens = 0
            model.owner = None
            model.prefix_cache.clear()
            alone = prompts.clean_answer(local.invoke(local_messages(values)).text)
    results["same_answer"] = alone == values["answer"]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--delays", type=int, nargs="+", default=list(DELAYS_MS))
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--sketch-tokens", type=int, default=64)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--instruction", default="Write a short speech for a garden party.")
    parser.add_argument("--private", default="Thank the volunteers who built the raised beds.")
    parser.add_argument("--json", type=Path, default=None)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        results = measure(options, Path(folder))
    figures = {
        "benchmark": "overlap",
        "model": "SmolLM2-135M-Instruct (local and stand-in cloud)",
        "options": {k: v for k, v in vars(options).items() if k != "json"},
        "delays": results,
    }
    for delay, row in results.items():
        if not isinstance(row, dict):
            continue
        print(
            f"cloud +{delay:>6}: in order {row['in_order']['total']:6.2f} s "
            f"(first token {row['in_order']['ttft']:5.2f} s), overlapped "
            f"{row['overlapped']['total']:6.2f} s "
            f"(first token {row['overlapped']['ttft']:5.2f} s); "
            f"ratio {row['total_ratio']:.2f}; goal {row['goal_total']:.2f} s: "
            f"{'met' if row['overlapped_within_goal'] else 'missed'}"
        )
    print(f"same greedy answer as read in order, for the same sketch: {results['same_answer']}")
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
