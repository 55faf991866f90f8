"""``cogenesis serve-cloud``: the stand-in cloud model, until interrupted."""

from __future__ import annotations

import argparse
import signal
import time
from pathlib import Path

from langchain_cogenesis.config import Settings
from langchain_cogenesis.errors import ConfigurationError


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``serve-cloud``."""
    serve = commands.add_parser("serve-cloud", help="run the stand-in cloud model")
    serve.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    serve.add_argument("--n-ctx", type=int, default=4096, help="the model's context window")
    serve.add_argument(
        "--host", default="127.0.0.1",
        help="address to listen on (default loopback: this machine only); any other "
        "needs --api-key-file",
    )  # fmt: skip
    serve.add_argument(
        "--api-key-file", default=None,
        help="file holding the key clients must send (Authorization: Bearer KEY)",
    )  # fmt: skip
    serve.add_argument(
        "--fusion", action="store_true",
        help="also answer log-probability requests (logit fusion: keeps every "
        "position's logits, more memory)",
    )  # fmt: skip
    serve.set_defaults(handler=cmd_serve_cloud)


def cmd_serve_cloud(args: argparse.Namespace, settings: Settings) -> int:
    """Run the stand-in cloud model until interrupted."""
    from langchain_cogenesis.models import StandInCloud

    api_key = None
    if args.api_key_file:
        try:
            api_key = Path(args.api_key_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigurationError(f"--api-key-file {args.api_key_file}: {error}") from None
    standin = StandInCloud(
        settings.local_model_path,
        port=args.port,
        n_ctx=args.n_ctx,
        host=args.host,
        api_key=api_key,
        logits_all=args.fusion,
    )
    with standin:
        print(f"Stand-in cloud model serving at {standin.base_url} (model {standin.model}).")
        print(f"Use it with: export COGENESIS_CLOUD_BASE_URL={standin.base_url}")
        if args.fusion:
            print("It answers log-probability requests: mode fusion can use it.")
        print("Press Ctrl-C to stop.", flush=True)

        def interrupt(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, interrupt)
        try:
            while standin.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0
