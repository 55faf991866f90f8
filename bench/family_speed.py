"""Speed of each local model family on this machine, measured side by side.

Each family's GGUF (Gemma 3 270M, SmolLM2-135M-Instruct) is loaded once with
llama.cpp; rounds alternate between the families (A, B, A, B, ...) so that both see
the same load, and each round times, from a fresh cache, prompt processing of the
same instruction in the family's own chat template and greedy decoding of
``--tokens`` tokens. Prints tokens/s per family (median over rounds) and the ratio
between the families, which is what compares on a noisy machine. ``--json PATH``
writes the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from langchain_cogenesis import prompts
from langchain_cogenesis.models.loader import load_model
from langchain_cogenesis.models.templates import chat_template_for

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import family_model

INSTRUCTION = (
    "Write a warm note inviting the neighbours to the community garden's harvest day on "
    "Saturday: what to bring, where to meet, and why the day matters to the street."
)


def one_round(model: Any, prompt: str, tokens: int) -> dict[str, float]:
    llama = model.llama
    ids = llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
    llama.reset()  # a fresh cache: the prompt is processed in full every round
    started = time.perf_counter()
    llama.eval(ids)
    prompt_seconds = time.perf_counter() - started
    produced = 0
    started = time.perf_counter()
    # the cache holds the prompt: generate() re-evaluates only its last token
    for _token in llama.generate(ids, temp=0.0):
        produced += 1
        if produced >= tokens:
            break
    decode_seconds = time.perf_counter() - started
    return {
        "prompt_tokens": len(ids),
        "prompt_tokens_per_second": len(ids) / prompt_seconds,
        "decode_tokens": produced,
        "decode_tokens_per_second": produced / decode_seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--families", default="gemma,smollm2")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.families.split(",") if name.strip()]
    loaded = {}
    for name in names:
        path = family_model(name)
        messages = [SystemMessage(prompts.SYSTEM_WITHOUT_CONTEXT), HumanMessage(INSTRUCTION)]
        prompt = chat_template_for(path).render(messages)
        loaded[name] = (load_model(path, n_ctx=1024, slot=f"speed-{name}"), prompt, path)
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for name in names:  # warm-up: page the weights in
        model, prompt, _ = loaded[name]
        one_round(model, prompt, 4)
    for _ in range(args.rounds):
        for name in names:
            model, prompt, _ = loaded[name]
            rounds[name].append(one_round(model, prompt, args.tokens))
    figures: dict[str, Any] = {"benchmark": "family_speed", "rounds": args.rounds, "families": {}}
    for name in names:
        rows = rounds[name]
        figures["families"][name] = {
            "model": loaded[name][2].name,
            "prompt_tokens": rows[0]["prompt_tokens"],
            "prompt_tokens_per_second": statistics.median(
                r["prompt_tokens_per_second"] for r in rows
            ),
            "decode_tokens_per_second": statistics.median(
                r["decode_tokens_per_second"] for r in rows
            ),
            "rounds": rows,
        }
        row = figures["families"][name]
        print(
            f"{name:10s} {row['model']}: prompt {row['prompt_tokens']} tokens at "
            f"{row['prompt_tokens_per_second']:.0f} tok/s, decoding "
            f"{row['decode_tokens_per_second']:.1f} tok/s (median of {args.rounds})"
        )
    if len(names) == 2:
        first, second = (figures["families"][name] for name in names)
        figures["decode_ratio"] = (
            first["decode_tokens_per_second"] / second["decode_tokens_per_second"]
        )
        figures["prompt_ratio"] = (
            first["prompt_tokens_per_second"] / second["prompt_tokens_per_second"]
        )
        print(
            f"{names[0]} / {names[1]}: decoding {figures['decode_ratio']:.2f}x, "
            f"prompt processing {figures['prompt_ratio']:.2f}x"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
