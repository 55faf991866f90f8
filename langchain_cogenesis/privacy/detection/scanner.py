"""The scanner: every detector for one user and request, run together.

The top floor of detection. :class:`PrivacyScanner` holds the store-based and
pattern detectors of :mod:`~langchain_cogenesis.privacy.detection.detectors` and the entity
detector it is given (:mod:`~langchain_cogenesis.privacy.detection.entities`), scans a payload
with all of them and redacts what they find
(:mod:`~langchain_cogenesis.privacy.redaction.placeholders`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from langchain_cogenesis.privacy.detection.detectors import (
    NGRAM_N,
    CanaryDetector,
    DateDetector,
    NgramDetector,
    PiiDetector,
    PrivateIndex,
    RareTokenDetector,
)
from langchain_cogenesis.privacy.detection.entities import default_entity_detector
from langchain_cogenesis.privacy.detection.spans import Detector, Hit
from langchain_cogenesis.privacy.redaction.placeholders import redact_spans


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
            places, health, money, credentials typed into a request).
        entity_detector: the detector that finds them (default: the process's
            :func:`~langchain_cogenesis.privacy.detection.entities.default_entity_detector`,
            with the spaCy engine); pass
            ``EntityDetector(engine=None)`` for the rules alone, or your own.
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
        entity_detector: Detector | None = None,
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
        if detect_entities:
            self.detectors.append(entity_detector or default_entity_detector())
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
        :mod:`langchain_cogenesis.privacy.redaction.placeholders`. Returns the text and the
        placeholder → value mapping, which stays on the device. ``known`` holds the
        placeholders already given out in this request or conversation (a value
        keeps its placeholder, no other value gets one of them); ``first`` is kept
        for callers of the numbered placeholders of earlier versions and is unused.
        """
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
