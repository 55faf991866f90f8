"""Span synthesis: spans line up, halves share nothing, every shape and category appears."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("faker")

from langchain_cogenesis.evaluation.pii_cases import PiiCase
from langchain_cogenesis.evaluation.span_synthesis import (
    CATEGORIES,
    generate_span_cases,
    read_jsonl,
    write_jsonl,
)

NON_LATIN = re.compile(
    r"[\u0400-\u04ff\u0600-\u06ff\u0900-\u097f\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]"
)
PUBLIC_TERMS = re.compile(
    r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|EDUCATION|WORK EXPERIENCE|SKILLS|SUMMARY|"
    r"Python|Excel|LinkedIn|SQL|Human Resources|Marketing)\b"
)


@pytest.fixture(scope="module")
def halves() -> dict[str, list[PiiCase]]:
    return {split: generate_span_cases(2000, seed=7, split=split) for split in ("tune", "test")}


def _family(case: PiiCase) -> str:
    return case.source.split(":")[2]


def _shape(case: PiiCase) -> str:
    return case.source.split(":")[1]


def _digest(cases: list[PiiCase]) -> str:
    text = "\n".join(f"{case.source}|{case.text}|{case.units}" for case in cases)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("split", ["tune", "test"])
def test_spans_line_up_in_order_without_overlap(
    halves: dict[str, list[PiiCase]], split: str
) -> None:
    for case in halves[split]:
        last_end = 0
        for unit in case.units:
            assert case.text[unit.start : unit.end] == unit.text
            assert unit.text and unit.text == unit.text.strip(), case
            assert unit.category in CATEGORIES
            assert unit.start >= last_end, f"overlap in {case.text!r}"
            last_end = unit.end


def test_same_seed_same_cases_other_seed_other_cases() -> None:
    first = generate_span_cases(200, seed=3, split="test")
    assert first == generate_span_cases(200, seed=3, split="test")
    assert first != generate_span_cases(200, seed=4, split="test")


def test_same_cases_in_another_process_with_another_hash_seed() -> None:
    script = (
        "import hashlib\n"
        "from langchain_cogenesis.evaluation.span_synthesis import generate_span_cases\n"
        "cases = generate_span_cases(300, seed=5, split='tune')\n"
        "text = '\\n'.join(f'{c.source}|{c.text}|{c.units}' for c in cases)\n"
        "print(hashlib.sha256(text.encode()).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == _digest(generate_span_cases(300, seed=5, split="tune"))


def test_halves_share_no_family_and_each_shape_is_in_both(
    halves: dict[str, list[PiiCase]],
) -> None:
    tune_families = {_family(case) for case in halves["tune"]}
    test_families = {_family(case) for case in halves["test"]}
    assert not tune_families & test_families
    assert {_shape(case) for case in halves["tune"]} == {_shape(case) for case in halves["test"]}


def test_halves_share_no_value(halves: dict[str, list[PiiCase]]) -> None:
    tune = {unit.text.casefold() for case in halves["tune"] for unit in case.units}
    test = {unit.text.casefold() for case in halves["test"] for unit in case.units}
    assert len(tune) > 1000 and len(test) > 1000
    assert not tune & test


def test_halves_share_no_name_word(halves: dict[str, list[PiiCase]]) -> None:
    particles = {"da", "das", "de", "del", "den", "der", "di", "do", "dos", "la", "le", "van"}

    def name_words(split: str) -> set[str]:
        return {
            word
            for case in halves[split]
            for unit in case.units
            if unit.category == "PERSON"
            for word in re.split(r"[\s-]+", unit.text.casefold())
        } - particles

    assert not name_words("tune") & name_words("test")


@pytest.mark.parametrize("split", ["tune", "test"])
def test_every_category_language_and_code_shape_appears(
    halves: dict[str, list[PiiCase]], split: str
) -> None:
    cases = halves[split]
    assert {unit.category for case in cases for unit in case.units} == set(CATEGORIES)
    shapes = {_shape(case) for case in cases}
    assert {"de", "fr", "es", "code", "mixed", "resume", "email", "lower", "public"} <= shapes
    non_latin = [c for c in cases if any(NON_LATIN.search(unit.text) for unit in c.units)]
    assert len(non_latin) >= 50
    assert any(
        unit.category == "HEALTH" for case in cases if _shape(case) == "de" for unit in case.units
    )


@pytest.mark.parametrize("split", ["tune", "test"])
def test_enough_cases_without_any_unit(halves: dict[str, list[PiiCase]], split: str) -> None:
    empty = [case for case in halves[split] if not case.units]
    assert len(empty) >= 0.10 * len(halves[split])
    assert all(_shape(case) == "public" for case in empty)


@pytest.mark.parametrize("split", ["tune", "test"])
def test_names_in_lower_case_and_capitals(halves: dict[str, list[PiiCase]], split: str) -> None:
    names = [
        unit.text for case in halves[split] for unit in case.units if unit.category == "PERSON"
    ]
    assert sum(name.islower() for name in names) >= 50
    assert sum(name.isupper() and " " in name for name in names) >= 20


@pytest.mark.parametrize("split", ["tune", "test"])
def test_capitalised_public_terms_stay_unlabelled(
    halves: dict[str, list[PiiCase]], split: str
) -> None:
    seen = 0
    for case in halves[split]:
        for match in PUBLIC_TERMS.finditer(case.text):
            seen += 1
            assert not any(u.start < match.end() and match.start() < u.end for u in case.units), (
                match.group(),
                case.text,
            )
    assert seen >= 200


def test_jsonl_round_trip(tmp_path: Path) -> None:
    cases = generate_span_cases(50, seed=1)
    path = tmp_path / "spans.jsonl"
    write_jsonl(cases, path)
    assert read_jsonl(path) == cases
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith('{"text": ')


def test_unknown_split_is_refused() -> None:
    with pytest.raises(ValueError, match="split"):
        generate_span_cases(1, split="train")  # type: ignore[arg-type]


def test_missing_faker_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "faker", None)
    with pytest.raises(ImportError, match="pip install faker"):
        generate_span_cases(1)
