"""``cogenesis eval``: the paper's evaluation over a dataset, settings and seeds."""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from pathlib import Path

from langchain_cogenesis.config import Settings
from langchain_cogenesis.errors import PrivateJudgeRefused


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``eval``."""
    parser = commands.add_parser("eval", help="evaluate settings with the paper's judge")
    parser.add_argument(
        "--dataset", default="bundled", help="bundled, demo, the paper's dev.json, a LaMP "
        "folder, or a JSONL file",
    )  # fmt: skip
    parser.add_argument(
        "--split", default="test", choices=["train", "dev", "test", "all"], help="which samples"
    )
    parser.add_argument("--limit", type=int, default=None, help="at most this many samples")
    parser.add_argument(
        "--settings",
        default="cloud-private,cloud-public,local,sketch,fusion,fusion-first-k=32",
        help="comma-separated settings to compare",
    )
    parser.add_argument("--baseline", default=None, help="win/tie/lose against (default: first)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument(
        "--judge", choices=["cloud", "local"], default="cloud",
        help="cloud: the cloud endpoint through the guard (needs --allow-private-judge); "
        "local: the local model, nothing leaves the device",
    )  # fmt: skip
    parser.add_argument(
        "--allow-private-judge", action="store_true",
        help="send each user's profile, private details and writing history to the cloud "
        "judge (the paper's judge prompts need them); recorded in the audit log as "
        "sent_with_private_context. For synthetic users or users who agreed",
    )  # fmt: skip
    parser.add_argument("--max-tokens", type=int, default=256, help="bound on each answer's tokens")
    parser.add_argument(
        "--judge-tokens", type=int, default=256, help="bound on each judge reply's tokens"
    )
    parser.add_argument(
        "--judge-attempts", type=int, default=3, help="tries per rating while no [[N]] is given"
    )
    parser.add_argument("--out", type=Path, default=None, help="results folder (resumable)")
    parser.set_defaults(handler=cmd_eval)


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Run (or resume) an evaluation and write results.md, results.png and the cache."""
    from langchain_cogenesis.data.dataset import load_dataset, of_split
    from langchain_cogenesis.evaluation.judge import Judge
    from langchain_cogenesis.evaluation.runner import (
        ResultCache,
        evaluate,
        markdown_table,
        parse_settings,
        plot,
        samples_of,
    )
    from langchain_cogenesis.graphs.evaluate import graph_writer
    from langchain_cogenesis.models import ChatLocalLlama, cloud_endpoint
    from langchain_cogenesis.privacy import AuditLog, EgressGuard
    from langchain_cogenesis.retrievers import PrivateStore

    if args.judge == "cloud" and not args.allow_private_judge:
        # every judge prompt with a profile carries private context: refuse before any work
        raise PrivateJudgeRefused("", "profile, private details and writing history")
    try:
        chosen = parse_settings(args.settings)
        seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    rows = load_dataset(args.dataset)
    rows = rows if args.split == "all" else of_split(rows, args.split)
    samples = samples_of(rows, args.limit)
    if not samples:
        raise SystemExit(f"error: no samples with a reference in {args.dataset} ({args.split})")
    name = Path(str(args.dataset)).stem
    out: Path = args.out or settings.home / "eval" / f"{name}-{args.split}"
    out.mkdir(parents=True, exist_ok=True)
    audit = AuditLog(out / "audit.sqlite3")
    store = PrivateStore(out / "store")
    needs_fusion = any(s.mode == "fusion" for s in chosen)
    with ExitStack() as stack:
        base_url, model, standin = stack.enter_context(cloud_endpoint(settings, n_ctx=4096))
        guard = EgressGuard(
            base_url=base_url, model=model, send_max_tokens=standin, audit_log=audit
        )
        fusion_guard = None
        if needs_fusion:
            fusion_url, fusion_model, fusion_standin = stack.enter_context(
                cloud_endpoint(settings, n_ctx=1024, logits_all=True)
            )
            fusion_guard = EgressGuard(
                base_url=fusion_url, model=fusion_model, send_max_tokens=fusion_standin,
                audit_log=audit,
            )  # fmt: skip
        judge = (
            Judge.through(
                guard,
                max_tokens=args.judge_tokens,
                max_attempts=args.judge_attempts,
                allow_private_context=args.allow_private_judge,
            )
            if args.judge == "cloud"
            else Judge.of(
                ChatLocalLlama(max_tokens=args.judge_tokens, temperature=0.0),
                max_attempts=args.judge_attempts,
            )
        )
        write = graph_writer(
            store, guard, fusion_guard=fusion_guard, max_tokens=args.max_tokens,
            sketch_tokens=args.max_tokens, local_model_path=settings.local_model_path,
        )  # fmt: skip
        report = evaluate(
            samples, chosen, write, judge, audit, ResultCache(out / "cache.jsonl"),
            seeds=seeds, baseline=args.baseline, show_progress=True,
        )  # fmt: skip
    table = markdown_table(report)
    (out / "results.md").write_text(table, encoding="utf-8")
    figure = plot(report, out / "results.png")
    print(table)
    print(f"Wrote {out / 'results.md'}, {figure} and the resumable cache {out / 'cache.jsonl'}.")
    return 0
