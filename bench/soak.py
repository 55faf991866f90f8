"""Soak: many calls through ChatCoGenesis and ChatCoGenesisFusion; do resources stay flat?

Real parts throughout: the demo users in the default Chroma store under a temporary
``COGENESIS_HOME`` and the bundled Gemma 3 270M as the local model and scorer, both
taken from the environment (the models are given no store and no local model); the
stand-in (llama_cpp.server, with log-probabilities for fusion) as the cloud, behind
one audited guard with ``send_max_tokens`` (llama_cpp.server ignores the newer field
and would otherwise write to the end of its window). ``--chat-calls`` sketch calls
through one :class:`ChatCoGenesis`, then ``--fusion-calls`` fused calls through one
:class:`ChatCoGenesisFusion`, one after another, with tiny answers.

Every ``--every`` calls it records resident memory, open file descriptors, threads
(the kernel's count: Python's, llama.cpp's and the HTTP clients'), live guards and
stores, the checkpointer's stored threads, and the mean and 95th-percentile latency
of those calls. Slopes (least squares over the windows after the first, the warm-up)
are per 1,000 calls: flat lines have slopes near 0. ``--json PATH`` writes the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage

from langchain_cogenesis.data import load_demo_users
from langchain_cogenesis.fusion import ChatCoGenesisFusion
from langchain_cogenesis.graphs import ChatCoGenesis
from langchain_cogenesis.models import StandInCloud, bundled_model_path
from langchain_cogenesis.privacy import AuditLog, EgressGuard
from langchain_cogenesis.retrievers import PrivateStore

MEASURED = ("rss_mb", "open_fds", "threads")


def resources() -> dict[str, float]:
    """This process's resident memory (MB), open descriptors and kernel threads."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        rss = int(statm.read().split()[1]) * resource.getpagesize() / 2**20
    with open("/proc/self/status", encoding="ascii") as status:
        threads = next(int(line.split()[1]) for line in status if line.startswith("Threads:"))
    return {
        "rss_mb": round(rss, 1),
        "open_fds": len(os.listdir("/proc/self/fd")),
        "threads": threads,
    }


def live(kind: type) -> int:
    """Objects of ``kind`` alive now (after a collection)."""
    gc.collect()
    return sum(type(thing) is kind for thing in gc.get_objects())


