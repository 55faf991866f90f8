"""Fused decoding: speed, round trips to a remote cloud, and quality on held-out references.

Speed (Gemma 3 270M in both roles, one loop for all): tokens/s of the local model
alone, of fusion with both models in this process (for two equal-size models the
limit is 0.5x; target at least 0.45x), and of fusion against the stand-in server
(llama_cpp.server) per token and with drafting (remote requests per generated
token; target at most 0.25). Drafting is also timed against a cloud behind a fixed
round trip (``--rtt-ms``), the case it is made for. Per-step overhead outside the
models' forward passes (top-k, combiner, sampling, gate): target under 1 ms.

Quality: mean negative log-likelihood per reference token on held-out users of the
bundled dataset (``--nll-dataset paper`` for the authors' released dev split), under
the cloud without context, the local model with context, mean and max pooling, and
the learned combiner trained on the train users (early stopping on dev). The same
measure on the authors' dev split goes in ``quality_paper`` (``--nll-paper-users``
samples, 0 skips it; recorded as skipped where the split is not on this machine).
``--json PATH`` writes every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import DEV_SPLIT

from langchain_cogenesis.fusion import (
    LlamaCppScorer,
    MeanCombiner,
    RemoteCompletionScorer,
    fused_generate,
)
from langchain_cogenesis.fusion.scorers import TopK, score_positions
from langchain_cogenesis.models import StandInCloud, bundled_model_path
from langchain_cogenesis.privacy import EgressGuard, PrivacyScanner
from langchain_cogenesis.privacy.detection.entities import EntityDetector
from langchain_cogenesis.privacy.egress.gate import PrefixGate

LOCAL_PROMPT = (
    "<start_of_turn>user\nMaya Okafor runs the Linden Street Community Garden in Millbrook. "
    "Write a welcome speech for the summer harvest festival.<end_of_turn>\n<start_of_turn>model\n"
)
CLOUD_PROMPT = (
    "<start_of_turn>user\nWrite a welcome speech for a community garden's summer harvest "
    "festival.<end_of_turn>\n<start_of_turn>model\n"
)


class RoundTrip:
    """An in-process cloud behind a fixed network round trip per request."""

    def __init__(self, scorer: LlamaCppScorer, rtt_seconds: float) -> None:
        self.scorer, self.rtt, self.name, self.requests = scorer, rtt_seconds, "cloud", 0
        self.vocab_size, self.tokenize, self.detokenize = (
            scorer.vocab_size,
            scorer.tokenize,
            scorer.detokenize,
        )

    def next_top_k(self, token_ids: Sequence[int], k: int) -> TopK:
        self.requests += 1
        time.sleep(self.rtt)
        return self.scorer.next_top_k(token_ids, k)

    def positions_top_k(self, token_ids: Sequence[int], first: int, k: int) -> list[TopK | None]:
        self.requests += 1
        time.sleep(self.rtt)
        return score_positions(self.scorer, token_ids, first, k)


PRIVATE = "Maya Okafor runs the Linden Street Community Garden"


RULES_ONLY = EntityDetector.rules_only()
"""The entity rules without the statistical recognizer, for the speed rows (see speed())."""


def run(local: Any, cloud: Any, tokens: int, draft: int = 0) -> dict[str, Any]:
    local_ids = local.tokenize(LOCAL_PROMPT, add_bos=True)
    cloud_ids = local.tokenize(CLOUD_PROMPT, add_bos=True)
    gate = PrefixGate(PrivacyScanner([PRIVATE], entity_detector=RULES_ONLY))
    started = time.perf_counter()
    result = fused_generate(
        local, cloud, local_ids, cloud_ids, MeanCombiner(), max_tokens=tokens, prefix_gate=gate,
        draft=draft,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    generated = max(1, len(result.token_ids))
    return {
        "tokens": generated,
        "seconds": seconds,
        "tokens_per_second": generated / seconds,
        "cloud_tokens": result.cloud_tokens,
        "cloud_requests": result.cloud_requests,
        "requests_per_token": result.cloud_requests / generated,
        "accepted_of_drafted": result.accepted / result.drafted if result.drafted else 0.0,
        "cloud_error": result.cloud_error,
        "step_overhead_ms_median": statistics.median(result.step_overhead_ms),
        "token_ids": result.token_ids,
    }


def speed(
    model_path: Path, tokens: int, remote_tokens: int, draft: int, rtt_ms: float
) -> dict[str, Any]:
    def scorer(name: str, batch: bool = True) -> LlamaCppScorer:
        return LlamaCppScorer(model_path, n_ctx=1024, name=name, batch_positions=batch)

    # The speed rows need the cloud at every step. The statistical entity recognizer
    # reads words of this tiny model's output as names (it took "mendatang" for an
    # organisation), which closes the gate and makes the guard refuse a drafting round
    # after a few tokens; so the rows run with the entity rules alone, in the gate and
    # the guard alike, and gate_cost() times the default gate with the recognizer.
    rows, local = _speed_rows(model_path, scorer, tokens, remote_tokens, draft, rtt_ms)
    rows["gate_with_entities"] = gate_cost(local, rows["fusion_in_process"]["token_ids"])
    return rows


def _speed_rows(
    model_path: Path,
    scorer: Any,
    tokens: int,
    remote_tokens: int,
    draft: int,
    rtt_ms: float,
) -> tuple[dict[str, Any], LlamaCppScorer]:
    local, cloud = scorer("local"), scorer("cloud")
    run(local, None, 4)  # warm-up: load the weights
    run(local, cloud, 4)
    rows: dict[str, Any] = {
        "local_alone": run(local, None, tokens),
        "fusion_in_process": run(local, cloud, tokens),
    }
    # a cloud behind a fixed round trip; it scores a draft in one batch, as servers do
    rows["fusion_rtt_per_token"] = run(
        scorer("local"), RoundTrip(scorer("cloud"), rtt_ms / 1000), remote_tokens
    )
    rows["fusion_rtt_drafting"] = run(
        scorer("local"), RoundTrip(scorer("cloud"), rtt_ms / 1000), remote_tokens, draft=draft
    )
    # the same with one-token evaluations on both sides: the same arithmetic as per token
    rows["fusion_exact_drafting"] = run(
        scorer("local", False), RoundTrip(scorer("cloud", False), 0.0), remote_tokens, draft=draft
    )
    with StandInCloud(model_path, n_ctx=512, logits_all=True) as standin:
        # llama_cpp.server ranks the whole vocabulary in Python for every echoed token:
        # a drafting round takes about a minute, past the guard's default timeout
        guard = EgressGuard(
            base_url=standin.base_url, model=standin.model, audit_log=None, timeout=600.0
        )
        bos = local.tokenize("", add_bos=True)
        for name, rows_draft in (("per_token", 0), ("drafting", draft)):
            remote = RemoteCompletionScorer(
                guard,
                local,
                skip_ids=bos,
                scanner=PrivacyScanner([PRIVATE], entity_detector=RULES_ONLY),
            )
            remote.piece_ids()  # the vocabulary map is built once, not per token
            rows[f"fusion_standin_{name}"] = run(local, remote, remote_tokens, draft=rows_draft)
    return rows, local  # the local scorer, for timing the default gate after


def gate_cost(local: Any, token_ids: Sequence[int]) -> dict[str, float]:
    """Milliseconds per step of the default gate (entity recognizer included), which
    scans the whole generated prefix at every step, over a generation's prefixes."""
    scanner = PrivacyScanner([PRIVATE])
    scanner.scan("warm-up: the recognizer loads once")
    times = []
    for end in range(1, len(token_ids) + 1):
        prefix = local.detokenize(token_ids[:end])
        started = time.perf_counter()
        scanner.scan(prefix)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, int(0.95 * len(times)))],
        "prefixes": len(times),
    }


