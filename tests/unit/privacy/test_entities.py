"""Private facts typed into a request, found with no prior knowledge of the user.

The sentences here are paraphrases written for this test: none of them (nor their
names, places or conditions) is in the generator the detector was tuned on.
"""

from __future__ import annotations

import logging
import typing

import pytest

from langchain_cogenesis import prompts
from langchain_cogenesis.evaluation.pii_cases import (
    generate_pii_cases,
    handwritten_cases,
    over_redaction,
    unit_leaks,
)
from langchain_cogenesis.privacy import (
    EntityDetector,
    LocalModelDetector,
    PrivacyScanner,
    decide,
)
from langchain_cogenesis.privacy.detection.detectors import merge_spans
from langchain_cogenesis.privacy.detection.entities import default_entity_detector
from langchain_cogenesis.privacy.detection.ner_engine import SpacyEngine, ner_available
from langchain_cogenesis.privacy.detection.recognizers import LineContext, RecognizerRegistry


def found(text: str, detector: EntityDetector | None = None) -> dict[str, str]:
    hits = (detector or default_entity_detector()).find(text)
    return {hit.text: hit.detector for hit in hits}


HELD_OUT = [
    (
        "Could you polish my wedding vows to Tobiah? We're marrying at Glenmorrow Abbey "
        "on 22 August.",
        {"Tobiah": "PERSON", "Glenmorrow Abbey": "PLACE", "22 August": "DATE"},
    ),
    (
        "Write a letter to my employer, Quillfeather Press in Norwich, about my asthma.",
        {"Quillfeather Press": "ORG", "Norwich": "PLACE", "asthma": "HEALTH"},
    ),
    ("Draft a text reminding my roommate that he owes me $640 for utilities.", {"$640": "MONEY"}),
    (
        "Write setup notes for the office; the router admin password: Gl4ss-Harbor77",
        {"Gl4ss-Harbor77": "CREDENTIAL"},
    ),
    (
        "My passport number is X4419203, write a note asking the embassy to renew it.",
        {"X4419203": "ID"},
    ),
    (
        "Reply to oskar.vey@fastmail.com and thank him for the referral.",
        {"oskar.vey@fastmail.com": "CONTACT"},
    ),
    (
        "Help me tell my team I'm starting chemotherapy next month and will work part time.",
        {"chemotherapy": "HEALTH"},
    ),
]


@pytest.mark.parametrize(("text", "expected"), HELD_OUT)
def test_finds_private_facts_in_sentences_it_was_not_tuned_on(
    text: str, expected: dict[str, str]
) -> None:
    spans = found(text)
    for value, kind in expected.items():
        assert value in spans, f"{value!r} not found in {spans}"
        assert spans[value] == f"entity:{kind}"


def test_the_statistical_recognizer_is_installed_and_used() -> None:
    assert ner_available()
    # Everyday words that only the recognizer reads as a name in this sentence.
    text = "Please draft a note thanking Sarah Klein for the flowers."
    assert "Sarah Klein" in found(text)
    assert "Sarah Klein" not in found(text, EntityDetector.rules_only())


PUBLIC = [
    "Write a blog post about Paris travel tips",
    "Write a speech for a wedding",
    "Explain photosynthesis to a ten-year-old",
    "Write a limerick about a cat who loves lasagna",
    "Draft a memo announcing a new recycling policy",
    "Create a lesson plan about the Roman Empire",
    "Write a short history of the printing press",
    "Outline a podcast about healthy sleep habits",
    "Write a product page for a stainless steel water bottle",
    "Compose a haiku about the first snow of winter",
    "Develop a Marketing Script for Your Monthly Dinner Party",
]


def test_public_instructions_are_mostly_untouched() -> None:
    flagged = [text for text in PUBLIC if default_entity_detector().find(text)]
    assert len(flagged) <= 1, flagged
    hidden = words = 0
    for text in PUBLIC:
        spans = merge_spans(default_entity_detector().find(text))
        redacted, total = over_redaction(text, (), spans)
        hidden, words = hidden + redacted, words + total
    assert hidden / words < 0.05


def test_package_prompt_text_is_not_flagged() -> None:
    scanner = PrivacyScanner(trusted_texts=prompts.TRUSTED_TEXT)
    public = "Write a blog post about staying productive while working from home"
    for kind in typing.get_args(prompts.TaskKind):
        template = prompts.sketch_prompt(kind)
        question = prompts.sketch_question(kind, public)
        values = {name: question for name in template.input_variables}
        for message in template.format_messages(**values):
            assert scanner.scan(str(message.content)) == [], kind


def test_numbered_words_are_not_tokens_but_passwords_are() -> None:
    """The sketch prompt's own labels ("[Task3]:", "[Skeleton3]:") once reached the
    cloud as ID placeholders; a word with a one- or two-digit number is a label."""
    scanner = PrivacyScanner()
    for label in ("[Task3]: Write a toast", "[Skeleton12]: 1. Opening", "Upgrade to Python3"):
        assert scanner.scan(label) == [], label
    for secret in ("my password is Summer2024", "the token is aB3dE9xQ", "code Hunter22x"):
        found = {hit.detector for hit in scanner.scan(secret)}
        assert found & {"entity:ID", "entity:CREDENTIAL"}, secret


