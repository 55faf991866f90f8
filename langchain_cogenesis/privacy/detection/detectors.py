"""Leak detectors built from what the user's private store holds, and by pattern.

- :class:`NgramDetector`: word n-grams shared with the user's private documents.
- :class:`RareTokenDetector`: names, numbers and identifiers from private documents.
- :class:`DateDetector`: full dates that occur in private documents.
- :class:`PiiDetector`: e-mail, phone, postal address, card, IBAN, date of birth and
  the names in the user's profile, by pattern (with checksums where they exist).
- :class:`CanaryDetector`: exact strings planted in private context.

They all follow :class:`~langchain_cogenesis.privacy.detection.spans.Detector`;
:class:`~langchain_cogenesis.privacy.detection.scanner.PrivacyScanner` runs them together with
the entity detector. The n-gram and rare-token detectors ignore what also occurs in
``public_text``, the public instruction the user wrote: the user chose to share that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from langchain_cogenesis.privacy.detection.spans import (
    DATE_PATTERN,
    PII_PATTERNS,
    TOKEN_PATTERN,
    Detector,
    Hit,
    common_words,
    iban_valid,
    luhn_valid,
    merge_spans,
    normalize,
    tokens,
    word_ngrams,
)

__all__ = [
    "NGRAM_N",
    "CanaryDetector",
    "DateDetector",
    "Detector",
    "Hit",
    "NgramDetector",
    "PiiDetector",
    "PrivateIndex",
    "RareTokenDetector",
    "is_rare",
    "merge_spans",
    "normalize",
    "private_dates",
    "rare_tokens",
    "tokens",
]

NGRAM_N = 5
"""Words per n-gram; chosen by measurement (``bench/privacy.py``, docs/privacy.md)."""


class NgramDetector:
    """Word n-grams of private documents found in the outbound text."""

    name = "ngram"

    def __init__(
        self,
        private_texts: Iterable[str] = (),
        *,
        n: int = NGRAM_N,
        public_text: str = "",
        grams: frozenset[tuple[str, ...]] | None = None,
    ) -> None:
        self.n = n
        own = set().union(*(word_ngrams(text, n) for text in private_texts))
        self.grams = own | (grams or frozenset())
        self.excluded = word_ngrams(public_text, n)

    def find(self, text: str) -> list[Hit]:
        """Spans covered by shared n-grams."""
        words = tokens(text)
        hits = []
        for i in range(len(words) - self.n + 1):
            window = words[i : i + self.n]
            gram = tuple(word for word, _, _ in window)
            if gram in self.grams and gram not in self.excluded:
                start, end = window[0][1], window[-1][2]
                hits.append(Hit(start, end, self.name, text[start:end]))
        return hits


_YEAR = re.compile(r"^(19|20)\d\d$")
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th|s)$")


def is_rare(word: str, original: str) -> bool:
    """Names, numbers and identifiers: what identifies a person or a record."""
    # identifiers first: a code such as "canary-7q4z-larkspur" has few digits
    if any(ch in word for ch in "@/_") or ("-" in word and len(word) >= 6):
        return True
    if any(ch.isdigit() for ch in word):
        digits = sum(ch.isdigit() for ch in word)
        # "7q4z" identifies; "21st" and "1990s" do not
        letters_and_digits = len(word) >= 4 and not _ORDINAL.match(word) and digits < len(word)
        return (digits >= 3 and not _YEAR.match(word)) or letters_and_digits
    return original[:1].isupper() and len(word) >= 4 and word not in common_words()


def rare_tokens(text: str) -> set[str]:
    """The normalized rare tokens of ``text`` (see :func:`is_rare`)."""
    return {
        normalize(match.group())
        for match in TOKEN_PATTERN.finditer(text)
        if is_rare(normalize(match.group()), match.group())
    }


class RareTokenDetector:
    """Rare tokens of private documents found in the outbound text."""

    name = "rare_token"

    def __init__(
        self,
        private_texts: Iterable[str] = (),
        *,
        public_text: str = "",
        rare: frozenset[str] | None = None,
    ) -> None:
        self.rare = set().union(*(rare_tokens(text) for text in private_texts)) | (
            rare or frozenset()
        )
        self.excluded = {word for word, _, _ in tokens(public_text)}

    def find(self, text: str) -> list[Hit]:
        """Spans of rare private tokens."""
        return [
            Hit(start, end, self.name, text[start:end])
            for word, start, end in tokens(text)
            if word in self.rare and word not in self.excluded
        ]


def private_dates(text: str) -> set[str]:
    """Normalized full dates in ``text`` (a birthday or an appointment identifies)."""
    return {
        " ".join(normalize(m.group()).replace(",", " ").split())
        for m in DATE_PATTERN.finditer(text)
    }


class DateDetector:
    """Full dates from private documents found in the outbound text."""

    name = "private_date"

    def __init__(
        self,
        private_texts: Iterable[str] = (),
        *,
        public_text: str = "",
        dates: frozenset[str] | None = None,
    ) -> None:
        self.dates = set().union(*(private_dates(t) for t in private_texts)) | (
            dates or frozenset()
        )
        self.excluded = private_dates(public_text)

    def find(self, text: str) -> list[Hit]:
        """Spans of private dates."""
        hits = []
        for match in DATE_PATTERN.finditer(text):
            value = " ".join(normalize(match.group()).replace(",", " ").split())
            if value in self.dates and value not in self.excluded:
                hits.append(Hit(match.start(), match.end(), self.name, match.group()))
        return hits


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


class PiiDetector:
    """Personal data by pattern, plus the names in the user's profile."""

    name = "pii"

    def __init__(self, names: Iterable[str] = ()):
        parts = {
            part
            for name in names
            for part in [name.strip(), *name.split()]
            if len(part.strip(" .,")) >= 3
        }
        self.names = sorted(parts, key=len, reverse=True)
        self._name_pattern = (
            re.compile(
                r"(?<!\w)(?:" + "|".join(re.escape(n) for n in self.names) + r")(?!\w)",
                re.IGNORECASE,
            )
            if self.names
            else None
        )

    def find(self, text: str) -> list[Hit]:
        """Spans of personal data."""
        hits = []
        for kind, pattern in PII_PATTERNS.items():
            for match in pattern.finditer(text):
                value = match.group()
                if kind == "card" and not (
                    13 <= len(_digits(value)) <= 19 and luhn_valid(_digits(value))
                ):
                    continue
                if kind == "iban" and not iban_valid(value):
                    continue
                if kind == "phone" and not 9 <= len(_digits(value)) <= 15:
                    continue
                hits.append(Hit(match.start(), match.end(), f"pii:{kind}", value))
        if self._name_pattern:
            hits += [
                Hit(m.start(), m.end(), "pii:name", m.group())
                for m in self._name_pattern.finditer(text)
            ]
        return hits


