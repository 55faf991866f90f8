"""The one decision function, the audit of what it decided, and the tracer view."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from langchain_cogenesis.errors import LocalOnly, PrivacyViolation
from langchain_cogenesis.privacy import AuditLog, EgressGuard, PrivacyScanner
from langchain_cogenesis.privacy.detection.detectors import Hit
from langchain_cogenesis.privacy.egress.decision import (
    PublicRecord,
    decide,
    is_public,
    mark_public,
    policy_for,
    recording,
    tracer_view,
)
from langchain_cogenesis.privacy.keys import install_secret, keyed_digest

CANARY = "QUILL-7731-ZEPHYR"
SCANNER = PrivacyScanner(canaries=[CANARY])
PUBLIC = "Write a short welcome note for new neighbours."


def test_clean_payload_is_sent_as_it_is() -> None:
    verdict = decide([("human", PUBLIC)], SCANNER)
    assert verdict.decision == "sent"
    assert verdict.outbound == [("human", PUBLIC)]
    assert verdict.sendable and not verdict.hits


def test_redact_replaces_the_span_and_keeps_the_value_local() -> None:
    text = f"{PUBLIC} Mention the code {CANARY}."
    verdict = decide([("system", "Be brief."), ("human", text)], SCANNER)
    assert verdict.decision == "redacted"
    sent = verdict.payload_text()
    assert CANARY not in sent and "Mention the code" in sent
    assert CANARY in verdict.redactions.values()
    assert verdict.outbound[0] == ("system", "Be brief.")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("block", "blocked"),
        ("local_only", "local_only"),
        ({"canary": "block", "*": "redact"}, "redacted"),
        ({"pii": "local_only", "*": "redact"}, "local_only"),
        ({"pii:email": "redact", "pii": "block"}, "redacted"),
    ],
)
def test_policy_per_detector_type(rule: object, expected: str) -> None:
    verdict = decide([("human", f"{PUBLIC} Reply to ana.lopes@example.org")], SCANNER, policy=rule)  # type: ignore[arg-type]
    assert verdict.decision == expected
    if expected != "redacted":
        assert not verdict.sendable
        # a refused payload is reported as given: it never leaves, so nothing is replaced
        assert "ana.lopes@example.org" in verdict.payload_text()


def test_strictest_outcome_wins_over_a_payload() -> None:
    text = f"Code {CANARY}, mail ana.lopes@example.org"
    rule = {"canary": "local_only", "pii": "block"}
    assert decide([("human", text)], SCANNER, policy=rule).decision == "blocked"  # type: ignore[arg-type]
    assert policy_for("entity:HEALTH", {"entity": "local_only"}) == "local_only"
    assert policy_for("entity:HEALTH", {"*": "block"}) == "block"
    assert policy_for("ngram", {"pii": "block"}) == "redact"


def test_unknown_policy_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="policy must be one of"):
        decide([("human", PUBLIC)], SCANNER, policy={"*": "shred"})  # type: ignore[dict-item]


def test_allow_private_is_recorded_as_such() -> None:
    verdict = decide([("human", CANARY)], SCANNER, allow_private=True)
    assert verdict.decision == "sent_with_private_context"
    assert verdict.outbound == [("human", CANARY)]


def test_not_redactable_payload_is_blocked() -> None:
    verdict = decide([("prompt", f"so far: {CANARY}")], SCANNER, redactable=False)
    assert verdict.decision == "blocked"
    with pytest.raises(PrivacyViolation, match="mid-decoding"):
        verdict.raise_unless_sendable("fusion-step")


class _FirstCharacter:
    """Flags the first character of any text: redaction can never get rid of it."""

    name = "stubborn"

    def find(self, text: str) -> list[Hit]:
        return [Hit(0, 1, self.name, text[:1])] if text else []


def test_private_content_left_after_redaction_blocks() -> None:
    scanner = PrivacyScanner()
    scanner.detectors.append(_FirstCharacter())
    verdict = decide([("human", PUBLIC)], scanner)
    assert verdict.decision == "blocked"
    assert verdict.remaining
    with pytest.raises(PrivacyViolation, match="remained after redaction"):
        verdict.raise_unless_sendable("sketch")


def test_local_only_raises_local_only() -> None:
    verdict = decide([("human", CANARY)], SCANNER, policy="local_only")
    with pytest.raises(LocalOnly):
        verdict.raise_unless_sendable("sketch")


def test_guard_audits_a_refused_payload_without_its_text(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    # nothing listens there: a payload that were sent would fail with CloudUnavailable
    guard = EgressGuard(base_url="http://127.0.0.1:9/v1", model="m", audit_log=log)
    message = HumanMessage(f"{PUBLIC} Code {CANARY}.")
    for policy, error in (("block", PrivacyViolation), ("local_only", LocalOnly)):
        with pytest.raises(error):
            guard.chat([message], purpose="sketch", max_tokens=8, scanner=SCANNER, policy=policy)  # type: ignore[arg-type]
    rows = log.entries()
    assert [row.decision for row in rows] == ["blocked", "local_only"]
    assert all(row.payload is None and len(row.payload_sha256) == 64 for row in rows)
    assert CANARY.encode() not in (tmp_path / "audit.sqlite3").read_bytes()
    assert log.verify().ok
    assert not guard.history


def test_tracer_view_shows_public_text_and_digests_the_rest(tmp_path: Path) -> None:
    private = f"Ana's code is {CANARY}"
    view = tracer_view(private)
    assert CANARY not in view and view.startswith("[private:")
    assert tracer_view(private) == view  # stable within an install
    mark_public([PUBLIC])  # outside any private run: nothing is kept
    assert not is_public(PUBLIC) and tracer_view(PUBLIC) != PUBLIC
    with recording(PublicRecord()):
        mark_public([PUBLIC])
        assert is_public(PUBLIC) and tracer_view(PUBLIC) == PUBLIC
        with recording(PublicRecord()):  # another run's record knows nothing of it
            assert not is_public(PUBLIC) and tracer_view(PUBLIC) != PUBLIC
    assert not is_public(PUBLIC)


def test_a_record_is_bounded_oldest_first() -> None:
    record = PublicRecord(limit=2)
    record.add(["a", "b", "", "c"])
    assert "a" not in record and "b" in record and "c" in record and len(record) == 2


def test_install_secret_is_private_and_per_install(tmp_path: Path) -> None:
    first = install_secret(tmp_path / "a")
    assert len(first) == 32 and install_secret(tmp_path / "a") == first
    mode = stat.S_IMODE((tmp_path / "a" / "secret.key").stat().st_mode)
    assert mode == 0o600
    second = install_secret(tmp_path / "b")
    assert keyed_digest("Ana", purpose="p", secret=first) != keyed_digest(
        "Ana", purpose="p", secret=second
    )
    assert keyed_digest("Ana", purpose="p", secret=first) != keyed_digest(
        "Ana", purpose="q", secret=first
    )
