"""``cogenesis train-combiner``: the learned fusion combiner (paper §3.3)."""

from __future__ import annotations

import argparse
from pathlib import Path

from langchain_cogenesis.config import Settings


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``train-combiner``."""
    train = commands.add_parser("train-combiner", help="train the learned fusion combiner")
    train.add_argument("--out", type=Path, required=True, help="folder for the weights")
    train.add_argument(
        "--dataset",
        default="bundled",
        help="bundled (its train/dev splits), demo, the paper's dev.json, or a JSONL file",
    )
    train.add_argument("--limit", type=int, default=None, help="at most this many train users")
    train.add_argument("--cloud-model", type=Path, default=None, help="GGUF of the cloud side")
    train.add_argument(
        "--max-target-tokens", type=int, default=48, help="answer tokens per example"
    )
    train.add_argument("--max-epochs", type=int, default=20, help="training epochs at most")
    train.add_argument("--learning-rate", type=float, default=2e-3, help="Adam's learning rate")
    train.add_argument("--batch-size", type=int, default=2, help="examples per step")
    train.add_argument(
        "--dev-share", type=float, default=0.1, help="share of examples held out for early stopping"
    )
    train.set_defaults(handler=cmd_train_combiner)


def cmd_train_combiner(args: argparse.Namespace, settings: Settings) -> int:
    """Train the learned combiner on a dataset's reference responses."""
    from langchain_cogenesis.data.dataset import load_dataset, train_dev
    from langchain_cogenesis.fusion import LlamaCppScorer, check_same_tokenizer
    from langchain_cogenesis.fusion.training import dataset_steps, train_combiner
    from langchain_cogenesis.models import bundled_model_path

    rows = load_dataset(args.dataset)
    train_users, dev_users = train_dev(rows, dev_share=args.dev_share, limit=args.limit)
    model_path = settings.local_model_path or bundled_model_path(settings.model_cache)
    local = LlamaCppScorer(model_path, n_ctx=2048, name="local")
    cloud = LlamaCppScorer(args.cloud_model or model_path, n_ctx=2048, name="cloud")
    check_same_tokenizer(local, cloud)
    options = {"max_target_tokens": args.max_target_tokens, "show_progress": True}
    train = dataset_steps(train_users, local, cloud, **options)
    dev = dataset_steps(dev_users, local, cloud, **options)
    combiner, report = train_combiner(
        train,
        dev,
        local.vocab_size(),
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        max_epochs=args.max_epochs,
        show_progress=True,
    )
    combiner.save(args.out)
    print(
        f"Trained on {report.train_steps} token positions ({len(train_users)} users), "
        f"dev {report.dev_steps} ({len(dev_users)} users): dev NLL/token "
        f"{report.dev_nll[0]:.3f} before, {min(report.dev_nll):.3f} at epoch "
        f"{report.best_epoch} of {report.epochs_run}. Saved to {args.out}."
    )
    return 0
