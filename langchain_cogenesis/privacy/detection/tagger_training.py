"""Training the private-span tagger's head (:mod:`.tagger`), reproducibly, on the CPU.

Input: span-labelled requests (:class:`~langchain_cogenesis.evaluation.pii_cases.PiiCase`),
generated ones (:func:`~langchain_cogenesis.evaluation.span_synthesis.generate_span_cases`)
and, when given, part of a file of real labelled requests. Each line of each case is
encoded once by the frozen encoder (:class:`~.tagger.LineEncoder`); the head then
learns, per word piece, whether its word lies in a labelled unit (binary
cross-entropy) and, for typed units, the type (cross-entropy). Seeds fix the order
and the initial weights, so a second run on the same data gives the same head.

``cogenesis train-detector --out DIR`` runs it; the package ships the head that
``cogenesis train-detector --pupa PATH`` wrote (see docs/privacy.md for the data and
the figures).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_cogenesis.evaluation.pii_cases import PiiCase
from langchain_cogenesis.privacy.detection.tagger import (
    CATEGORY_KIND,
    KINDS,
    EncodedLine,
    LineEncoder,
    build_head,
)


@dataclass
class LineExample:
    """One encoded line and the labels of its pieces, window by window."""

    encoded: EncodedLine
    private: list[list[float]]
    kind: list[list[int]]
    """Type index per piece, ``-1`` where there is none to learn."""


def line_labels(case: PiiCase) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """Each line of ``case`` with its units as line offsets ``(start, end, category)``."""
    out = []
    offset = 0
    for line in case.text.split("\n"):
        end = offset + len(line)
        units = [
            (max(u.start, offset) - offset, min(u.end, end) - offset, u.category)
            for u in case.units
            if u.start < end and offset < u.end
        ]
        if line.strip():
            out.append((line, units))
        offset = end + 1
    return out


def encode_cases(
    cases: Sequence[PiiCase],
    lines: LineEncoder,
    *,
    max_chars: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> list[LineExample]:
    """Every line of ``cases`` encoded and labelled (lines cut at ``max_chars``)."""
    examples = []
    todo = [pair for case in cases for pair in line_labels(case)]
    for number, (line, units) in enumerate(todo):
        line = line[:max_chars]
        encoded = lines.encode(line)
        word_private, word_kind = [], []
        for start, end in encoded.words:
            inside = [u for u in units if u[0] < end and start < u[1]]
            word_private.append(1.0 if inside else 0.0)
            kind = CATEGORY_KIND.get(inside[0][2], "PRIVATE") if inside else None
            typed = inside and inside[0][2] != "pupa"  # real units carry no type
            word_kind.append(KINDS.index(kind) if typed and kind else -1)
        private = [
            [word_private[w] if w >= 0 else 0.0 for w in owners] for owners in encoded.piece_word
        ]
        kinds = [[word_kind[w] if w >= 0 else -1 for w in owners] for owners in encoded.piece_word]
        examples.append(LineExample(encoded, private, kinds))
        if progress:
            progress(number + 1, len(todo))
    return examples


def train_head(
    examples: Sequence[LineExample],
    *,
    epochs: int = 6,
    seed: int = 0,
    size: int = 128,
    learning_rate: float = 2e-3,
    batch_size: int = 32,
    weights: Sequence[float] | None = None,
    log: Callable[[str], None] | None = None,
) -> Any:
    """The trained head (a torch module) for ``examples``; ``weights`` per example."""
    import torch

    random.seed(seed)
    torch.manual_seed(seed)
    head = build_head(size=size)
    optimizer = torch.optim.AdamW(head.parameters(), lr=learning_rate, weight_decay=1e-4)
    windows = [
        (states, torch.tensor(private), torch.tensor(kind), (weights or [1.0] * len(examples))[i])
        for i, example in enumerate(examples)
        for states, private, kind in zip(
            example.encoded.states, example.private, example.kind, strict=True
        )
    ]
    order = list(range(len(windows)))
    for epoch in range(epochs):
        random.Random(seed + epoch).shuffle(order)
        total = 0.0
        head.train()
        for first in range(0, len(order), batch_size):
            batch = [windows[i] for i in order[first : first + batch_size]]
            lengths = torch.tensor([len(b[1]) for b in batch])
            states = torch.nn.utils.rnn.pad_sequence([b[0] for b in batch], batch_first=True)
            private = torch.nn.utils.rnn.pad_sequence([b[1] for b in batch], batch_first=True)
            kind = torch.nn.utils.rnn.pad_sequence(
                [b[2] for b in batch], batch_first=True, padding_value=-1
            )
            weight = torch.tensor([b[3] for b in batch]).unsqueeze(1)
            mask = torch.arange(states.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
            logits = head(states)
            bce = torch.nn.functional.binary_cross_entropy_with_logits(
                logits[..., 0], private, reduction="none"
            )
            loss = (bce * mask * weight).sum() / mask.sum()
            typed = kind >= 0
            if typed.any():
                loss = loss + 0.5 * torch.nn.functional.cross_entropy(
                    logits[..., 1:][typed], kind[typed]
                )
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        if log:
            log(f"epoch {epoch + 1}/{epochs}: loss {total / max(len(windows), 1):.4f}")
    head.eval()
    return head


def save_head(
    head: Any, folder: Path, *, threshold: float, size: int, about: dict[str, Any]
) -> None:
    """Write the head (float16 safetensors) and its config to ``folder``."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.detach().to(dtype=__import__("torch").float16).contiguous()
        for k, v in head.state_dict().items()
    }
    save_file(state, str(folder / "head.safetensors"))
    config = {"threshold": threshold, "size": size, "kinds": list(KINDS), **about}
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def train_tagger(
    out: Path,
    *,
    synthetic: int = 1500,
    public: int = 3000,
    real: Path | None = None,
    real_weight: float = 3.0,
    epochs: int = 8,
    seed: int = 0,
    threshold: float = 0.5,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train the tagger's head and write it to ``out``; returns what it was trained on.

    Args:
        out: the folder for ``head.safetensors`` and ``config.json``.
        synthetic: generated requests (the ``tune`` half of
            :func:`~langchain_cogenesis.evaluation.span_synthesis.generate_span_cases`,
            which needs ``faker``).
        public: generated requests with no private unit, in eight languages
            (:func:`~langchain_cogenesis.evaluation.span_synthesis.generate_public_lines`).
        real: a PUPA-format CSV of real labelled requests; only its ``train`` half
            (:func:`~langchain_cogenesis.evaluation.real_requests.half_of`) is read,
            the other half stays held out for measurement.
        real_weight: the weight of a real line against a generated one.
        threshold: stored with the weights (the probability from which a word is
            private); ``bench/privacy.py`` measures the choice.
    """
    from langchain_cogenesis.evaluation.real_requests import load_pupa
    from langchain_cogenesis.evaluation.span_synthesis import (
        generate_public_lines,
        generate_span_cases,
    )

    lines = LineEncoder()
    generated = generate_span_cases(synthetic, seed=seed, split="tune") if synthetic else []
    generated += generate_public_lines(public, seed=seed) if public else []
    real_cases = load_pupa(real, half="train").cases if real else []
    examples = encode_cases(generated, lines) + encode_cases(real_cases, lines)
    weights = [
        real_weight if index >= len(examples) - _line_count(real_cases) else 1.0
        for index in range(len(examples))
    ]
    head = train_head(examples, epochs=epochs, seed=seed, weights=weights, log=log)
    about = {
        "synthetic_requests": len(generated) - public,
        "public_requests": public,
        "real_requests": len(real_cases),
        "real_file": real.name if real else None,
        "lines": len(examples),
        "epochs": epochs,
        "seed": seed,
        "real_weight": real_weight,
    }
    save_head(head, out, threshold=threshold, size=128, about=about)
    return about


def _line_count(cases: Sequence[PiiCase]) -> int:
    return sum(len(line_labels(case)) for case in cases)
