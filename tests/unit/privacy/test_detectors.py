from __future__ import annotations

import re

import pytest

from langchain_cogenesis.privacy import PrivacyScanner, restore
from langchain_cogenesis.privacy.detection.detectors import (
    CanaryDetector,
    Hit,
    NgramDetector,
    PiiDetector,
    PrivateIndex,
    RareTokenDetector,
    iban_valid,
    is_rare,
    luhn_valid,
    merge_spans,
)
from langchain_cogenesis.privacy.egress.gate import PrefixGate

PRIVATE = [
    "Lena has 3,200 euros in unpaid invoices from Brightwater Trust, the oldest from February.",
    "She is moving to a shared studio in the Schanzenviertel on 1 August.",
]


def kinds(hits: list[Hit]) -> list[str]:
    return [hit.detector for hit in hits]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("write to lena.fischer+work@studio-nord.de today", "pii:email"),
        ("call +49 40 1234 5678", "pii:phone"),
        ("call (415) 555-0132", "pii:phone"),
        ("IBAN DE89 3704 0044 0532 0130 00", "pii:iban"),
        ("IBAN GB82WEST12345698765432", "pii:iban"),
        ("card 4111 1111 1111 1111", "pii:card"),
        ("card 5500-0000-0000-0004", "pii:card"),
        ("she lives at 221B Baker Street", "pii:address"),
        ("she lives at 1600 Pennsylvania Avenue", "pii:address"),
        ("Stresemannstraße 12 in Hamburg", "pii:address"),
        ("she was born on 12 March 1994", "pii:date_of_birth"),
        ("DOB: 1994-03-12", "pii:date_of_birth"),
        ("birthday is April 2, 1988", "pii:date_of_birth"),
    ],
)
def test_pii_patterns_find_personal_data(text: str, kind: str) -> None:
    assert kind in kinds(PiiDetector().find(text))


@pytest.mark.parametrize(
    "text",
    [
        "Write a blog post about 10 tips for remote work in 2024",
        "card 4111 1111 1111 1112",  # fails Luhn
        "IBAN DE89 3704 0044 0532 0130 01",  # fails mod 97
        "Compose a 500-word essay on bridges",
        "Meet at 3 pm on Friday",
        "The 2 main roads",
        "Version 1.2.3 of the app",
    ],
)
def test_pii_patterns_leave_ordinary_text_alone(text: str) -> None:
    assert PiiDetector().find(text) == []


def test_checksums() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("DE89 3704 0044 0532 0130 00") and not iban_valid("DE00 0000 0000 0000 00")


def test_profile_names_whole_and_in_parts() -> None:
    detector = PiiDetector(["Lena Fischer"])
    assert [h.text for h in detector.find("Dear Lena, Ms. FISCHER said hi")] == ["Lena", "FISCHER"]
    assert detector.find("Lenart visited") == []


def test_ngrams_skip_what_the_user_wrote_publicly() -> None:
    detector = NgramDetector(PRIVATE, n=5)
    leak = "the oldest from February is overdue: 3,200 euros in unpaid invoices from"
    assert detector.find(leak)
    public = "Remind a client about 3,200 euros in unpaid invoices"
    assert NgramDetector(PRIVATE, n=5, public_text=public).find(public) == []


def test_rare_tokens_are_names_numbers_and_identifiers() -> None:
    assert is_rare("schanzenviertel", "Schanzenviertel")
    assert is_rare("200", "200") and not is_rare("2024", "2024")
    assert not is_rare("studio", "studio") and not is_rare("august", "August")
    assert is_rare("inv-2024-017", "INV-2024-017")
    detector = RareTokenDetector(PRIVATE)
    assert {h.text for h in detector.find("Brightwater owes money; see Schanzenviertel")} == {
        "Brightwater",
        "Schanzenviertel",
    }
    assert RareTokenDetector(PRIVATE, public_text="Email Brightwater").find("Brightwater") == []


def test_canaries_case_insensitive_every_occurrence() -> None:
    hits = CanaryDetector(["ZQX-canary-41"]).find("zqx-CANARY-41 and ZQX-canary-41")
    assert [(h.start, h.end) for h in hits] == [(0, 13), (18, 31)]


def test_scanner_redacts_and_restores() -> None:
    scanner = PrivacyScanner(PRIVATE, names=["Lena Fischer"], canaries=["cn-7"])
    text = "Lena, remind Brightwater Trust; reach me at lena@example.org. cn-7"
    clean, mapping = scanner.redact(text)
    assert "Lena" not in clean and "Brightwater" not in clean and "cn-7" not in clean
    assert "@" not in clean
    assert scanner.scan(clean) == []
    assert restore(clean, mapping) == text
    # typed, keyed placeholders, in the order of the text
    kinds = {
        value: re.fullmatch(r"\[([A-Z]+)_[0-9a-f]{4,}\]", key) for key, value in mapping.items()
    }
    assert all(kinds.values())
    assert kinds["Lena"][1] == "PERSON" and kinds["lena@example.org"][1] == "EMAIL"  # type: ignore[index]
    assert [clean.index(key) for key in mapping] == sorted(clean.index(key) for key in mapping)


def test_trusted_prompt_text_is_not_counted() -> None:
    template = "Example: Thomas designs bridges."
    scanner = PrivacyScanner(["Thomas keeps bees"], names=["Thomas"], trusted_texts=[template])
    assert scanner.scan(f"{template}\nNow: write about bees") == []
    assert "pii:name" in kinds(scanner.scan(f"{template}\nNow: write for Thomas"))


def test_prebuilt_index_is_equivalent() -> None:
    index = PrivateIndex.build(PRIVATE, names=["Lena Fischer"])
    text = "Lena: 3,200 euros in unpaid invoices from Brightwater"
    assert PrivacyScanner(index=index).scan(text) == PrivacyScanner(
        PRIVATE, names=["Lena Fischer"]
    ).scan(text)


def test_merge_spans() -> None:
    hits = [Hit(0, 5, "a", ""), Hit(3, 8, "b", ""), Hit(10, 12, "c", ""), Hit(12, 14, "d", "")]
    assert merge_spans(hits) == [(0, 8), (10, 14)]


def test_prefix_gate_closes_for_good_at_the_first_private_prefix() -> None:
    gate = PrefixGate(PrivacyScanner(PRIVATE))
    assert gate.allows("Dear client,", 3)
    assert not gate.allows("Dear client, Brightwater", 4)
    assert gate.closed_at == 4 and "rare_token" in kinds(gate.hits)
    assert not gate.allows("Dear client,", 5)  # stays closed