class CanaryDetector:
    """Exact canary strings (case-insensitive)."""

    name = "canary"

    def __init__(self, canaries: Iterable[str] = ()):
        self.canaries = [c for c in canaries if c.strip()]

    def find(self, text: str) -> list[Hit]:
        """Every occurrence of every canary."""
        folded = text.casefold()
        hits = []
        for canary in self.canaries:
            needle = canary.casefold()
            start = folded.find(needle)
            while start != -1:
                hits.append(
                    Hit(start, start + len(needle), self.name, text[start : start + len(needle)])
                )
                start = folded.find(needle, start + 1)
        return hits


@dataclass(frozen=True)
class PrivateIndex:
    """What the detectors need from one user's private documents, built once."""

    grams: frozenset[tuple[str, ...]]
    rare: frozenset[str]
    names: tuple[str, ...]
    dates: frozenset[str] = frozenset()
    n: int = NGRAM_N

    @classmethod
    def build(
        cls, private_texts: Iterable[str], *, names: Iterable[str] = (), n: int = NGRAM_N
    ) -> PrivateIndex:
        """Index ``private_texts`` (the user's documents) and profile ``names``."""
        texts = [text for text in private_texts if text]
        return cls(
            grams=frozenset().union(*(word_ngrams(text, n) for text in texts)),
            rare=frozenset().union(*(rare_tokens(text) for text in texts)),
            names=tuple(names),
            dates=frozenset().union(*(private_dates(text) for text in texts)),
            n=n,
        )
