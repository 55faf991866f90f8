"""Fusion against the stand-in cloud: log-probabilities by partial selection vs stock.

``ChatCoGenesisFusion`` (Gemma 3 270M in both roles, greedy) writes ``--tokens``
tokens three ways: with the cloud model scored in this process, against the
stand-in (``StandInCloud``, whose server ranks each scored position's top k by
partial selection), and against ``python -m llama_cpp.server`` as shipped
(``fast_logprobs=False``, which sorts the whole 262,144-token vocabulary in Python
for every scored position). Twice: per token (one next-token request a token) and
drafting (``--draft`` local proposals per ``echo`` request, as in the README; the
stock server only with ``--stock-drafting``, since it then ranks every prompt token
again at each request: minutes). Each way is warmed up (models loaded, tokenizers
checked, the prompt seen once), then timed: the stock server once, the others
``--repeats`` times (median). Goal: fusion via the stand-in within 3x of in process;
the two servers write the same text. ``--json PATH`` writes every figure
(``bench/run_all.py standin_scoring`` puts them in ``bench/results.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from langchain_cogenesis.fusion import ChatCoGenesisFusion, LlamaCppScorer
from langchain_cogenesis.fusion.tokenizer import piece_map
from langchain_cogenesis.models import StandInCloud, bundled_model_path
from langchain_cogenesis.privacy import EgressGuard

PRIVATE = "Maya Okafor runs the Linden Street Community Garden in Millbrook."
QUESTION = "Write a welcome speech for a community garden's summer harvest festival."
GOAL_RATIO = 3.0


def timed_fusion(model: ChatCoGenesisFusion, tokens: int, repeats: int) -> dict[str, Any]:
    """Warm ``model`` up, then time ``repeats`` invocations of ``tokens`` tokens."""
    model.invoke(QUESTION, max_tokens=1)
    seconds, reply = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        reply = model.invoke(QUESTION, max_tokens=tokens)
        seconds.append(time.perf_counter() - start)
    assert reply is not None
    metadata = reply.response_metadata
    return {
        "seconds": statistics.median(seconds),
        "runs": len(seconds),
        "output_tokens": (reply.usage_metadata or {}).get("output_tokens"),
        "cloud_requests": metadata.get("cloud_requests"),
        "text": str(reply.content),
    }


def fusion(model_path: Path, tokens: int, draft: int, cloud: StandInCloud | None) -> Any:
    settings: dict[str, Any] = {
        "private_context": [PRIVATE],
        "max_tokens": tokens,
        "draft": draft,
        "local_model_path": model_path,
        "n_ctx": 1024,
    }
    if cloud is None:
        return ChatCoGenesisFusion(cloud_model_path=model_path, **settings)
    guard = EgressGuard(base_url=cloud.base_url, model=cloud.model, audit_log=None)
    return ChatCoGenesisFusion(egress_guard=guard, **settings)


def warm_piece_map(model_path: Path) -> None:
    """Build the text-to-id map of the vocabulary (cached per model file; a remote
    cloud's top tokens arrive as text) before the untimed warm-up needs it. A scorer
    given its thread count skips reading the settings at each of the 262,144
    detokenizations, which takes the build from minutes to seconds."""
    piece_map(LlamaCppScorer(model_path, n_ctx=256, name="piece-map", n_threads=1))


def measure(
    model_path: Path, tokens: int, draft: int, repeats: int, stock_drafting: bool
) -> dict[str, Any]:
    warm_piece_map(model_path)
    settings = {"per_token": 0, "drafting": draft}
    rows: dict[str, dict[str, Any]] = {name: {"draft": d} for name, d in settings.items()}
    for name, d in settings.items():
        model = fusion(model_path, tokens, d, None)
        rows[name]["in_process"] = timed_fusion(model, tokens, repeats)
    # one server at a time: each holds n_ctx x vocabulary floats of logits
    for server, fast in (("standin", True), ("standin_stock", False)):
        with StandInCloud(model_path, n_ctx=512, logits_all=True, fast_logprobs=fast) as cloud:
            for name, d in settings.items():
                if fast or name == "per_token" or stock_drafting:
                    model = fusion(model_path, tokens, d, cloud)
                    rows[name][server] = timed_fusion(model, tokens, repeats if fast else 1)
    for row in rows.values():
        in_process = row["in_process"]["seconds"]
        row["standin_vs_in_process"] = row["standin"]["seconds"] / in_process
        if "standin_stock" in row:
            stock = row["standin_stock"]
            row["stock_vs_in_process"] = stock["seconds"] / in_process
            row["stock_vs_standin"] = stock["seconds"] / row["standin"]["seconds"]
            row["same_text_as_stock"] = row["standin"]["text"] == stock["text"]
    return {
        "benchmark": "standin_scoring",
        "model": model_path.name,
        "tokens": tokens,
        "repeats": repeats,
        "load_average_1min": os.getloadavg()[0],
        **rows,
        "goal_ratio": GOAL_RATIO,
    }


def report(figures: dict[str, Any]) -> None:
    print(f"ChatCoGenesisFusion, {figures['tokens']} tokens (seconds, median):")
    for name in ("per_token", "drafting"):
        row = figures[name]
        print(f"  {name} (draft {row['draft']}):")
        for way in ("in_process", "standin", "standin_stock"):
            if way in row:
                run = row[way]
                print(
                    f"    {way:<14} {run['seconds']:7.2f} s  {run['cloud_requests']} cloud "
                    f"requests, {run['output_tokens']} tokens"
                )
        line = f"    stand-in / in process: {row['standin_vs_in_process']:.2f}x (goal <= 3x)"
        if "standin_stock" in row:
            line += (
                f"; stock / in process: {row['stock_vs_in_process']:.1f}x; stock / stand-in: "
                f"{row['stock_vs_standin']:.1f}x; same text as stock: {row['same_text_as_stock']}"
            )
        print(line)
    print(f"  load average (1 min) at the end: {figures['load_average_1min']:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=24, help="tokens each fusion writes")
    parser.add_argument("--draft", type=int, default=8, help="proposals per request, drafting")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs (stock: one)")
    parser.add_argument(
        "--stock-drafting", action="store_true",
        help="time the stock server with drafting too (it scores every prompt token: minutes)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as home:
        os.environ["COGENESIS_HOME"] = home  # the stand-ins' logs
        model_path = bundled_model_path(Path(home) / "models")
        figures = measure(model_path, args.tokens, args.draft, args.repeats, args.stock_drafting)
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
