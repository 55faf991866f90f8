"""``cogenesis train-detector``: the private-span tagger of the entity detector."""

from __future__ import annotations

import argparse
from pathlib import Path

from langchain_cogenesis.config import Settings


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``train-detector``."""
    train = commands.add_parser(
        "train-detector",
        help="train the tagger that finds private spans typed into a request",
        description="Train the head of the private-span tagger on generated span-labelled "
        "requests (needs faker: the train extra) and, optionally, the train half of a "
        "PUPA-format CSV of real labelled requests. Point COGENESIS_TAGGER at --out to use it.",
    )
    train.add_argument("--out", type=Path, required=True, help="folder for the weights")
    train.add_argument(
        "--synthetic", type=int, default=3000, help="generated requests (default 3000)"
    )
    train.add_argument(
        "--public", type=int, default=3000, help="generated requests with nothing private"
    )
    train.add_argument(
        "--pupa", type=Path, default=None, help="a PUPA-format CSV; its train half is used"
    )
    train.add_argument(
        "--real-weight", type=float, default=3.0, help="weight of a real line (default 3)"
    )
    train.add_argument("--epochs", type=int, default=6, help="passes over the data (default 6)")
    train.add_argument("--seed", type=int, default=5, help="data and initial weights (default 5)")
    train.add_argument(
        "--threshold", type=float, default=0.5, help="probability from which a word is private"
    )
    train.set_defaults(handler=cmd_train_detector)


def cmd_train_detector(args: argparse.Namespace, settings: Settings) -> int:
    """Train the tagger's head and write it to ``--out``."""
    del settings
    from langchain_cogenesis.privacy.detection.tagger_training import train_tagger

    about = train_tagger(
        args.out,
        synthetic=args.synthetic,
        public=args.public,
        real=args.pupa,
        real_weight=args.real_weight,
        epochs=args.epochs,
        seed=args.seed,
        threshold=args.threshold,
        log=print,
    )
    print(
        f"Trained on {about['lines']} lines ({about['synthetic_requests']} generated, "
        f"{about['real_requests']} real requests). Saved to {args.out}."
    )
    return 0
