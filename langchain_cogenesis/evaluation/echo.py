"""Does an answer read as prose, or does it echo its prompt?

A small model that cannot follow a prompt often copies it: profile lines verbatim,
the prompt's section headings (``## Task``), chat-template markers, or the fence and
datamark characters of the spotlighted sketch (``<<sketch>>``, ``word^word``).
:func:`find_echo` lists each such piece, so a demo or an evaluation can fail on it
instead of printing it as an answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from langchain_cogenesis.prompts import SKETCH_MARK

EchoKind = Literal["prompt-line", "prompt-heading", "template-marker", "sketch-fence", "datamark"]

TEMPLATE_MARKERS = re.compile(
    r"<\|[A-Za-z0-9_]+\|>"  # ChatML, Llama 3, Phi: <|name|>
    r"|</?[a-z]+_of_turn>"  # Gemma's turn markers
    r"|<(?:bos|eos|pad|unk)>|</?s>"  # sentencepiece specials
    r"|\[/?INST\]|<</?SYS>>"  # Llama 2 / Mistral
)
"""Special-token shapes of chat templates, which never belong in an answer."""
SKETCH_FENCE = re.compile(r"<</?sketch>>")
"""The fence around the sketch in the local prompt (``prompts.SKETCH_SECTION``)."""

_DATAMARKED = re.compile(rf"\w+(?:{re.escape(SKETCH_MARK)}\w+){{2,}}")
_BULLET = re.compile(r"^(?:[-*•]|\d+[.)]|#+)\s*")


@dataclass(frozen=True)
class Echo:
    """One piece of prompt found in an answer."""

    kind: EchoKind
    text: str


def _words(line: str) -> str:
    return " ".join(line.split()).lower()


def prompt_lines(texts: Iterable[str], *, min_chars: int = 24) -> set[str]:
    """The lines of ``texts`` long enough that copying one is an echo, not chance
    (bullets, spacing and case ignored)."""
    lines = {_words(_BULLET.sub("", line.strip())) for text in texts for line in text.splitlines()}
    return {line for line in lines if len(line) >= min_chars}


def prompt_headings(texts: Iterable[str]) -> set[str]:
    """The Markdown headings of ``texts`` (the prompt's section titles)."""
    return {
        _words(line)
        for text in texts
        for line in text.splitlines()
        if line.lstrip().startswith("#") and line.strip("# \t")
    }


def find_echo(answer: str, prompt_texts: Sequence[str] = (), *, min_chars: int = 24) -> list[Echo]:
    """Every piece of ``answer`` that echoes its prompt.

    Args:
        answer: the generated text.
        prompt_texts: what the model read (the rendered prompt, or the profile and
            history it was given). A line of them at least ``min_chars`` long found
            in the answer is an echo, and so is an answer line that is one of their
            Markdown headings.
        min_chars: the shortest prompt line that counts.
    """
    found: list[Echo] = []
    flat = _words(answer)
    found += [
        Echo("prompt-line", line)
        for line in sorted(prompt_lines(prompt_texts, min_chars=min_chars))
        if line in flat
    ]
    headings = prompt_headings(prompt_texts)
    found += [
        Echo("prompt-heading", line.strip())
        for line in answer.splitlines()
        if _words(line) in headings
    ]
    found += [Echo("template-marker", m.group()) for m in TEMPLATE_MARKERS.finditer(answer)]
    found += [Echo("sketch-fence", m.group()) for m in SKETCH_FENCE.finditer(answer)]
    found += [Echo("datamark", m.group()) for m in _DATAMARKED.finditer(answer)]
    return found
