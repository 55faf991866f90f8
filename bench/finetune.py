"""Fine-tuning the local model on the bundled dataset: before and after, and its cost.

Trains a LoRA adapter on the bundled train users (dev users for early stopping) with
the prompts the graph uses, then measures on the held-out test users:

- NLL per token of the reference answers (transformers, base vs base + adapter);
- ROUGE-L of greedy answers written by llama.cpp, base GGUF vs GGUF + adapter.gguf
  (the deployed path);
- training time on this machine, and how closely llama.cpp with the exported adapter
  follows the adapted transformers model (mean |log p| difference of the top tokens).

``--json PATH`` writes the figures. The defaults are a small run (one epoch, one
learning rate); ``--learning-rates`` and ``--epochs`` widen it. ``--dataset paper``
(or a ``dev.json`` path) takes the authors' released dev split instead, split by user
70/10/20; where that split is not on this machine the run records that it skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import DEV_SPLIT

from langchain_cogenesis.data.dataset import assign_splits, load_bundled, load_dataset, of_split
from langchain_cogenesis.evaluation.metrics import rouge_l
from langchain_cogenesis.finetune import LoraSettings, build_examples, finetune
from langchain_cogenesis.finetune.lora import load_base_model, response_nll
from langchain_cogenesis.models import bundled_model_path
from langchain_cogenesis.models.templates import chat_template_for
from langchain_cogenesis.prompts import TURN_END
from langchain_cogenesis.retrievers import PrivateStore


def greedy_answers(base: Path, lora: Path | None, prompts: list[str], tokens: int) -> list[str]:
    from llama_cpp import Llama

    llama = Llama(
        model_path=str(base),
        lora_path=str(lora) if lora else None,
        n_ctx=2048,
        verbose=False,
    )
    answers = []
    for prompt in prompts:
        out: Any = llama.create_completion(
            prompt, max_tokens=tokens, temperature=0.0, stop=[TURN_END], repeat_penalty=1.15
        )
        answers.append(out["choices"][0]["text"].strip())
    return answers


def agreement(model: Any, tokenizer: Any, base: Path, lora: Path, prompts: list[str]) -> float:
    """Mean |log p| gap between transformers + adapter and llama.cpp + adapter.gguf over
    each prompt's top-5 next tokens (llama.cpp's choice)."""
    import torch

    from langchain_cogenesis.fusion import LlamaCppScorer

    scorer = LlamaCppScorer(base, lora_path=lora, n_ctx=2048)
    gaps = []
    for prompt in prompts:
        ids = tokenizer(prompt)["input_ids"]
        with torch.no_grad():
            logprobs = torch.log_softmax(model(torch.tensor([ids])).logits[0, -1], -1)
        top = scorer.next_top_k(ids, 5)
        pairs = zip(top.ids, top.logprobs, strict=True)
        gaps += [abs(float(logprobs[i]) - float(v)) for i, v in pairs]
    return sum(gaps) / len(gaps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--dataset", default="bundled",
        help="bundled, paper (the authors' dev split beside the checkout), or a dev.json path",
    )  # fmt: skip
    parser.add_argument("--train-users", type=int, default=None, help="default: all (28)")
    parser.add_argument("--dev-users", type=int, default=None, help="default: all (4)")
    parser.add_argument("--test-users", type=int, default=None, help="default: all (8)")
    parser.add_argument("--learning-rates", default="5e-4")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--answer-tokens", type=int, default=128)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.dataset == "paper" and not DEV_SPLIT.exists():
        skipped = {"benchmark": "finetune", "dataset": "paper", "skipped": f"no {DEV_SPLIT}"}
        print(f"fine-tuning on the authors' dev split skipped: {skipped['skipped']}")
        if args.json:
            args.json.write_text(json.dumps(skipped, indent=2), encoding="utf-8")
        return 0
    source = DEV_SPLIT if args.dataset == "paper" else args.dataset
    rows = load_bundled() if source == "bundled" else assign_splits(load_dataset(source))
    train_rows = of_split(rows, "train")[: args.train_users]
    dev_rows = of_split(rows, "dev")[: args.dev_users]
    test_rows = of_split(rows, "test")[: args.test_users]
    base = bundled_model_path()
    settings = LoraSettings(
        learning_rates=tuple(float(x) for x in args.learning_rates.split(",")),
        max_epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        max_length=args.max_length,
    )
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        store = PrivateStore(out / "store")
        template = chat_template_for(base)
        train = build_examples(train_rows, store, k=args.k, template=template)
        dev = build_examples(dev_rows, store, k=args.k, template=template)
        test = build_examples(test_rows, store, k=args.k, template=template)
        store.close()
        # about three dev evaluations per epoch, for early stopping within the epoch
        settings.eval_every = max(1, -(-len(train) // args.batch_size) // 3)
        started = time.perf_counter()
        loaded = load_base_model(base)
        load_seconds = time.perf_counter() - started
        model, tokenizer = loaded
        nll_before = response_nll(model, tokenizer, test)
        result = finetune(
            train, dev, base, out / "run", settings, loaded=loaded, show_progress=False
        )
        from peft import PeftModel

        adapted = PeftModel.from_pretrained(model, str(result.adapter_dir))
        adapted.eval()
        nll_after = response_nll(adapted, tokenizer, test)
        assert result.gguf_path is not None
        gap = agreement(adapted, tokenizer, base, result.gguf_path, [x.prompt for x in test[:4]])
        prompts = [example.prompt for example in test]
        references = [example.response.removesuffix(TURN_END) for example in test]
        before = greedy_answers(base, None, prompts, args.answer_tokens)
        after = greedy_answers(base, result.gguf_path, prompts, args.answer_tokens)
        adapter_bytes = result.gguf_path.stat().st_size
    figures = {
        "benchmark": "finetune",
        "dataset": args.dataset,
        "train_examples": result.train_examples,
        "dev_examples": result.dev_examples,
        "test_examples": len(test),
        "skipped_examples": result.skipped_examples,
        "learning_rate": result.learning_rate,
        "learning_rates_tried": list(settings.learning_rates),
        "epochs": args.epochs,
        "cpu_count": os.cpu_count(),
        "base_load_seconds": load_seconds,
        "train_seconds": result.train_seconds,
        "dev_nll_before": result.dev_nll_before,
        "dev_nll_after": result.dev_nll_after,
        "test_nll_before": nll_before,
        "test_nll_after": nll_after,
        "test_rouge_l_before": rouge_l(before, references),
        "test_rouge_l_after": rouge_l(after, references),
        "adapter_gguf_bytes": adapter_bytes,
        "llama_cpp_vs_transformers_mean_abs_logprob_gap": gap,
        "history": result.history,
    }
    print(
        f"LoRA (rank {settings.rank}) on {result.train_examples} train examples ({args.dataset}), "
        f"{args.epochs} epoch(s), lr {result.learning_rate:g}: trained in "
        f"{result.train_seconds:.0f} s on {os.cpu_count()} cores (base load {load_seconds:.0f} s)"
    )
    print(
        f"  held-out test ({len(test)} answers): NLL/token {nll_before:.3f} -> {nll_after:.3f}"
        f"  ROUGE-L {figures['test_rouge_l_before']:.1f} -> {figures['test_rouge_l_after']:.1f}"
    )
    print(
        f"  dev NLL/token {result.dev_nll_before:.3f} -> {result.dev_nll_after:.3f}; "
        f"adapter.gguf {adapter_bytes / 2**20:.1f} MiB; llama.cpp vs transformers with the "
        f"adapter: mean |log p| gap {gap:.3f}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