def test_redaction_keeps_the_request_and_the_rescan_is_clean() -> None:
    scanner = PrivacyScanner()
    text = (
        "Write an invitation to Lila Moss's piano recital at Ostwick Hall on 14 December, "
        "noting I may step out to check my Omnipod."
    )
    decision = decide([("user", text)], scanner)
    assert decision.decision == "redacted", decision.reason
    outbound = decision.outbound[0][1]
    for private in ("Lila", "Moss", "Ostwick", "14 December", "Omnipod"):
        assert private not in outbound
    for public in ("Write an invitation to", "piano recital", "noting I may step out"):
        assert public in outbound


def test_an_empty_store_scanner_leaks_under_the_goal_on_held_out_requests() -> None:
    scanner = PrivacyScanner()
    cases = [*generate_pii_cases(40, split="test", seed=3), *handwritten_cases()]
    leaked = total = 0
    for case in cases:
        decision = decide([("user", case.text)], scanner)
        spans = merge_spans(decision.hits)
        for unit in case.units:
            total += 1
            leaked += decision.sendable and unit_leaks(unit, spans)
    assert leaked / total < 0.075
    # the control: with nothing redacted, every unit is counted as leaked
    assert all(unit_leaks(unit, []) for case in cases for unit in case.units)


def test_degrades_to_rules_with_a_warning_without_the_extra(
    caplog: pytest.LogCaptureFixture,
) -> None:
    missing = SpacyEngine(packages=("no_such_model",))
    with caplog.at_level(
        logging.WARNING, logger="langchain_cogenesis.privacy.detection.ner_engine"
    ):
        assert not missing.available
    assert "privacy" in caplog.text
    spans = found(
        "Write a note for my sister Wenonah: the wifi password is kettle!Drum42 and my "
        "insulin is in the fridge.",
        EntityDetector(engine=missing),
    )
    assert spans["Wenonah"] == "entity:PERSON"
    assert spans["kettle!Drum42"] == "entity:CREDENTIAL"
    assert spans["insulin"] == "entity:HEALTH"


def test_placeholders_are_never_flagged() -> None:
    text = "Write to [PERSON_3f9a] at [PLACE_0c41] about my [HEALTH_77b2] on [DATE_91aa]."
    assert EntityDetector().find(text) == []


def test_lines_are_cached_so_a_growing_payload_costs_its_new_lines() -> None:
    detector = EntityDetector()
    first = "Write a toast for my brother Eamon."
    assert detector.find(first)
    assert first in detector._cache
    longer = detector.find(f"{first}\nHe lives in Galway.")
    assert {hit.text for hit in longer} >= {"Eamon", "Galway"}


def test_local_model_pass_lists_private_spans() -> None:
    prompts_seen: list[str] = []

    def ask(prompt: str) -> str:
        prompts_seen.append(prompt)
        return "- monthly dinner party\n- NONE\n2. Wine Wednesday"

    text = "Write a script for my monthly dinner party and our Wine Wednesday tradition."
    hits = LocalModelDetector(ask).find(text)
    assert {hit.text for hit in hits} == {"monthly dinner party", "Wine Wednesday"}
    assert all(hit.detector == "entity:FACT" for hit in hits)
    assert text in prompts_seen[0]


def test_a_scanner_uses_the_entity_detector_it_is_given() -> None:
    rules_only = EntityDetector(engine=None)
    assert rules_only in PrivacyScanner(entity_detector=rules_only).detectors
    assert (
        rules_only
        not in PrivacyScanner(detect_entities=False, entity_detector=rules_only).detectors
    )
    # built once, never swapped: every scanner given none shares the default
    assert default_entity_detector() in PrivacyScanner().detectors
    assert default_entity_detector() is default_entity_detector()
    assert default_entity_detector() is not rules_only


class _Codename:
    """A recognizer of this test: project codenames written as ``Project <Word>``."""

    name = "codename"
    stage: typing.Literal["pattern"] = "pattern"

    def spans(self, context: LineContext) -> list[tuple[int, int, str]]:
        line = context.line
        start = line.find("Project ")
        if start < 0:
            return []
        end = line.find(" ", start + 8)
        return [(start, end if end > 0 else len(line), "CODENAME")]


def test_a_registry_takes_a_new_recognizer_and_the_engine_runs_once_per_line() -> None:
    calls: list[str] = []

    class CountingEngine:
        def entities(self, line: str) -> list[tuple[int, int, str]]:
            calls.append(line)
            return []

    registry = RecognizerRegistry.default()
    registry.add(_Codename())
    detector = EntityDetector(engine=CountingEngine(), registry=registry)
    text = "Write the kickoff memo for Project Nightjar without naming anyone."
    assert found(text, detector) == {"Project Nightjar": "entity:CODENAME"}
    assert calls == [text]  # one engine run for all recognizers
    assert "Project Nightjar" not in found(text, EntityDetector(engine=CountingEngine()))
    registry.remove("codename")
    assert "codename" not in registry.names()
