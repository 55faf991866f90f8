"""Fused decoding speed: local alone, fusion in-process, fusion against the stand-in.

Prints tokens/s of each through the same loop, their ratios (for two equal-size
models the in-process limit is 0.5x; target at least 0.45x), remote requests per
generated token, and the per-step overhead outside the models' forward passes
(top-k, combiner, sampling, gate; target under 1 ms). ``--json PATH`` writes them.
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

from langchain_cogenesis.fusion import (
    LlamaCppScorer,
    MeanCombiner,
    RemoteCompletionScorer,
    fused_generate,
)
from langchain_cogenesis.models import StandInCloud, bundled_model_path
from langchain_cogenesis.privacy import EgressGuard, PrefixGate, PrivacyScanner

LOCAL_PROMPT = (
    "<start_of_turn>user\nMaya Okafor runs the Linden Street Community Garden in Millbrook. "
    "Write a welcome speech for the summer harvest festival.<end_of_turn>\n<start_of_turn>model\n"
)
CLOUD_PROMPT = (
    "<start_of_turn>user\nWrite a welcome speech for a community garden's summer harvest "
    "festival.<end_of_turn>\n<start_of_turn>model\n"
)


def run(local: Any, cloud: Any, tokens: int) -> dict[str, float]:
    local_ids = local.tokenize(LOCAL_PROMPT, add_bos=True)
    cloud_ids = local.tokenize(CLOUD_PROMPT, add_bos=True)
    gate = PrefixGate(PrivacyScanner(["Maya Okafor runs the Linden Street Community Garden"]))
    started = time.perf_counter()
    result = fused_generate(
        local, cloud, local_ids, cloud_ids, MeanCombiner(), max_tokens=tokens, prefix_gate=gate
    )
    seconds = time.perf_counter() - started
    generated = max(1, len(result.token_ids))
    return {
        "tokens": generated,
        "seconds": seconds,
        "tokens_per_second": generated / seconds,
        "cloud_tokens": result.cloud_tokens,
        "step_overhead_ms_median": statistics.median(result.step_overhead_ms),
        "requests": getattr(cloud, "requests", 0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        model_path = bundled_model_path(Path(folder) / "models")
        local = LlamaCppScorer(model_path, n_ctx=1024, name="local")
        cloud = LlamaCppScorer(model_path, n_ctx=1024, name="cloud")
        run(local, None, 4)  # warm-up: load the weights
        run(local, cloud, 4)
        alone = run(local, None, args.tokens)
        in_process = run(local, cloud, args.tokens)
        with StandInCloud(model_path, n_ctx=512, logits_all=True) as standin:
            guard = EgressGuard(base_url=standin.base_url, model=standin.model, audit_log=None)
            remote = RemoteCompletionScorer(guard, local, skip_ids=local.tokenize("", add_bos=True))
            remote.piece_ids()  # the vocabulary map is built once, not per token
            remote_tokens = max(4, args.tokens // 4)
            per_token = run(local, remote, remote_tokens)
    figures = {
        "benchmark": "fusion",
        "local_alone": alone,
        "fusion_in_process": in_process,
        "fusion_remote_per_token": per_token,
        "in_process_ratio": in_process["tokens_per_second"] / alone["tokens_per_second"],
        "remote_ratio": per_token["tokens_per_second"] / alone["tokens_per_second"],
        "remote_requests_per_token": per_token["requests"] / per_token["tokens"],
        "targets": {"in_process_ratio": 0.45, "step_overhead_ms": 1.0},
    }
    print(f"fused decoding, {args.tokens} tokens (Gemma 3 270M in both roles)")
    for name in ("local_alone", "fusion_in_process", "fusion_remote_per_token"):
        row = figures[name]
        print(
            f"  {name:<24} {row['tokens_per_second']:6.1f} tok/s  "
            f"step overhead {row['step_overhead_ms_median']:.2f} ms  "
            f"cloud tokens {row['cloud_tokens']}"
        )
    print(
        f"  in-process fusion / local alone: {figures['in_process_ratio']:.2f}x (target >= 0.45x)"
    )
    print(
        f"  remote per-token fusion / local alone: {figures['remote_ratio']:.3f}x, "
        f"{figures['remote_requests_per_token']:.2f} requests per token"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
