"""A scripted token scorer over a word vocabulary, for fusion tests without a model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from langchain_cogenesis.fusion.scorers import TopK

SPECIAL = ["<unk>", "<bos>", "<eos>", "<end_of_turn>"]


class ScriptScorer:
    """Emits ``script`` word by word (p=0.95), whatever the prompt; then ``<end_of_turn>``.

    The vocabulary is the special tokens, the script's words and ``extra`` words.
    Text is tokenized by whole words (each stored with its leading space); unknown
    words become ``<unk>``, which is enough to compare tokenizers by probes.
    """

    def __init__(
        self, script: Sequence[str], extra: Sequence[str] = (" the",), name: str = "local"
    ):
        self.name = name
        self.words = [*SPECIAL, *dict.fromkeys([*script, *extra])]
        self.index = {word: i for i, word in enumerate(self.words)}
        self.script = [self.index[word] for word in script]
        self.calls = 0

    def vocab_size(self) -> int:
        return len(self.words)

    def tokenize(self, text: str, *, add_bos: bool = False) -> list[int]:
        ids = [1] if add_bos else []
        for special in SPECIAL:
            text = text.replace(special, f" {special} ")
        for word in text.split():
            ids.append(self.index.get(word if word in SPECIAL else " " + word, 0))
        return ids

    def detokenize(self, token_ids: Sequence[int]) -> str:
        return "".join(self.words[i] for i in token_ids if i != 1)

    def next_top_k(self, token_ids: Sequence[int], k: int) -> TopK:
        self.calls += 1
        generated = self._generated(token_ids)
        nxt = self.script[generated] if generated < len(self.script) else 3
        other = 4 if nxt != 4 else 5
        return TopK(ids=np.array([nxt, other]), logprobs=np.log(np.array([0.95, 0.05])))

    def _generated(self, token_ids: Sequence[int]) -> int:
        # the prompt ends with "<start_of_turn>model", an unknown word; the generated
        # words are all known, so they are what follows the last <unk>
        text_ids = list(token_ids)
        for position in range(len(text_ids) - 1, -1, -1):
            if self.words[text_ids[position]] == "<unk>" and position > 0:
                return len(text_ids) - position - 1
        return 0


def leaking_script(secrets: dict[str, str]) -> list[str]:
    """A local generation that writes every secret: the cloud must see none of them."""
    return [
        " Dear",
        " friend,",
        " here",
        " is",
        f" {secrets['name']},",
        " card",
        f" {secrets['card']},",
        " mail",
        f" {secrets['email']},",
        f" {secrets['canary']}.",
    ]


def echo_script(scorer: ScriptScorer) -> Any:
    """A ``/v1/completions`` logprobs answer (with echo) from the scripted model."""

    def tops(ids: list[int], k: int) -> dict[str, float]:
        top = scorer.next_top_k(ids, k)
        return {scorer.words[int(i)]: float(v) for i, v in zip(top.ids, top.logprobs, strict=True)}

    def answer(prompt: str, echo: bool, k: int) -> dict[str, Any]:
        ids = scorer.tokenize(prompt, add_bos=True)
        pieces = [scorer.words[i] for i in ids[1:]]
        offsets = [len("".join(pieces[:i])) for i in range(len(pieces) + 1)]
        if not echo:
            return {"tokens": ["x"], "text_offset": [offsets[-1]], "top_logprobs": [tops(ids, k)]}
        return {
            "tokens": [*pieces, "x"],
            "text_offset": offsets,
            "top_logprobs": [None, *(tops(ids[: i + 1], k) for i in range(1, len(pieces) + 1))],
        }

    return answer
