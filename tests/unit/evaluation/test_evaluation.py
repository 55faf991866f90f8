"""The judge's parsing and retries, metrics against known values, the runner and its cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import BaseMessage

from langchain_cogenesis.data.dataset import load_bundled
from langchain_cogenesis.evaluation.judge import Judge, parse_rating, win_tie_lose
from langchain_cogenesis.evaluation.metrics import bleu, rouge_l
from langchain_cogenesis.evaluation.runner import (
    Record,
    ResultCache,
    Sample,
    Setting,
    evaluate,
    markdown_table,
    parse_settings,
    plot,
    samples_of,
)
from langchain_cogenesis.privacy import AuditLog, EgressGuard
from tests.cloud_servers import RecordingServer


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("Good answer. Rating: [[7]]", 7.0),
        ("[[ 6.5 ]]", 6.5),
        ("first [[3]], on reflection [[8]]", 8.0),
        ("Rating: [[11]]", None),
        ("Rating: 7/10", None),
        ("", None),
    ],
)
def test_parse_rating(text: str, rating: float | None) -> None:
    assert parse_rating(text) == rating


class Scripted:
    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.prompts: list[str] = []

    def __call__(self, messages: list[BaseMessage], attempt: int) -> str:
        self.prompts.append(str(messages[-1].text))
        return self.replies.pop(0)


SAMPLE = samples_of(load_bundled("test"), 1)[0]


def test_judge_retries_a_bounded_number_of_times() -> None:
    ask = Scripted("no number", "still none", "Rating: [[4]]")
    judgement = Judge(ask, max_attempts=3).rate("overall", "Q", "A", SAMPLE.context)
    assert (judgement.rating, judgement.attempts) == (4.0, 3)
    stubborn = Scripted("no", "no", "no", "Rating: [[9]]")
    judgement = Judge(stubborn, max_attempts=3).rate("overall", "Q", "A", SAMPLE.context)
    assert judgement.rating is None and judgement.attempts == 3
    assert len(stubborn.prompts) == 3  # the fourth reply was never asked for


def test_judge_prompts_carry_the_profile_only_where_table_9_does() -> None:
    ask = Scripted("[[5]]", "[[6]]", "[[7]]")
    ratings = Judge(ask).rate_all("Write a note", "The answer", SAMPLE.context)
    assert {k: v.rating for k, v in ratings.items()} == {
        "overall": 5.0,
        "personalization": 6.0,
        "overall_without_profile": 7.0,
    }
    detail = SAMPLE.context.private_details[0]
    with_profile, personal, without = ask.prompts
    assert detail in with_profile and detail in personal and detail not in without
    assert "The answer" in without and "[The Start of Assistant's Answer]" in without


def test_judge_through_the_guard_is_audited(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    with RecordingServer(reply="Fine. Rating: [[8]]") as server:
        guard = EgressGuard(base_url=server.base_url, model="fake", audit_log=audit)
        judgement = Judge.through(guard, max_tokens=32).rate("overall_without_profile", "Q", "A")
    assert judgement.rating == 8.0
    assert [e.purpose for e in audit.entries()] == ["judge"]


def test_metrics_against_known_values() -> None:
    assert bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100)
    # precisions 4/5, 3/4, 2/3, 1/2 and no brevity penalty: (0.2) ** 0.25
    assert bleu(["a b c d e"], ["a b c d f"]) == pytest.approx(100 * 0.2**0.25, abs=0.01)
    # LCS 3 of 3 and 4 tokens: P = 1, R = 3/4, F = 6/7
    assert rouge_l(["the cat sat"], ["the cat sat on"]) == pytest.approx(100 * 6 / 7)
    assert rouge_l(["x y"], ["a b"]) == 0.0
    with pytest.raises(ValueError):
        bleu(["a"], [])


def test_win_tie_lose() -> None:
    assert win_tie_lose([8, 5, 3, None], [6, 5, 4, 2]) == pytest.approx((100 / 3,) * 3)
    assert win_tie_lose([None], [1]) == (0.0, 0.0, 0.0)


def test_parse_settings() -> None:
    settings = parse_settings("cloud-private, local,fusion-first-k=32")
    assert settings == [
        Setting("cloud-private", "cloud-private"),
        Setting("local", "local"),
        Setting("fusion-first-k=32", "fusion", 32),
    ]
    for bad in ("magic", "fusion-first-k=0", ""):
        with pytest.raises(ValueError):
            parse_settings(bad)


def fake_writer(audit: AuditLog, calls: list[str]) -> object:
    """``cloud-private`` sends a private detail (as that setting does); others send the task."""

    def write(setting: Setting, sample: Sample, seed: int) -> str:
        calls.append(f"{setting.name}|{sample.sample_id}|{seed}")
        if setting.mode != "local":
            payload = sample.task.instruction.public_instruction
            if setting.mode == "cloud-private":
                payload += "\n" + sample.context.private_details[1]
            audit.record(
                user_id=sample.context.user_id, destination="x", purpose="answer",
                decision="sent", hits=[], payload=payload,
            )  # fmt: skip
        return sample.task.reference if setting.mode == "cloud-private" else "A plain answer."

    return write


def test_runner_measures_leaks_caches_and_resumes(tmp_path: Path) -> None:
    samples = samples_of(load_bundled("test"), 3)
    settings = parse_settings("cloud-private,cloud-public,local")
    audit = AuditLog(tmp_path / "audit.sqlite3")
    calls: list[str] = []
    judge = Judge(lambda messages, attempt: "Rating: [[6]]")
    cache = ResultCache(tmp_path / "cache.jsonl")
    report = evaluate(
        samples,
        settings,
        fake_writer(audit, calls),
        judge,
        audit,
        cache,
        seeds=(0, 1),  # type: ignore[arg-type]
    )
    assert len(calls) == 3 * 3 * 2
    private, public, local = (report.rows[s.name] for s in settings)
    assert private["leak_rate"] == 100 and public["leak_rate"] == 0 and local["leak_rate"] == 0
    assert private["rouge_l"] == pytest.approx(100) and public["rouge_l"] < 20
    assert private["overall"] == 6.0 and public["win_tie_lose"] == (0.0, 100.0, 0.0)

    # an interrupted run: the last line was cut; only that one runs again
    lines = (tmp_path / "cache.jsonl").read_text().splitlines()
    (tmp_path / "cache.jsonl").write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:30])
    calls.clear()
    resumed = evaluate(
        samples, settings, fake_writer(audit, calls), judge, audit,
        ResultCache(tmp_path / "cache.jsonl"), seeds=(0, 1),  # type: ignore[arg-type]
    )  # fmt: skip
    assert calls == ["local|" + samples[-1].sample_id + "|1"]
    assert resumed.rows == report.rows
    table = markdown_table(report)
    assert (
        "| cloud-private |" in table
        and "leak rate" in table
        and "win/tie/lose vs cloud-private" in table
    )
    assert plot(report, tmp_path / "results.png").stat().st_size > 5_000


def test_errors_are_recorded_not_fatal(tmp_path: Path) -> None:
    from langchain_cogenesis.errors import CloudUnavailable

    def failing(setting: Setting, sample: Sample, seed: int) -> str:
        raise CloudUnavailable("down")

    cache = ResultCache(tmp_path / "cache.jsonl")
    report = evaluate(
        samples_of(load_bundled("test"), 1), parse_settings("sketch"), failing,
        Judge(lambda m, a: "[[5]]"), AuditLog(tmp_path / "a.sqlite3"), cache, seeds=(0,),
    )  # fmt: skip
    assert report.rows["sketch"]["errors"] == 1 and report.rows["sketch"]["overall"] is None
    assert isinstance(next(iter(cache.records.values())), Record)


def test_greedy_fusion_runs_once_for_every_seed(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    calls: list[str] = []
    samples = samples_of(load_bundled("test"), 2)
    report = evaluate(
        samples, parse_settings("local,fusion-first-k=8"), fake_writer(audit, calls),  # type: ignore[arg-type]
        Judge(lambda m, a: "[[5]]"), audit, ResultCache(tmp_path / "c.jsonl"), seeds=(0, 1, 2),
    )  # fmt: skip
    assert sum(c.startswith("fusion-first-k=8|") for c in calls) == 2  # one per sample
    assert sum(c.startswith("local|") for c in calls) == 6
    assert report.rows["fusion-first-k=8"]["overall"] == 5.0


def test_the_packages_own_prompt_text_is_not_counted_as_a_leak() -> None:
    from langchain_cogenesis import prompts
    from langchain_cogenesis.evaluation.runner import leak_scanner
    from langchain_cogenesis.schema import ContextAwareInstruction, ContextAwareTask, UserContext

    # the paper's Table 8 examples come from its released data: a sample can match one
    example = next(iter(prompts.SKETCH_EXAMPLES.values()))
    task_line = next(line for line in example.splitlines() if line.startswith("[Task1]: "))
    public, _, private = task_line.removeprefix("[Task1]: ").partition(": ")
    sample = Sample(
        "s#0",
        UserContext(user_id="u", private_details=["Owes 1,840 dollars on the garden card"]),
        ContextAwareTask(instruction=ContextAwareInstruction(
            public_instruction=public, private_instruction=private)),
    )  # fmt: skip
    scanner = leak_scanner(sample)
    assert scanner.scan(example) == []
    assert scanner.scan(f"{public}: {private} and more") != []  # sent outside the prompt: a leak
