"""Split one instruction into a public part and a private part, on the device.

The rules, in order:

1. ``general part: personal part``, the paper's format (§2.2): the text before the
   first colon is public when it is a real instruction (three words or more once
   its private spans, if any, are replaced by placeholders); the rest is the private
   part and stays on the device.
2. Otherwise the public part is the whole request with only its private spans
   replaced by typed placeholders (:mod:`~langchain_cogenesis.privacy.redaction.placeholders`),
   so a request phrased as people phrase it ("Given her love of wine, Elaine
   could…, prepare a presentation on wine") keeps its public content:
   ``Given her love of wine, [PERSON_3f9a] could…``. The sentences that held a
   private span go to the private part as written, so the local model sees it all.
3. When fewer than three words are left outside placeholders, the local model
   proposes a generic rewrite, which must itself pass the scanner; failing that, a
   neutral instruction (:data:`~langchain_cogenesis.prompts.FALLBACK_PUBLIC`).

Whatever this returns, the egress guard checks it again. Placeholders in the public
part are restored in the cloud's reply with :attr:`InstructionSplit.redactions`.
Sentences are cut at ``.``, ``!``, ``?`` and ``…`` followed by a capital, never after
an abbreviation (``Dr.``, ``e.g.``, ``St.``) or an initial (``J. R.``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from langchain_cogenesis.errors import InvalidInstruction
from langchain_cogenesis.privacy.detection.detectors import Hit
from langchain_cogenesis.privacy.detection.scanner import PrivacyScanner
from langchain_cogenesis.privacy.redaction.placeholders import useful_words
from langchain_cogenesis.prompts import FALLBACK_PUBLIC, GENERIC_REWRITE_PROMPT
from langchain_cogenesis.schema import ContextAwareInstruction, TaskKind, clean_text

MIN_PUBLIC_WORDS = 3
"""Words outside placeholders below which a public part says too little to sketch from."""

ABBREVIATIONS = frozenset(
    {
        "dr", "mr", "mrs", "ms", "mx", "prof", "st", "mt", "ft", "jr", "sr", "rev", "hon",
        "gen", "col", "capt", "lt", "sgt", "gov", "sen", "rep", "pres", "supt", "messrs",
        "vs", "etc", "no", "nos", "vol", "fig", "approx", "dept", "est", "inc", "ltd", "co",
        "corp", "ave", "rd", "blvd", "cf", "al", "ca", "e.g", "i.e", "a.m", "p.m", "ph.d",
    }
)  # fmt: skip
"""Words whose trailing period does not end a sentence (lower case, without it)."""

_BOUNDARY = re.compile(r"(?P<stop>[.!?…]+)(?P<quote>[\"'”’)\]]*)\s+(?=\S)")
_LAST_WORD = re.compile(r"(\S+)$")
_DOTTED = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")

Method = Literal["colon", "clean", "redacted", "local_model", "fallback"]


def _clean(text: str) -> str:
    return " ".join(text.split()).strip(" :;-")


def _after_abbreviation(before: str) -> bool:
    match = _LAST_WORD.search(before)
    if match is None:
        return False
    word = match.group(1).lstrip("(\"'“‘[")
    return (
        word.lower() in ABBREVIATIONS
        or (len(word) == 1 and word.isupper())  # an initial: "J. R. Tolkien"
        or _DOTTED.fullmatch(word) is not None  # "U.S", "e.g"
    )


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text``, abbreviations and initials kept whole."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        following = text[match.end()]
        if following.islower():
            continue  # "approx. five": a sentence goes on in lower case
        if match["stop"] == "." and _after_abbreviation(text[start : match.start()]):
            continue
        spans.append((start, match.end("quote")))
        start = match.end()
    if start < len(text) and text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (see :func:`sentence_spans`)."""
    return [text[start:end].strip() for start, end in sentence_spans(text)]


def _colon_split(text: str) -> tuple[str, str] | None:
    # a colon followed by a space: not a time (10:30) or a link (https://)
    match = re.search(r":\s", text)
    if match is None:
        return None
    head, tail = _clean(text[: match.start()]), _clean(text[match.end() :])
    return (head, tail) if head and tail else None


def general_part(text: str) -> str:
    """The general part of ``general part: personal part`` (the paper's format, rule 1),
    as :func:`rule_split` reads it; ``""`` without a colon."""
    colon = _colon_split(_clean(text))
    return colon[0] if colon else ""


