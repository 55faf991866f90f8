"""One shared local model under concurrent requests: serialized by a lock, measured.

llama.cpp contexts are not thread-safe, so every ChatLocalLlama instance with the same
GGUF shares one loaded model and takes turns. Prints requests/s and p50/p95 latency for
N requests run one after another and N run from N threads at once, the loaded-model
count (one), and the resident memory before and after. ``--json PATH`` writes them.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage

from langchain_cogenesis.models import ChatLocalLlama, bundled_model_path
from langchain_cogenesis.models.loader import loaded_count


def timed(model: ChatLocalLlama, prompt: str) -> float:
    started = time.perf_counter()
    model.invoke([HumanMessage(prompt)])
    return time.perf_counter() - started


def summary(latencies: list[float], wall: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "wall_seconds": wall,
        "requests_per_second": len(ordered) / wall,
        "p50_seconds": statistics.median(ordered),
        "p95_seconds": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=24)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    path = bundled_model_path()
    prompts = [f"Write one line about the number {n}." for n in range(args.requests)]
    models = [ChatLocalLlama(model_path=path, max_tokens=args.tokens, seed=n, n_ctx=1024)
              for n in range(args.requests)]  # fmt: skip
    timed(models[0], "Warm up.")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    sequential = [timed(m, p) for m, p in zip(models, prompts, strict=True)]
    rows: dict[str, Any] = {"sequential": summary(sequential, time.perf_counter() - started)}
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.requests) as pool:
        concurrent = list(pool.map(timed, models, prompts))
    rows["concurrent"] = summary(concurrent, time.perf_counter() - started)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "benchmark": "concurrency",
        **rows,
        "loaded_models": loaded_count(),
        "peak_rss_mb_before": rss_before,
        "peak_rss_mb_after": rss_after,
        "throughput_ratio": rows["concurrent"]["requests_per_second"]
        / rows["sequential"]["requests_per_second"],
    }
    print(f"{args.requests} requests of {args.tokens} tokens on one shared Gemma 3 270M")
    for name in ("sequential", "concurrent"):
        row = rows[name]
        print(
            f"  {name:<11} {row['requests_per_second']:.2f} req/s  p50 {row['p50_seconds']:.2f} s"
            f"  p95 {row['p95_seconds']:.2f} s"
        )
    print(
        f"  loaded models: {figures['loaded_models']}; peak RSS {rss_before:.0f} -> "
        f"{rss_after:.0f} MB; concurrent/sequential throughput {figures['throughput_ratio']:.2f}x"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
