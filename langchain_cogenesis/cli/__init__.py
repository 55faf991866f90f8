"""The ``cogenesis`` command. Thin: it parses, calls the library, and prints.

Each command family lives in its own module, which registers its sub-command with
``add_parser`` and handles it with ``cmd_*(args, settings)``: :mod:`.demo`,
:mod:`.store` (``ingest``, ``users``), :mod:`.write`, :mod:`.serve`
(``serve-cloud``), :mod:`.combiner` (``train-combiner``), :mod:`.detector`
(``train-detector``), :mod:`.evaluate`
(``eval``), :mod:`.finetune`, :mod:`.audit` and :mod:`.tokens`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from langchain_cogenesis import __version__
from langchain_cogenesis.cli import (
    audit,
    combiner,
    demo,
    detector,
    evaluate,
    finetune,
    serve,
    store,
    tokens,
    write,
)
from langchain_cogenesis.config import Settings
from langchain_cogenesis.errors import CoGenesisError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cogenesis``."""
    parser = argparse.ArgumentParser(
        prog="cogenesis",
        description="Personalized writing: cloud sketch, local model, private context stays here.",
    )
    parser.add_argument("--home", help="data folder (default: COGENESIS_HOME or user data dir)")
    parser.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], default=None,
        help="log to stderr (egress decisions are logged at info)",
    )  # fmt: skip
    parser.add_argument("--log-json", action="store_true", help="log one JSON object per line")
    parser.add_argument(
        "--allow-remote-store", action="store_true",
        help="let COGENESIS_CHROMA_URL name a Chroma server on another host: the private "
        "store then leaves this device (recorded in the audit log)",
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    # the order of `cogenesis --help`
    demo.add_parser(commands)
    store.add_ingest_parser(commands)
    write.add_parser(commands)
    serve.add_parser(commands)
    store.add_users_parser(commands)
    combiner.add_parser(commands)
    detector.add_parser(commands)
    evaluate.add_parser(commands)
    finetune.add_parser(commands)
    audit.add_parser(commands)
    tokens.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``cogenesis``."""
    from langchain_cogenesis.cli.logs import configure

    args = build_parser().parse_args(argv)
    configure(args.log_level, args.log_json)
    settings = Settings.from_env(home=args.home, allow_remote_store=args.allow_remote_store or None)
    try:
        return int(args.handler(args, settings))
    except CoGenesisError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `cogenesis ... | head`: the reader left; so do we, quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush goes nowhere
        return 141


if __name__ == "__main__":
    sys.exit(main())