def checkpointed_threads(model: Any) -> int:
    """Threads held by a chat model's graph checkpointer (0 without one)."""
    saver = getattr(getattr(model, "_graph", None), "checkpointer", None)
    storage = getattr(saver, "storage", None)
    return len(storage) if storage is not None else 0


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ``ys`` over ``xs``."""
    if len(xs) < 2:
        return 0.0
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def soak(calls: int, every: int, call: Callable[[int], None], model: Any) -> dict[str, Any]:
    """Run ``call(i)`` ``calls`` times; a window of figures every ``every`` calls."""
    windows: list[dict[str, Any]] = []
    latencies: list[float] = []
    for index in range(calls):
        started = time.perf_counter()
        call(index)
        latencies.append(time.perf_counter() - started)
        if (index + 1) % every == 0 or index + 1 == calls:
            ordered = sorted(latencies)
            windows.append(
                {
                    "calls": index + 1,
                    **resources(),
                    "live_guards": live(EgressGuard),
                    "live_stores": live(PrivateStore),
                    "checkpointer_threads": checkpointed_threads(model),
                    "latency_mean_s": round(statistics.fmean(ordered), 4),
                    "latency_p95_s": round(ordered[round(0.95 * (len(ordered) - 1))], 4),
                }
            )
            latencies.clear()
            print(f"  {json.dumps(windows[-1])}", flush=True)  # progress of a long run
    steady = windows[1:] if len(windows) > 2 else windows
    xs = [float(w["calls"]) for w in steady]
    return {
        "calls": calls,
        "windows": windows,
        # per 1,000 calls, after the first window (warm-up: models load, caches fill)
        "slope_per_1000_calls": {
            name: round(1000 * slope(xs, [float(w[name]) for w in steady]), 3)
            for name in (*MEASURED, "latency_mean_s")
        },
        "growth_after_warmup": {
            name: round(windows[-1][name] - windows[0][name], 1) for name in MEASURED
        },
    }


def run_soak(
    chat_calls: int, fusion_calls: int, tokens: int, every: int, model_path: Path | None
) -> dict[str, Any]:
    users = load_demo_users()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        model_path = model_path or bundled_model_path(home / "models")
        os.environ.update(COGENESIS_HOME=str(home), COGENESIS_LOCAL_MODEL=str(model_path))
        os.environ.pop("COGENESIS_CHROMA_URL", None)
        with PrivateStore(home / "store") as store:  # the default store's folder
            for user in users:
                store.add_user_context(user.context)
        del store  # the calls open the default store themselves
        # users take turns, so the warm-up meets each user's index once (Chroma opens
        # a user's index files on first use: a cost per user, not per call)
        turns = max(len(user.tasks) for user in users)
        tasks = [
            (user.context.user_id, user.tasks[turn].instruction)
            for turn in range(turns)
            for user in users
            if turn < len(user.tasks)
        ]
        # fusion's stand-in keeps logits of every position: a small window keeps it small
        with StandInCloud(model_path, n_ctx=1024, logits_all=True) as cloud:
            guard = EgressGuard(
                base_url=cloud.base_url,
                model=cloud.model,
                send_max_tokens=True,
                audit_log=AuditLog(home / "audit.sqlite3"),
            )
            chat = ChatCoGenesis(
                egress_guard=guard, max_tokens=tokens, sketch_max_tokens=tokens, k=2
            )

            def chat_call(index: int) -> None:
                user_id, instruction = tasks[index % len(tasks)]
                private = {"private": True}
                messages = [
                    HumanMessage(instruction.private_instruction, additional_kwargs=private),
                    HumanMessage(instruction.public_instruction),
                ]
                chat.invoke(messages, config={"configurable": {"user_id": user_id}})

            fusion = ChatCoGenesisFusion(
                egress_guard=guard,
                max_tokens=tokens,
                n_ctx=1024,
                private_context=[tasks[0][1].private_instruction],
            )

            def fusion_call(index: int) -> None:
                fusion.invoke(tasks[index % len(tasks)][1].public_instruction)

            started = time.perf_counter()
            figures: dict[str, Any] = {
                "benchmark": "soak",
                "tokens": tokens,
                "every": every,
                "chat": soak(chat_calls, every, chat_call, chat),
                "fusion": soak(fusion_calls, every, fusion_call, fusion),
            }
            figures["wall_seconds"] = round(time.perf_counter() - started, 1)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chat-calls", type=int, default=1000)
    parser.add_argument("--fusion-calls", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=6, help="sketch and answer tokens per call")
    parser.add_argument("--every", type=int, default=100, help="calls per measured window")
    parser.add_argument("--model", type=Path, default=None, help="GGUF (default: the bundled one)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    figures = run_soak(args.chat_calls, args.fusion_calls, args.tokens, args.every, args.model)
    for name in ("chat", "fusion"):
        part = figures[name]
        print(f"{name}: {part['calls']} calls ({args.tokens} tokens each)")
        print("  calls    RSS MB  fds  threads  guards  stores  ckpt  mean s  p95 s")
        for w in part["windows"]:
            print(
                f"  {w['calls']:5d}  {w['rss_mb']:8.1f}  {w['open_fds']:3d}  {w['threads']:7d}"
                f"  {w['live_guards']:6d}  {w['live_stores']:6d}  {w['checkpointer_threads']:4d}"
                f"  {w['latency_mean_s']:6.3f}  {w['latency_p95_s']:5.3f}"
            )
        print(f"  slope per 1,000 calls after warm-up: {part['slope_per_1000_calls']}")
    print(f"wall {figures['wall_seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
