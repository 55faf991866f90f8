from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from langchain_cogenesis.errors import StoreError
from langchain_cogenesis.privacy import AuditLog


def fill(log: AuditLog, rows: int = 4) -> None:
    for number in range(rows):
        log.record(
            user_id=f"user-{number % 2}",
            destination="http://127.0.0.1:1/v1",
            purpose="sketch",
            decision="sent" if number % 2 else "redacted",
            hits=[{"detector": "pii:email", "start": 3, "end": 9}] if number % 2 == 0 else [],
            payload=f"<human>\nOutline number {number}",
        )


def test_records_and_verifies(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    fill(log)
    entries = log.entries()
    assert [e.id for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == "0" * 64 and entries[1].prev_hash == entries[0].row_hash
    assert entries[0].hits == [{"detector": "pii:email", "start": 3, "end": 9}]
    assert [e.id for e in log.entries("user-1")] == [2, 4]
    report = AuditLog(tmp_path / "audit.sqlite3").verify()  # reopened
    assert report.ok and report.rows == 4 and report.problems == []


def tamper(path: Path, sql: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute(sql)


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("UPDATE egress SET decision = 'sent' WHERE id = 1", "row 1 was modified"),
        # rows hash the payload's sha256: an edited text no longer matches it
        (
            "UPDATE egress SET payload = 'nothing to see' WHERE id = 2",
            "row 2's payload does not match its hash",
        ),
        ("DELETE FROM egress WHERE id = 2", "rows 2..2 are missing"),
        ("DELETE FROM egress WHERE id = 4", "the log ends at row 3 but its head records row 4"),
    ],
)
def test_edits_and_deletions_are_detected(tmp_path: Path, sql: str, problem: str) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    fill(log)
    tamper(log.path, sql)
    report = log.verify()
    assert not report.ok
    assert any(problem in line for line in report.problems), report.problems


def test_recomputed_hash_still_breaks_the_chain(tmp_path: Path) -> None:
    """An editor who recomputes the edited row's own hash breaks the next row's link."""
    from langchain_cogenesis.privacy.egress.audit import _row_hash

    log = AuditLog(tmp_path / "audit.sqlite3")
    fill(log)
    row = next(iter(log._rows()))
    new_hash = _row_hash({**row, "decision": "sent"})
    tamper(log.path, f"UPDATE egress SET decision='sent', row_hash='{new_hash}' WHERE id=1")
    report = log.verify()
    assert not report.ok
    assert not any("row 1 was modified" in line for line in report.problems)
    assert any("row 2 does not link" in line for line in report.problems)


def test_hash_only_mode_keeps_no_payload(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3", store_payloads=False)
    entry = log.record(
        user_id="u", destination="d", purpose="p", decision="sent", hits=[], payload="secret"
    )
    assert entry.payload is None
    assert entry.payload_sha256 == __import__("hashlib").sha256(b"secret").hexdigest()
    assert b"secret" not in log.path.read_bytes()
    assert log.verify().ok


def test_broken_database_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    path.write_bytes(b"not a database" * 50)
    with pytest.raises(StoreError, match="not a readable SQLite database"):
        AuditLog(path)
    assert path.read_bytes() == b"not a database" * 50


def test_json_logs_carry_the_egress_decision_without_the_payload(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json
    import logging

    from langchain_cogenesis.cli.logs import configure

    configure("info", as_json=True)
    try:
        logging.getLogger("langchain_cogenesis.egress").info(
            "egress sent (sketch)", extra={"egress": {"decision": "sent", "purpose": "sketch"}}
        )
    finally:
        logging.getLogger("langchain_cogenesis").handlers.clear()
        logging.getLogger("langchain_cogenesis").propagate = True
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["logger"] == "langchain_cogenesis.egress" and line["level"] == "info"
    assert line["egress"] == {"decision": "sent", "purpose": "sketch"}


def test_retries_are_recorded_and_an_edited_attempt_number_is_caught(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    for attempt in (1, 2, 3):
        log.record(
            user_id="u", destination="d", purpose="sketch", decision="sent", hits=[],
            payload="same", attempt=attempt,
        )  # fmt: skip
    assert [entry.attempt for entry in log.entries()] == [1, 2, 3]
    assert log.verify().ok
    with sqlite3.connect(tmp_path / "audit.sqlite3") as db:
        db.execute("UPDATE egress SET attempt = 1 WHERE id = 3")
    assert "row 3 was modified" in " ".join(log.verify().problems)


def test_a_log_from_before_retries_were_recorded_still_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    log = AuditLog(path)
    log.record(user_id="u", destination="d", purpose="p", decision="sent", hits=[], payload="x")
    with sqlite3.connect(path) as db:  # the table as earlier versions created it
        db.execute("ALTER TABLE egress DROP COLUMN attempt")
    reopened = AuditLog(path)
    reopened.record(
        user_id="u", destination="d", purpose="p", decision="sent", hits=[], payload="x", attempt=2
    )
    assert [entry.attempt for entry in reopened.entries()] == [1, 2]
    assert reopened.verify().ok
