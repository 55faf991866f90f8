"""The scanner of a request is built one way: the four callers go through the factory,
and each keeps the detectors and exempt texts it had before the factory."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel

from langchain_cogenesis.graphs import Components, PrivacyMiddleware, nodes, scanners
from langchain_cogenesis.graphs.auto import request_scanner
from langchain_cogenesis.privacy.detection.detectors import CanaryDetector
from langchain_cogenesis.privacy.detection.entities import EntityDetector
from langchain_cogenesis.privacy.detection.paraphrase import StoredItemMatcher
from langchain_cogenesis.privacy.detection.scanner import PrivacyScanner
from langchain_cogenesis.privacy.detection.splitter import general_part
from tests.unit.privacy.test_paraphrase import HABITS, LocalStore

BASE = [
    "NgramDetector",
    "RareTokenDetector",
    "DateDetector",
    "PiiDetector",
    "CanaryDetector",
    "EntityDetector",
]
INSTRUCTION = "Given her weekly game night: write a toast for her birthday."
TRUSTED = [text for text in scanners.TRUSTED_PROMPT_TEXT if text.strip()]


class FactoryScanner(PrivacyScanner):
    """Marks a scanner built by ``scanners.user_scanner``."""


def four_scanners(user_id: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, PrivacyScanner]:
    """The scanner of each caller for one representative request of ``user_id``."""
    monkeypatch.setattr(scanners, "PrivacyScanner", FactoryScanner)
    store = LocalStore({"tess": list(HABITS)})
    parts = Components(
        store=store,  # type: ignore[arg-type]
        local_model=GenericFakeChatModel(messages=iter([])),
        canaries=("CANARY-1",),
        entity_detector=EntityDetector(engine=None),
        split_with_local_model=False,
    )
    state: Any = {
        "user_id": user_id,
        "public_instruction": "Write a toast",
        "private_instruction": "for Tess Aldana",
    }
    split: list[PrivacyScanner] = []
    real_split = nodes.split_request

    def spy(text: str, scanner: PrivacyScanner, **kwargs: Any) -> Any:
        split.append(scanner)
        return real_split(text, scanner, **kwargs)

    monkeypatch.setattr(nodes, "split_request", spy)
    nodes._split({"user_id": user_id, "instruction": INSTRUCTION}, parts, user_id)  # type: ignore[typeddict-item]
    middleware = PrivacyMiddleware(
        store=store,
        user_id=user_id,
        canaries=["C2"],
        detectors=[CanaryDetector(["C3"])],
        zero_knowledge=user_id != "tess",
    )
    middleware.restored_values.remember({"[PERSON_1f]": "Tess"})
    return {
        "guard": scanners.scanner_for(state, parts),
        "splitter": split[0],
        "auto": request_scanner(state, parts),
        "middleware": middleware.scanner(),
    }


def kinds(scanner: PrivacyScanner) -> list[str]:
    return [type(detector).__name__ for detector in scanner.detectors]


def matcher_of(scanner: PrivacyScanner) -> StoredItemMatcher:
    [matcher] = [d for d in scanner.detectors if isinstance(d, StoredItemMatcher)]
    return matcher


def test_every_caller_builds_its_scanner_through_the_factory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = four_scanners("tess", monkeypatch)
    assert {name: type(s).__name__ for name, s in built.items()} == dict.fromkeys(
        built, "FactoryScanner"
    )


def test_a_stored_users_scanners_keep_their_detectors_and_exempt_texts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = four_scanners("tess", monkeypatch)
    assert {name: kinds(s) for name, s in built.items()} == {
        "guard": [*BASE, "StoredItemMatcher"],
        "splitter": [*BASE, "StoredItemMatcher"],
        "auto": [*BASE, "StoredItemMatcher"],
        # its own detectors and the conversation's restored values; no stored-fact matcher
        "middleware": [*BASE, "CanaryDetector", "RestoredValueDetector"],
    }
    # the package's prompt text is trusted by the guard's and the router's scanners
    assert {name: s.trusted_texts for name, s in built.items()} == {
        "guard": TRUSTED,
        "splitter": [],
        "auto": TRUSTED,
        "middleware": [],
    }
    # the user's own public words: exempt for the guard only; the splitter's matcher
    # takes the paper's general part as given apart; the router exempts nothing
    rare = {name: s.detectors[1] for name, s in built.items()}
    assert {name: bool(d.excluded) for name, d in rare.items()} == {  # type: ignore[attr-defined]
        "guard": True,
        "splitter": False,
        "auto": False,
        "middleware": False,
    }
    assert matcher_of(built["guard"]).public_text == "Write a toast"
    assert matcher_of(built["splitter"]).public_text == general_part(INSTRUCTION)
    assert matcher_of(built["auto"]).public_text == ""
    # the stored user's profile names, every caller; canaries, each caller's own
    assert all("Tess Aldana" in s.detectors[3].names for s in built.values())  # type: ignore[attr-defined]
    canaries = {name: s.detectors[4].canaries for name, s in built.items()}  # type: ignore[attr-defined]
    assert canaries == {
        "guard": ["CANARY-1"],
        "splitter": ["CANARY-1"],
        "auto": ["CANARY-1"],
        "middleware": ["C2"],
    }


def test_an_unknown_users_scanners_read_nothing_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    built = four_scanners("nobody", monkeypatch)
    assert {name: kinds(s) for name, s in built.items()} == {
        "guard": BASE,
        "splitter": BASE,
        "auto": BASE,
        "middleware": [*BASE, "CanaryDetector", "RestoredValueDetector"],
    }
    assert not any(s.detectors[3].names for s in built.values())  # type: ignore[attr-defined]
