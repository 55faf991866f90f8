"""Reuse per user: the second request of a user, after another user's, with and without
the saved prompt prefix.

Each round starts from an empty context and no saved states, then runs the writer
prompt (``prompts.writer_messages``: system prompt, the demo user's profile and
activity log, a sketch, the task) of user A, then user B's, then A's next request
(another sketch and task). B's request (a shorter context) moves llama.cpp's context
away, so its own reuse of the last sequence cannot help A's second request: only the
saved prefix can.
Each request generates one token, so its time is the prompt's reading (time to first
token), measured as wall-clock seconds and as the CPU seconds of this process (the
steadier figure where other work shares the cores). Rounds alternate the two settings
(with ``user_id=``, and without), and the figures are medians. Prints A's first and
second reading time in each setting, their ratio, the speed-up of the second reading,
the tokens loaded and the state's size.
``--json PATH`` writes the figures (``bench/run_all.py prefix_reuse`` puts them in
``bench/results.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.messages import BaseMessage

from langchain_cogenesis import prompts
from langchain_cogenesis.data import DatasetUser, load_demo_users
from langchain_cogenesis.models import ChatLocalLlama
from langchain_cogenesis.models.loader import bundled_model_path, smollm2_model_path

REQUESTS = (
    (
        "Write a note inviting the neighbours to the harvest day.",
        "1. Greet the street\n2. Say when and where\n3. What to bring\n4. Why it matters",
    ),
    (
        "Write a thank-you message to the volunteers after a busy month.",
        "- Open with the month's work\n- Name what went well\n- Thank them\n- Sign off warmly",
    ),
)


def writer_prompt(user: DatasetUser, request: int, chunks: int | None = None) -> list[BaseMessage]:
    """The user's writer prompt with their first ``chunks`` private chunks (all: None)."""
    context = user.context
    documents = [Document(d, metadata={"kind": "private_detail"}) for d in context.private_details]
    documents += [Document(d, metadata={"kind": "activity_log"}) for d in context.activity_logs]
    task, sketch = REQUESTS[request]
    return prompts.writer_messages("context-aware", task, documents[:chunks], sketch)


def reading(model: ChatLocalLlama, messages: list[BaseMessage], user_id: str | None) -> dict:
    started, cpu = time.perf_counter(), time.process_time()
    reply = model.invoke(messages, **({"user_id": user_id} if user_id else {}))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    usage: Any = reply.usage_metadata or {}
    loaded = (usage.get("input_token_details") or {}).get("cache_read", 0)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "prompt_tokens": usage.get("input_tokens"),
        "loaded": loaded,
    }


def one_round(model: ChatLocalLlama, ana: DatasetUser, ben: DatasetUser, reuse: bool) -> dict:
    loaded = model.shared()
    with loaded.lock:  # an empty context and no saved states: every round starts alike
        loaded.prefix_cache.clear()
        loaded.llama.n_tokens = 0
        loaded.owner = None
    first = reading(model, writer_prompt(ana, 0), "ana" if reuse else None)
    # B's request (a shorter context: it only has to move the context away)
    reading(model, writer_prompt(ben, 0, chunks=3), "ben" if reuse else None)
    second = reading(model, writer_prompt(ana, 1), "ana" if reuse else None)
    saved = loaded.prefix_cache.get("ana")
    return {
        "first_seconds": first["seconds"],
        "second_seconds": second["seconds"],
        "first_cpu_seconds": first["cpu_seconds"],
        "second_cpu_seconds": second["cpu_seconds"],
        "prompt_tokens": [first["prompt_tokens"], second["prompt_tokens"]],
        "loaded_tokens": second["loaded"],
        "state_bytes": len(saved.state) if saved is not None else 0,
        "cache_bytes": loaded.prefix_cache.nbytes,
    }


def model_path(family: str) -> Path:
    if family == "gemma":
        return bundled_model_path()
    if family == "smollm2":
        return smollm2_model_path()
    raise SystemExit(f"unknown family {family!r}; choose gemma or smollm2")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--family", default="gemma", help="gemma (the default model) or smollm2")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    path = model_path(args.family)
    model = ChatLocalLlama(model_path=path, n_ctx=2048, max_tokens=1, temperature=0.0)
    ana, ben = load_demo_users()[:2]
    model.invoke("Say hello.")  # warm-up: page the weights in
    rows: dict[str, list[dict]] = {"with_reuse": [], "without_reuse": []}
    for _ in range(args.rounds):
        rows["with_reuse"].append(one_round(model, ana, ben, reuse=True))
        rows["without_reuse"].append(one_round(model, ana, ben, reuse=False))
    figures: dict[str, Any] = {
        "benchmark": "prefix_reuse",
        "model": path.name,
        "rounds": args.rounds,
        "threads": getattr(model.shared().llama, "n_threads", None),
    }
    for setting, runs in rows.items():
        first = statistics.median(r["first_seconds"] for r in runs)
        second = statistics.median(r["second_seconds"] for r in runs)
        first_cpu = statistics.median(r["first_cpu_seconds"] for r in runs)
        second_cpu = statistics.median(r["second_cpu_seconds"] for r in runs)
        figures[setting] = {
            "first_reading_seconds": first,
            "second_reading_seconds": second,
            "second_over_first": second / first,
            "first_reading_cpu_seconds": first_cpu,
            "second_reading_cpu_seconds": second_cpu,
            "second_over_first_cpu": second_cpu / first_cpu,
            "prompt_tokens": runs[0]["prompt_tokens"],
            "loaded_tokens": runs[0]["loaded_tokens"],
            "state_bytes": runs[0]["state_bytes"],
            "cache_bytes": runs[0]["cache_bytes"],
            "rounds": runs,
        }
    with_reuse, without = figures["with_reuse"], figures["without_reuse"]
    figures["second_reading_speedup"] = (
        without["second_reading_seconds"] / with_reuse["second_reading_seconds"]
    )
    figures["first_reading_overhead"] = (
        with_reuse["first_reading_seconds"] / without["first_reading_seconds"]
    )
    figures["second_reading_speedup_cpu"] = (
        without["second_reading_cpu_seconds"] / with_reuse["second_reading_cpu_seconds"]
    )
    figures["first_reading_overhead_cpu"] = (
        with_reuse["first_reading_cpu_seconds"] / without["first_reading_cpu_seconds"]
    )
    print(f"{path.name}, user A, then user B, then A again; medians of {args.rounds} rounds")
    for setting in ("without_reuse", "with_reuse"):
        row = figures[setting]
        print(
            f"  {setting:14s} A's first reading {row['first_reading_seconds']:.2f} s "
            f"({row['first_reading_cpu_seconds']:.2f} s CPU, {row['prompt_tokens'][0]} tokens), "
            f"second {row['second_reading_seconds']:.2f} s "
            f"({row['second_reading_cpu_seconds']:.2f} s CPU, {row['prompt_tokens'][1]} tokens, "
            f"{row['loaded_tokens']} loaded): second/first {row['second_over_first']:.2f} "
            f"({row['second_over_first_cpu']:.2f} CPU)"
        )
    print(
        f"  A's second reading {figures['second_reading_speedup']:.1f}x faster with reuse "
        f"({figures['second_reading_speedup_cpu']:.1f}x in CPU time); first reading "
        f"{figures['first_reading_overhead']:.2f}x ({figures['first_reading_overhead_cpu']:.2f}x "
        f"CPU: saving the state); state {with_reuse['state_bytes'] / 2**20:.1f} MiB for "
        f"{with_reuse['loaded_tokens']} tokens"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
