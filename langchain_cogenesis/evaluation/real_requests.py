"""Real chat requests that carry private information, as span-labelled cases.

The measure of detection is what people actually type. PAPILLON's PUPA set (Li et
al., 2025, MIT licence) holds real requests sent to a chat assistant, each with the
private units a person annotated (names, employers, places, products, handles...).
This package does not ship it; :func:`load_pupa` reads a copy given by path.

Each unit is located in its request (case-insensitively, on word boundaries) and
becomes a :class:`~langchain_cogenesis.evaluation.pii_cases.PrivateUnit` per
occurrence. Units the annotation wrote as placeholders (``<PRESIDIO_ANONYMIZED_...>``,
``_____``) and units that do not occur in the request are skipped and counted.

:func:`string_leaks` is PAPILLON's measure (the unit's text, case-insensitive, is
in what reached the cloud); :func:`~langchain_cogenesis.evaluation.pii_cases.unit_leaks`
the stricter one (any word of the unit left outside the redacted spans).
"""

from __future__ import annotations

import csv
import hashlib
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from langchain_cogenesis.evaluation.pii_cases import PiiCase, PrivateUnit

_WORD = re.compile(r"[^\W_]+")
_PLACEHOLDER_UNIT = re.compile(r"<PRESIDIO_ANONYMIZED_[A-Z_]+>|_{3,}", re.IGNORECASE)


@dataclass(frozen=True)
class RealRequests:
    """Cases read from a file of real requests, and what was left out."""

    cases: list[PiiCase]
    skipped_placeholder_units: int
    skipped_absent_units: int
    categories: dict[str, str]
    """``text`` of a case → the request's category in the file."""


def _unit_pattern(unit: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(part) for part in unit.split())
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def locate_units(text: str, units: Iterable[str], category: str = "pupa") -> list[PrivateUnit]:
    """Every occurrence of every unit in ``text``, longest units first, not overlapping."""
    found: list[PrivateUnit] = []
    for unit in sorted({u.strip() for u in units if u.strip()}, key=len, reverse=True):
        for match in _unit_pattern(unit).finditer(text):
            if any(u.start < match.end() and match.start() < u.end for u in found):
                continue
            found.append(PrivateUnit(match.start(), match.end(), category, match.group()))
    return sorted(found, key=lambda u: u.start)


Half = Literal["train", "heldout"]


def half_of(record: dict[str, str]) -> Half:
    """The half a row belongs to, by its conversation hash (or its text): stable, ~50/50."""
    key = (
        record.get("conversation_hash")
        or hashlib.sha256(record.get("user_query", "").encode("utf-8")).hexdigest()
    )
    return "train" if int(key[-1], 16) % 2 == 0 else "heldout"


def load_pupa(path: str | Path, *, half: Half | None = None) -> RealRequests:
    """The requests of a PUPA-format CSV (``user_query``, ``pii_units``) as cases.

    Args:
        path: the CSV file.
        half: only the rows of one half (:func:`half_of`): ``train`` for training a
            detector, ``heldout`` for measuring it on requests it has not seen.
    """
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with Path(path).open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    if half is not None:
        records = [record for record in records if half_of(record) == half]
    cases: list[PiiCase] = []
    categories: dict[str, str] = {}
    placeholders = absent = 0
    for record in records:
        text = record["user_query"]
        wanted = []
        for unit in (record.get("pii_units") or "").split("||"):
            unit = unit.strip()
            if not unit:
                continue
            if _PLACEHOLDER_UNIT.search(unit):
                placeholders += 1
            elif not _unit_pattern(unit).search(text):
                absent += 1
            else:
                wanted.append(unit)
        units = locate_units(text, wanted)
        if units:
            cases.append(PiiCase(text, tuple(units), "pupa"))
            categories[text] = record.get("predicted_category", "")
    return RealRequests(cases, placeholders, absent, categories)


def string_leaks(unit: str, outbound: str) -> bool:
    """PAPILLON's measure: the unit's text occurs (case-insensitively) in ``outbound``."""
    return _unit_pattern(unit).search(outbound) is not None


def _unit_key(text: str) -> str:
    return " ".join(text.casefold().split())


def score_outbound(case: PiiCase, outbound: str) -> dict[str, int]:
    """What of ``case`` reached the cloud as ``outbound`` (``""`` when nothing was sent).

    Counts, per request: distinct units and those leaked (PAPILLON's string measure,
    :func:`string_leaks`), and the request's non-private words (outside every unit)
    with those still in ``outbound`` (matched as a multiset of case-folded words).
    """
    units = {_unit_key(u.text): u.text for u in case.units}
    leaked = sum(string_leaks(text, outbound) for text in units.values())
    sent = Counter(m.group().casefold() for m in _WORD.finditer(outbound))
    words = kept = 0
    for match in _WORD.finditer(case.text):
        if any(u.start < match.end() and match.start() < u.end for u in case.units):
            continue
        words += 1
        word = match.group().casefold()
        if sent[word] > 0:
            sent[word] -= 1
            kept += 1
    return {"units": len(units), "leaked": leaked, "words": words, "kept": kept}


def summarize(rows: Sequence[dict[str, int]], latency_ms: Sequence[float] = ()) -> dict[str, Any]:
    """Unit leakage, words kept and requests leaking nothing over scored requests."""
    units = sum(r["units"] for r in rows)
    words = sum(r["words"] for r in rows)
    figures: dict[str, Any] = {
        "requests": len(rows),
        "units": units,
        "unit_leakage": sum(r["leaked"] for r in rows) / max(units, 1),
        "words_kept": sum(r["kept"] for r in rows) / max(words, 1),
        "requests_leaking_nothing": sum(r["leaked"] == 0 for r in rows) / max(len(rows), 1),
    }
    if latency_ms:
        ordered = sorted(latency_ms)
        figures["latency_ms_p50"] = ordered[len(ordered) // 2]
        figures["latency_ms_p95"] = ordered[int(0.95 * (len(ordered) - 1))]
    return figures