@dataclass(frozen=True)
class InstructionSplit:
    """A split instruction and what is needed to restore its placeholders."""

    instruction: ContextAwareInstruction
    redactions: dict[str, str] = field(default_factory=dict)
    """Placeholder → value for the placeholders in the public part; stays on the device."""
    method: Method = "clean"
    """Which rule gave the public part."""


def rule_split(
    text: str, scanner: PrivacyScanner, *, paper_format: bool = True
) -> tuple[str, str, dict[str, str], Method | None]:
    """The rules: ``(public, private, redactions, method)``; ``public`` is ``""`` when
    they leave nothing useful to send."""
    text = _clean(text)
    hits = scanner.scan(text)
    colon = _colon_split(text) if paper_format else None
    if colon is not None:
        head, tail = colon
        head_hits = scanner.scan(head)
        public, redactions = scanner.redact(head, head_hits) if head_hits else (head, {})
        if useful_words(public) >= MIN_PUBLIC_WORDS:
            # the personal part stays here; so does the head as written, if redacted
            return public, f"{head}: {tail}" if head_hits else tail, redactions, "colon"
    if not hits:
        return text, "", {}, "clean"
    redacted, redactions = scanner.redact(text, hits)
    if useful_words(redacted) < MIN_PUBLIC_WORDS:
        return "", text, {}, None
    return redacted, _flagged_sentences(text, hits), redactions, "redacted"


def _flagged_sentences(text: str, hits: list[Hit]) -> str:
    flagged = [
        text[start:end].strip()
        for start, end in sentence_spans(text)
        if any(hit.start < end and start < hit.end for hit in hits)
    ]
    return " ".join(flagged)


def propose_public(text: str, local_model: BaseChatModel, scanner: PrivacyScanner) -> str:
    """The local model's generic rewrite, or ``""`` when it is empty or not clean."""
    reply = local_model.invoke([HumanMessage(GENERIC_REWRITE_PROMPT.format(task=text))])
    lines = [line for line in reply.text.strip().splitlines() if line.strip()]
    proposal = _clean(lines[0]) if lines else ""
    if not proposal or len(proposal) > max(len(text), 40) or scanner.scan(proposal):
        return ""
    return proposal


def split_request(
    text: str,
    scanner: PrivacyScanner,
    *,
    local_model: BaseChatModel | None = None,
    kind: TaskKind = "context-aware",
    paper_format: bool = True,
) -> InstructionSplit:
    """Propose the public and private parts of ``text``, with the placeholders' values.

    The whole of ``text`` is kept: what is not in the public part as written is in
    the private part, so the local model still sees everything.

    Args:
        text: the instruction as the user wrote it.
        scanner: the detectors of this user.
        local_model: proposes a generic public part when the rules leave none.
        kind: the task kind of the instruction.
        paper_format: read ``general: personal`` as the paper does and keep the
            personal part on the device. ``False`` sends it too, redacted: more of
            the request reaches the cloud, and with it whatever a paraphrase of a
            private fact tells (``bench/redaction.py`` measures both).

    Raises:
        InvalidInstruction: ``text`` is empty or not valid text.
    """
    try:  # refused before it is scanned: detectors need valid text
        text = clean_text(text, "instruction")
    except ValueError as error:
        raise InvalidInstruction(f"Invalid instruction: {error}.") from None
    if not text:
        raise InvalidInstruction("Invalid instruction: it is empty. Pass a non-empty instruction.")
    public, private, redactions, method = rule_split(text, scanner, paper_format=paper_format)
    if not public and local_model is not None:
        public, private, redactions = propose_public(text, local_model, scanner), _clean(text), {}
        method = "local_model"
    if not public:
        public, private, redactions, method = FALLBACK_PUBLIC, _clean(text), {}, "fallback"
    instruction = ContextAwareInstruction(
        public_instruction=public, private_instruction=private, kind=kind
    )
    return InstructionSplit(instruction, redactions, method or "fallback")


def split_instruction(
    text: str,
    scanner: PrivacyScanner,
    *,
    local_model: BaseChatModel | None = None,
    kind: TaskKind = "context-aware",
    paper_format: bool = True,
) -> ContextAwareInstruction:
    """The instruction of :func:`split_request` (without the placeholders' values)."""
    split = split_request(
        text, scanner, local_model=local_model, kind=kind, paper_format=paper_format
    )
    return split.instruction