def agreement(a: list[int], b: list[int]) -> int:
    """Tokens from the start on which two generations agree."""
    same = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        same += 1
    return same


def held_out(spec: str, users_count: int) -> tuple[list[Any], list[Any], list[Any]]:
    """Train, dev and test users: the dataset's own splits, or cut from its start."""
    from langchain_cogenesis.data.dataset import load_dataset, of_split

    rows = load_dataset(DEV_SPLIT if spec == "paper" else spec)
    test_count = max(1, users_count // 3)
    dev_count = max(1, (users_count - test_count) // 6)
    train_count = max(1, users_count - test_count - dev_count)
    if all(of_split(rows, split) for split in ("train", "dev", "test")):
        return (
            of_split(rows, "train")[:train_count],
            of_split(rows, "dev")[:dev_count],
            of_split(rows, "test")[:test_count],
        )
    rows = rows[:users_count]
    return (
        rows[test_count + dev_count :],
        rows[test_count : test_count + dev_count],
        rows[:test_count],
    )


def quality(
    spec: str, users_count: int, max_target_tokens: int, model_path: Path
) -> dict[str, Any]:
    from langchain_cogenesis.fusion.training import dataset_steps, heldout_nll, train_combiner

    train, dev, test = held_out(spec, users_count)
    local = LlamaCppScorer(model_path, n_ctx=2048, name="local")
    cloud = LlamaCppScorer(model_path, n_ctx=2048, name="cloud")
    options = {"max_target_tokens": max_target_tokens, "max_prompt_tokens": 1024}
    started = time.perf_counter()
    steps = {name: dataset_steps(part, local, cloud, **options) for name, part in
             (("train", train), ("dev", dev), ("test", test))}  # fmt: skip
    scoring = time.perf_counter() - started
    started = time.perf_counter()
    combiner, report = train_combiner(steps["train"], steps["dev"], local.vocab_size())
    training = time.perf_counter() - started
    return {
        "dataset": spec,
        "users": {"train": len(train), "dev": len(dev), "test": len(test)},
        "tokens": {name: len(part) for name, part in steps.items()},
        "nll_per_token": heldout_nll(steps["test"], local.vocab_size(), combiner),
        "combiner_best_epoch": report.best_epoch,
        "scoring_seconds": scoring,
        "training_seconds": training,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--remote-tokens", type=int, default=48)
    parser.add_argument("--draft", type=int, default=8)
    parser.add_argument("--rtt-ms", type=float, default=50.0)
    parser.add_argument("--nll-users", type=int, default=40, help="0 skips the quality part")
    parser.add_argument(
        "--nll-dataset", default="bundled",
        help="bundled (its splits), paper (the authors' dev split in ../shared), or a file",
    )  # fmt: skip
    parser.add_argument("--nll-target-tokens", type=int, default=48)
    parser.add_argument(
        "--nll-paper-users", type=int, default=60,
        help="samples of the authors' dev split for a second quality column; 0 skips it",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        model_path = bundled_model_path(Path(folder) / "models")
        rows = speed(model_path, args.tokens, args.remote_tokens, args.draft, args.rtt_ms)
        nll = (
            quality(args.nll_dataset, args.nll_users, args.nll_target_tokens, model_path)
            if args.nll_users
            else None
        )
        paper: dict[str, Any] | None = None
        if args.nll_paper_users and args.nll_dataset != "paper":
            paper = (
                quality("paper", args.nll_paper_users, args.nll_target_tokens, model_path)
                if DEV_SPLIT.exists()
                else {"skipped": f"{DEV_SPLIT} is not on this machine"}
            )
    gate = rows.pop("gate_with_entities")
    alone = rows["local_alone"]["tokens_per_second"]
    figures: dict[str, Any] = {
        "benchmark": "fusion",
        **{name: {k: v for k, v in row.items() if k != "token_ids"} for name, row in rows.items()},
        "in_process_ratio": rows["fusion_in_process"]["tokens_per_second"] / alone,
        "remote_requests_per_token": rows["fusion_standin_per_token"]["requests_per_token"],
        "drafting_requests_per_token": rows["fusion_standin_drafting"]["requests_per_token"],
        # exact arithmetic (one-token evaluations): drafting must write the same tokens
        "drafting_same_tokens": rows["fusion_exact_drafting"]["token_ids"]
        == rows["fusion_rtt_per_token"]["token_ids"],
        # batched scoring (in process, and llama_cpp.server's echo) rounds differently
        "batched_agreement_tokens": {
            "rtt": agreement(
                rows["fusion_rtt_drafting"]["token_ids"], rows["fusion_rtt_per_token"]["token_ids"]
            ),
            "standin": agreement(
                rows["fusion_standin_drafting"]["token_ids"],
                rows["fusion_standin_per_token"]["token_ids"],
            ),
        },
        "drafting_speedup_standin": rows["fusion_standin_drafting"]["tokens_per_second"]
        / rows["fusion_standin_per_token"]["tokens_per_second"],
        "drafting_speedup_rtt": rows["fusion_rtt_drafting"]["tokens_per_second"]
        / rows["fusion_rtt_per_token"]["tokens_per_second"],
        "gate_scan_with_entities": gate,
        "rtt_ms": args.rtt_ms,
        "draft": args.draft,
        "quality": nll,
        "quality_paper": paper,
        "targets": {
            "in_process_ratio": 0.45,
            "step_overhead_ms": 1.0,
            "drafting_requests_per_token": 0.25,
        },
    }
    print(f"fused decoding (Gemma 3 270M in both roles), {args.tokens} tokens in process, "
          f"{args.remote_tokens} remote")  # fmt: skip
    for name in rows:
        row = figures[name]
        print(
            f"  {name:<26} {row['tokens_per_second']:6.2f} tok/s  "
            f"overhead {row['step_overhead_ms_median']:.2f} ms/token  "
            f"requests/token {row['requests_per_token']:.2f}  "
            f"cloud in {row['cloud_tokens']}/{row['tokens']} steps"
            + (f"  (cloud stopped: {row['cloud_error']})" if row["cloud_error"] else "")
        )
    print(
        f"  the default gate's scan (entity recognizer included), per step: median "
        f"{gate['median_ms']:.2f} ms, p95 {gate['p95_ms']:.2f} ms over {gate['prefixes']} prefixes"
    )
    print(
        f"  in-process fusion / local alone: {figures['in_process_ratio']:.2f}x (target >= 0.45x)"
    )
    print(
        f"  drafting ({args.draft}): {figures['drafting_requests_per_token']:.2f} requests/token "
        f"(target <= 0.25), same tokens as per-token: {figures['drafting_same_tokens']} "
        f"(batched scoring agrees on the first {figures['batched_agreement_tokens']}); speed-up "
        f"{figures['drafting_speedup_rtt']:.2f}x at {args.rtt_ms:.0f} ms round trip, "
        f"{figures['drafting_speedup_standin']:.2f}x on llama_cpp.server (its echo sorts the "
        "whole vocabulary in Python for every prompt token)"
    )
    for part in (nll, paper):
        if part and "skipped" in part:
            print(f"  held-out NLL/token on the authors' dev split skipped: {part['skipped']}")
        elif part:
            test = part["users"]["test"], part["tokens"]["test"]
            print(f"  held-out NLL/token, {part['dataset']} ({test[0]} users, {test[1]} tokens):")
            for name, value in part["nll_per_token"].items():
                print(f"    {name:<24} {value:.3f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
