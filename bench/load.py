"""Load: many concurrent requests through the sketch graph against the stand-in cloud.

Real parts throughout: the demo users in a local Chroma store, the stand-in
(llama_cpp.server) as the cloud, one shared Gemma 3 270M as the local model. Fires
``--requests`` requests from ``--concurrency`` threads at once (after one warm-up)
and prints how many completed, degraded or failed (by error type), p50/p95 latency,
requests/s, the number of loaded local models, and resident memory before and after.
``--json PATH`` writes the figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from langchain_cogenesis.data import load_demo_users
from langchain_cogenesis.errors import CoGenesisError
from langchain_cogenesis.graphs import Components, build_sketch_graph, run_sketch_graph
from langchain_cogenesis.models import ChatLocalLlama, StandInCloud, bundled_model_path
from langchain_cogenesis.models.loader import loaded_count
from langchain_cogenesis.privacy import AuditLog, EgressGuard
from langchain_cogenesis.retrievers import PrivateStore


def rss_mb() -> float:
    """Current resident memory of this process."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run_load(
    requests: int,
    concurrency: int,
    answer_tokens: int,
    sketch_tokens: int,
    waves: int = 1,
    k: int = 3,
) -> Any:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        model_path = bundled_model_path(home / "models")
        store = PrivateStore(home / "store")
        users = load_demo_users()
        for user in users:
            store.add_user_context(user.context)
        tasks = [
            {
                "user_id": user.context.user_id,
                "public_instruction": task.instruction.public_instruction,
                "private_instruction": task.instruction.private_instruction,
                "mode": "sketch",
            }
            for user in users
            for task in user.tasks
        ]
        with StandInCloud(model_path, n_ctx=2048) as standin:
            components = Components(
                degrade_on_cloud_error=True,  # a degraded answer is an outcome counted here
                store=store,
                local_model=ChatLocalLlama(
                    model_path=model_path, max_tokens=answer_tokens, n_ctx=2048, seed=0
                ),
                egress_guard=EgressGuard(
                    base_url=standin.base_url,
                    model=standin.model,
                    send_max_tokens=True,
                    timeout=300,  # requests queue at the stand-in, which answers one at a time
                    audit_log=AuditLog(home / "audit.sqlite3"),
                ),
                sketch_max_tokens=sketch_tokens,
                k=k,
            )
            graph = build_sketch_graph()
            run_sketch_graph(components, tasks[0], graph=graph)  # warm-up: loads the models
            rss_before = rss_mb()
            outcomes: Counter[str] = Counter()
            latencies: list[float] = []
            tally = threading.Lock()

            def one(index: int) -> None:
                started = time.perf_counter()
                try:
                    result = run_sketch_graph(components, tasks[index % len(tasks)], graph=graph)
                    outcome = "degraded" if result.degraded else "completed"
                except CoGenesisError as error:
                    outcome = f"error:{type(error).__name__}"
                with tally:
                    outcomes[outcome] += 1
                    if outcome == "completed" and result.answer:
                        outcomes["answered"] += 1
                        latencies.append(time.perf_counter() - started)

            # each wave is ``requests`` more requests; memory that grows with the
            # number of requests (not with concurrency) shows between waves
            rss_after_wave: list[float] = []
            started = time.perf_counter()
            for _ in range(waves):
                with ThreadPoolExecutor(max_workers=concurrency) as pool:
                    list(pool.map(one, range(requests)))
                rss_after_wave.append(rss_mb())
            wall = time.perf_counter() - started
            audited = len(AuditLog(home / "audit.sqlite3").entries())
    ordered = sorted(latencies)
    return {
        "benchmark": "load",
        "requests": requests * waves,
        "waves": waves,
        "concurrency": concurrency,
        "answer_tokens": answer_tokens,
        "sketch_tokens": sketch_tokens,
        "k": k,
        "outcomes": dict(outcomes),
        "wall_seconds": wall,
        "requests_per_second": requests * waves / wall,
        "p50_seconds": statistics.median(ordered) if ordered else None,
        "p95_seconds": percentile(ordered, 0.95) if ordered else None,
        "loaded_local_models": loaded_count(),
        "rss_mb_before": rss_before,
        "rss_mb_after": rss_mb(),
        "rss_mb_after_each_wave": rss_after_wave,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "audited_cloud_attempts": audited,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--waves", type=int, default=2, help="rounds of --requests requests")
    parser.add_argument("--tokens", type=int, default=16, help="answer tokens per request")
    parser.add_argument("--sketch-tokens", type=int, default=32)
    parser.add_argument("--k", type=int, default=3, help="private notes retrieved per request")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    figures = run_load(
        args.requests, args.concurrency, args.tokens, args.sketch_tokens, args.waves, args.k
    )
    print(
        f"{figures['requests']} sketch-graph requests, {figures['concurrency']} at once "
        f"(stand-in cloud, one shared Gemma 3 270M, {figures['answer_tokens']} answer tokens)"
    )
    print(f"  outcomes: {figures['outcomes']}")
    if figures["p50_seconds"] is not None:
        print(
            f"  {figures['requests_per_second']:.2f} req/s  p50 {figures['p50_seconds']:.1f} s  "
            f"p95 {figures['p95_seconds']:.1f} s  ({figures['wall_seconds']:.1f} s in all)"
        )
    print(
        f"  loaded local models: {figures['loaded_local_models']}; RSS "
        f"{figures['rss_mb_before']:.0f} -> "
        + " -> ".join(f"{mb:.0f}" for mb in figures["rss_mb_after_each_wave"])
        + " MB after each wave "
        f"(peak {figures['peak_rss_mb']:.0f} MB); cloud attempts audited: "
        f"{figures['audited_cloud_attempts']}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    failed = sum(v for key, v in figures["outcomes"].items() if key.startswith("error:"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
