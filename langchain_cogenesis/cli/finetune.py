"""``cogenesis finetune``: LoRA fine-tuning of the local model on context-aware data."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_cogenesis.config import Settings

if TYPE_CHECKING:
    from langchain_cogenesis.data.dataset import DatasetRow


def _rates(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``finetune``."""
    parser = commands.add_parser(
        "finetune", help="fine-tune the local model (LoRA) on a context-aware dataset"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for adapter and report")
    parser.add_argument(
        "--dataset", default="bundled",
        help="bundled (its train/dev splits), demo, the paper's dev.json, or a JSONL file",
    )  # fmt: skip
    parser.add_argument(
        "--base", type=Path, default=None,
        help="base weights: a .gguf file or a Hugging Face folder (default: the local model)",
    )  # fmt: skip
    parser.add_argument(
        "--variant", choices=["plain", "sketch"], default="plain",
        help="sketch: the prompts include the cloud's sketch of each task (asked once)",
    )  # fmt: skip
    parser.add_argument(
        "--learning-rates", type=_rates, default=(1e-4, 2e-4, 5e-4),
        help="comma-separated; each is tried and the best on the dev split is kept",
    )  # fmt: skip
    parser.add_argument("--epochs", type=int, default=3, help="training epochs")
    parser.add_argument("--patience", type=int, default=1, help="dev evaluations without gain")
    parser.add_argument("--batch-size", type=int, default=4, help="examples per step")
    parser.add_argument("--max-steps", type=int, default=None, help="per learning rate")
    parser.add_argument("--eval-every", type=int, default=None, help="steps (default: epoch)")
    parser.add_argument("--max-length", type=int, default=1024, help="prompt + answer tokens")
    parser.add_argument("--rank", type=int, default=8, help="LoRA rank")
    parser.add_argument("--alpha", type=int, default=16, help="LoRA alpha")
    parser.add_argument("--k", type=int, default=4, help="private chunks per prompt")
    parser.add_argument("--limit", type=int, default=None, help="at most this many train users")
    parser.add_argument("--dev-share", type=float, default=0.1, help="share of examples held out")
    parser.add_argument(
        "--sketch-tokens", type=int, default=256, help="bound on the cloud sketches' tokens"
    )
    parser.set_defaults(handler=cmd_finetune)


def cmd_finetune(args: argparse.Namespace, settings: Settings) -> int:
    """Build examples as at inference, train, keep the best adapter, export it as GGUF."""
    import importlib.util

    missing = [
        name for name in ("transformers", "peft", "gguf") if not importlib.util.find_spec(name)
    ]
    if missing:
        print(
            f"error: fine-tuning needs {', '.join(missing)}: "
            "pip install 'langchain-cogenesis[train]'",
            file=sys.stderr,
        )
        return 2
    from langchain_cogenesis.data.dataset import load_dataset, train_dev
    from langchain_cogenesis.finetune import LoraSettings, build_examples, finetune
    from langchain_cogenesis.models import bundled_model_path
    from langchain_cogenesis.models.templates import chat_template_for
    from langchain_cogenesis.retrievers import PrivateStore

    lora = LoraSettings(
        rank=args.rank,
        alpha=args.alpha,
        learning_rates=args.learning_rates,
        max_epochs=args.epochs,
        patience=args.patience,
        batch_size=args.batch_size,
        max_length=args.max_length,
        max_steps=args.max_steps,
        eval_every=args.eval_every,
    )
    train_rows, dev_rows = train_dev(
        load_dataset(args.dataset), dev_share=args.dev_share, limit=args.limit
    )
    base = args.base or settings.local_model_path or bundled_model_path(settings.model_cache)
    sketches = (
        _sketches(train_rows + dev_rows, settings, args) if args.variant == "sketch" else None
    )
    with tempfile.TemporaryDirectory(prefix="cogenesis-finetune-") as folder:
        # the dataset's private context, retrieved from a store as at inference
        store = PrivateStore(Path(folder) / "store")
        print(f"Building prompts for {len(train_rows)} train and {len(dev_rows)} dev users...")
        # the prompts are written in the base model's own chat template
        template = chat_template_for(Path(base))
        train = build_examples(train_rows, store, k=args.k, sketches=sketches, template=template)
        dev = build_examples(dev_rows, store, k=args.k, sketches=sketches, template=template)
        store.close()
    print(f"{len(train)} train and {len(dev)} dev examples; loading {base}...")
    result = finetune(train, dev, base, args.out, lora, log=lambda line: print(line, flush=True))
    print(
        f"\nBest learning rate {result.learning_rate:g}: dev NLL/token "
        f"{result.dev_nll_before:.3f} -> {result.dev_nll_after:.3f}; trained in "
        f"{result.train_seconds:.0f} s on {result.train_examples} examples"
        + (f" ({result.skipped_examples} too long, skipped)" if result.skipped_examples else "")
        + f".\nAdapter: {result.gguf_path} (PEFT format in {result.adapter_dir})\n"
        f"Use it: export COGENESIS_LOCAL_LORA={result.gguf_path}  (or --lora with write)",
        file=sys.stdout,
    )
    return 0


def _sketches(
    rows: list[DatasetRow], settings: Settings, args: argparse.Namespace
) -> dict[str, str]:
    """The cloud's sketches of the tasks (public instructions only), through the guard."""
    from langchain_cogenesis.finetune.examples import ask_sketches
    from langchain_cogenesis.models import cloud_endpoint
    from langchain_cogenesis.privacy import EgressGuard

    with cloud_endpoint(settings, n_ctx=4096, logits_all=False) as (base_url, model, standin):
        if standin:
            print(f"Started the stand-in cloud model at {base_url} for the sketches")
        guard = EgressGuard(base_url=base_url, model=model, send_max_tokens=standin)
        print(f"Asking the cloud for {sum(len(r.tasks) for r in rows)} sketches...")
        return ask_sketches(rows, guard, max_tokens=args.sketch_tokens)
