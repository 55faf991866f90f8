"""Checks that need no cloud client: the fusion prefix gate and hit summaries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langchain_cogenesis.privacy.detection.detectors import Hit
from langchain_cogenesis.privacy.detection.scanner import PrivacyScanner


def hit_summary(hits: Iterable[Hit]) -> list[dict[str, Any]]:
    """Hits without their text: what the audit log and results may keep."""
    return [{"detector": h.detector, "start": h.start, "end": h.end} for h in hits]


def find_private_overlap(payload_text: str, private_texts: Iterable[str]) -> list[str]:
    """The private spans (as text) that :class:`PrivacyScanner` finds in ``payload_text``."""
    scanner = PrivacyScanner(private_texts, detect_entities=False)  # overlap only
    return [hit.text for hit in scanner.scan(payload_text)]


class PrefixGate:
    """Checks each outbound decoding prefix; closes for good at the first private hit.

    Logit-based decoding sends the generated prefix to the cloud at every step. Once a
    prefix carries private content the cloud must stop taking part: :meth:`allows`
    then returns ``False`` forever and :attr:`closed_at` records the token index.
    """

    def __init__(self, scanner: PrivacyScanner) -> None:
        self.scanner = scanner
        self.closed_at: int | None = None
        self.hits: list[Hit] = []

    def allows(self, prefix: str, token_index: int) -> bool:
        """Whether ``prefix`` (generated text so far) may go to the cloud."""
        if self.closed_at is not None:
            return False
        hits = self.scanner.scan(prefix)
        if hits:
            self.closed_at, self.hits = token_index, hits
            return False
        return True
