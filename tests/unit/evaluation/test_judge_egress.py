"""The cloud judge passes the same decision and audit log as every other payload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langchain_cogenesis.cli import build_parser, main
from langchain_cogenesis.data.dataset import load_bundled
from langchain_cogenesis.errors import PrivacyViolation, PrivateJudgeRefused
from langchain_cogenesis.evaluation.judge import Judge, judge_scanner
from langchain_cogenesis.evaluation.runner import samples_of
from langchain_cogenesis.privacy import AuditLog, EgressGuard
from tests.cloud_servers import RecordingServer

SAMPLE = samples_of(load_bundled("test"), 1)[0]
CONTEXT = SAMPLE.context
INSTRUCTION = SAMPLE.task.instruction
DETAIL = CONTEXT.private_details[0]


def guard_to(server: RecordingServer, audit: AuditLog) -> EgressGuard:
    return EgressGuard(base_url=server.base_url, model="fake", audit_log=audit, max_retries=0)


def test_without_the_opt_in_private_context_is_refused_and_audited(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    with RecordingServer(reply="Rating: [[8]]") as server:
        judge = Judge.through(guard_to(server, audit), max_tokens=16)
        with pytest.raises(PrivateJudgeRefused) as refused:
            judge.rate("overall", INSTRUCTION.full_instruction, "An answer.", CONTEXT,
                       instruction=INSTRUCTION)  # fmt: skip
    assert server.requests == []  # nothing reached the cloud
    assert isinstance(refused.value, PrivacyViolation)
    assert "--judge local" in str(refused.value) and "--allow-private-judge" in str(refused.value)
    assert DETAIL not in str(refused.value)
    [row] = audit.entries()
    assert (row.purpose, row.decision, row.user_id) == ("judge", "blocked", CONTEXT.user_id)
    assert row.hits and row.payload is None
    assert DETAIL.encode() not in audit.path.read_bytes()


def test_with_the_opt_in_it_is_sent_and_recorded_as_such(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    with RecordingServer(reply="Rating: [[8]]") as server:
        judge = Judge.through(guard_to(server, audit), max_tokens=16, allow_private_context=True)
        judgement = judge.rate("personalization", INSTRUCTION.full_instruction, "An answer.",
                               CONTEXT, instruction=INSTRUCTION)  # fmt: skip
    assert judgement.rating == 8.0
    # the control: the recorder sees the private detail that was allowed out
    assert DETAIL.encode() in server.all_bytes()
    [row] = audit.entries()
    assert (row.purpose, row.decision, row.user_id) == (
        "judge", "sent_with_private_context", CONTEXT.user_id,
    )  # fmt: skip
    assert {hit["detector"] for hit in row.hits} and DETAIL in (row.payload or "")


def test_redaction_sends_placeholders_instead_of_the_private_context(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    with RecordingServer(reply="Rating: [[5]]") as server:
        judge = Judge.through(guard_to(server, audit), max_tokens=16, policy="redact")
        judge.rate("overall", INSTRUCTION.full_instruction, "An answer.", CONTEXT,
                   instruction=INSTRUCTION)  # fmt: skip
    sent = server.all_bytes().decode()
    assert server.chat_requests and DETAIL not in sent and "PRIVATE" in sent
    assert [row.decision for row in audit.entries()] == ["redacted"]


def test_a_public_judge_request_is_sent_plainly(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    with RecordingServer(reply="Fine. [[7]]") as server:
        judge = Judge.through(guard_to(server, audit), max_tokens=16)
        assert judge.rate("overall_without_profile", "Write a haiku", "Autumn rain").rating == 7.0
    assert [row.decision for row in audit.entries()] == ["sent"]


def test_the_judge_scanner_covers_profile_history_details_and_private_part() -> None:
    scanner = judge_scanner(CONTEXT, INSTRUCTION)
    private = [DETAIL, CONTEXT.writing_history[0].text, CONTEXT.profile.name]
    if INSTRUCTION.private_instruction:
        private.append(INSTRUCTION.private_instruction)
    for text in private:
        assert scanner.scan(text), text
    assert not scanner.scan(INSTRUCTION.public_instruction)


def test_eval_cli_requires_the_opt_in_for_a_cloud_judge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parsed = build_parser().parse_args(["eval", "--judge", "cloud", "--allow-private-judge"])
    assert parsed.allow_private_judge is True
    assert build_parser().parse_args(["eval"]).allow_private_judge is False
    out = tmp_path / "out"
    code = main(["--home", str(tmp_path), "eval", "--limit", "1", "--out", str(out)])
    assert code == 2
    error = capsys.readouterr().err
    assert "--judge local" in error and "--allow-private-judge" in error
    assert not out.exists()  # refused before any work


def test_eval_audits_the_judge_in_the_evaluation_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cogenesis eval --judge cloud --allow-private-judge` with a writer that needs no model."""
    import langchain_cogenesis.graphs.evaluate as graphs_evaluate

    monkeypatch.setattr(
        graphs_evaluate, "graph_writer", lambda *args, **kwargs: lambda s, x, seed: "An answer."
    )
    out = tmp_path / "out"
    with RecordingServer(reply="Rating: [[6]]") as server:
        monkeypatch.setenv("COGENESIS_CLOUD_BASE_URL", server.base_url)
        code = main([
            "--home", str(tmp_path), "eval", "--limit", "1", "--seeds", "0",
            "--settings", "local", "--judge", "cloud", "--allow-private-judge",
            "--out", str(out),
        ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    rows = AuditLog(out / "audit.sqlite3").entries()
    assert [row.purpose for row in rows] == ["judge"] * 3
    assert {row.decision for row in rows} <= {"sent", "sent_with_private_context"}
    assert "sent_with_private_context" in {row.decision for row in rows}
    record = json.loads((out / "cache.jsonl").read_text().splitlines()[0])
    assert record["ratings"]["overall"] == 6.0
