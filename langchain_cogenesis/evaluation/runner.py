"""The evaluation runner: settings × samples × seeds, judged, cached, reported.

Shaped like the paper's Table 1 (judge scores per setting) and Table 3 (win/tie/lose
against a baseline, BLEU, ROUGE-L), with one more column: the share of runs in which
private context reached the cloud, measured from the audit log of the run. Results
are cached per (setting, sample, seed) in a JSONL file, so an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_cogenesis import prompts
from langchain_cogenesis.data.dataset import DatasetRow
from langchain_cogenesis.errors import MissingExtra
from langchain_cogenesis.evaluation.judge import ASPECTS, Judge, win_tie_lose
from langchain_cogenesis.evaluation.metrics import bleu, rouge_l
from langchain_cogenesis.privacy.detection.scanner import PrivacyScanner
from langchain_cogenesis.privacy.egress.audit import SENT_DECISIONS, AuditLog
from langchain_cogenesis.schema import ContextAwareTask, UserContext, WritingMode

MODES: tuple[WritingMode, ...] = ("cloud-private", "cloud-public", "local", "sketch", "fusion")


@dataclass(frozen=True)
class Setting:
    """One column of the table: a writing mode, with fusion's first-k where given."""

    name: str
    mode: WritingMode
    first_k: int | None = None


def parse_settings(spec: str) -> list[Setting]:
    """``cloud-private,cloud-public,local,sketch,fusion,fusion-first-k=32`` → settings."""
    settings = []
    for raw in (part.strip() for part in spec.split(",")):
        if not raw:
            continue
        if raw.startswith("fusion-first-k="):
            value = raw.partition("=")[2]
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"{raw!r}: first-k must be a positive whole number")
            settings.append(Setting(raw, "fusion", int(value)))
        elif raw in MODES:
            settings.append(Setting(raw, raw))
        else:
            choices = ", ".join([*MODES, "fusion-first-k=N"])
            raise ValueError(f"unknown setting {raw!r}; choose from {choices}")
    if not settings:
        raise ValueError("no settings given")
    return settings


@dataclass(frozen=True)
class Sample:
    """One task of one user."""

    sample_id: str
    context: UserContext
    task: ContextAwareTask


def samples_of(rows: Sequence[DatasetRow], limit: int | None = None) -> list[Sample]:
    """Every task of ``rows`` with a reference, in order, at most ``limit``."""
    samples = [
        Sample(f"{row.context.user_id}#{number}", row.context, task)
        for row in rows
        for number, task in enumerate(row.tasks)
        if task.reference
    ]
    return samples[:limit] if limit is not None else samples


Writer = Callable[[Setting, Sample, int], str]
"""(setting, sample, seed) → the answer; cloud calls go through the guard and audit log."""


@dataclass
class Record:
    """One (setting, sample, seed) run: the answer, its ratings, whether it leaked."""

    setting: str
    sample_id: str
    seed: int
    answer: str
    reference: str
    ratings: dict[str, float | None]
    leaked: bool
    cloud_requests: int
    error: str = ""

    @property
    def key(self) -> str:
        """The cache key."""
        return f"{self.setting}|{self.sample_id}|{self.seed}"


class ResultCache:
    """Records in a JSONL file; a run resumes from what is there."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.records: dict[str, Record] = {}
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    try:
                        record = Record(**json.loads(line))
                    except (ValueError, TypeError):
                        continue  # a line cut by an interrupted write: run it again
                    self.records[record.key] = record

    def add(self, record: Record) -> None:
        """Keep ``record`` and append it to the file."""
        self.records[record.key] = record
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record.__dict__, ensure_ascii=False) + "\n")


def leak_scanner(sample: Sample) -> PrivacyScanner:
    """A scanner of ``sample``'s private context (the public instruction and the
    package's own prompt text are allowed)."""
    context = sample.context
    private = [
        *context.private_details,
        *context.activity_logs,
        sample.task.instruction.private_instruction,
    ]
    return PrivacyScanner(
        private,
        names=[context.profile.name] if context.profile.name else [],
        public_text=sample.task.instruction.public_instruction,
        trusted_texts=prompts.TRUSTED_TEXT,
    )


def leaked_since(audit: AuditLog, first_id: int, scanner: PrivacyScanner) -> tuple[bool, int]:
    """Whether any payload sent after entry ``first_id`` carries private context."""
    sent = [
        entry
        for entry in audit.entries()
        if entry.id > first_id and entry.decision in SENT_DECISIONS
    ]
    return any(scanner.scan(entry.payload or "") for entry in sent), len(sent)


@dataclass
class Report:
    """The aggregated results."""

    settings: list[str]
    baseline: str
    samples: int
    seeds: list[int]
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)


def evaluate(
    samples: Sequence[Sample],
    settings: Sequence[Setting],
    write: Writer,
    judge: Judge,
    audit: AuditLog,
    cache: ResultCache,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    baseline: str | None = None,
    show_progress: bool = False,
) -> Report:
    """Run (or resume) every (setting, sample, seed) and aggregate."""
    from tqdm.auto import tqdm

    from langchain_cogenesis.errors import CoGenesisError

    jobs = [(s, x, seed) for s in settings for x in samples for seed in seeds_of(s, seeds)]
    for setting, sample, seed in tqdm(jobs, desc="evaluation", disable=not show_progress):
        key = f"{setting.name}|{sample.sample_id}|{seed}"
        if key in cache.records:
            continue
        before = audit.entries()[-1].id if audit.entries() else 0
        error = ""
        try:
            answer = write(setting, sample, seed)
        except CoGenesisError as failure:
            answer, error = "", f"{type(failure).__name__}: {failure}"
        leaked, requests = leaked_since(audit, before, leak_scanner(sample))
        question = sample.task.instruction.full_instruction
        ratings: dict[str, float | None] = {aspect: None for aspect in ASPECTS}
        if answer:
            judged = judge.rate_all(
                question, answer, sample.context, instruction=sample.task.instruction
            )
            ratings = {aspect: judgement.rating for aspect, judgement in judged.items()}
        record = Record(
            setting=setting.name,
            sample_id=sample.sample_id,
            seed=seed,
            answer=answer,
            reference=sample.task.reference,
            ratings=ratings,
            leaked=leaked,
            cloud_requests=requests,
            error=error,
        )
        cache.add(record)
    return aggregate(cache, samples, settings, seeds, baseline or settings[0].name)


def seeds_of(setting: Setting, seeds: Sequence[int]) -> list[int]:
    """Fusion decodes greedily (as the paper does): one run stands for every seed."""
    return list(seeds[:1]) if setting.mode == "fusion" else list(seeds)


def _mean(values: Iterator[float | None] | Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.fmean(kept) if kept else None


def aggregate(
    cache: ResultCache,
    samples: Sequence[Sample],
    settings: Sequence[Setting],
    seeds: Sequence[int],
    baseline: str,
) -> Report:
    """Means over seeds of per-seed means over samples; win/tie/lose per sample."""
    report = Report([s.name for s in settings], baseline, len(samples), list(seeds))

    by_name = {s.name: s for s in settings}

    def records(setting: str) -> list[list[Record]]:
        runs = seeds_of(by_name[setting], seeds)
        return [
            [
                cache.records[f"{setting}|{x.sample_id}|{runs[min(i, len(runs) - 1)]}"]
                for x in samples
            ]
            for i in range(len(seeds))
        ]

    def per_sample(setting: str) -> list[float | None]:
        by_seed = records(setting)
        return [
            _mean([by_seed[s][i].ratings.get("overall") for s in range(len(seeds))])
            for i in range(len(samples))
        ]

    base = per_sample(baseline)
    for setting in report.settings:
        by_seed = records(setting)
        row: dict[str, Any] = {}
        for aspect in ASPECTS:
            row[aspect] = _mean(_mean(r.ratings.get(aspect) for r in seed) for seed in by_seed)
        row["rated"] = statistics.fmean(
            r.ratings.get("overall") is not None for seed in by_seed for r in seed
        )
        row["bleu"] = statistics.fmean(
            bleu([r.answer for r in seed], [r.reference for r in seed]) for seed in by_seed
        )
        row["rouge_l"] = statistics.fmean(
            rouge_l([r.answer for r in seed], [r.reference for r in seed]) for seed in by_seed
        )
        row["win_tie_lose"] = win_tie_lose(per_sample(setting), base)
        row["leak_rate"] = 100 * statistics.fmean(r.leaked for seed in by_seed for r in seed)
        row["errors"] = sum(bool(r.error) for seed in by_seed for r in seed)
        report.rows[setting] = row
    return report


def markdown_table(report: Report) -> str:
    """The report as a Markdown table (Table 1 and Table 3 columns, plus the leak rate)."""

    def fmt(value: float | None, digits: int = 2) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    head = (
        "| setting | overall | personalization | overall w/o profile | rated | "
        f"win/tie/lose vs {report.baseline} (%) | BLEU | ROUGE-L | leak rate (%) |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    lines = []
    for name in report.settings:
        row = report.rows[name]
        wins = "/".join(f"{v:.0f}" for v in row["win_tie_lose"])
        lines.append(
            f"| {name} | {fmt(row['overall'])} | {fmt(row['personalization'])} | "
            f"{fmt(row['overall_without_profile'])} | {100 * row['rated']:.0f}% | {wins} | "
            f"{row['bleu']:.2f} | {row['rouge_l']:.2f} | {row['leak_rate']:.0f} |"
        )
    note = (
        f"\n{report.samples} samples × {len(report.seeds)} seed(s); judge scores 1-10, means "
        "over seeds of the mean over rated samples; 'rated' is the share of answers the judge "
        "gave a [[rating]] for.\n"
    )
    return head + "\n".join(lines) + "\n" + note


def plot(report: Report, path: Path | str) -> Path:
    """A bar chart of the three judge scores per setting (matplotlib, no display)."""
    with MissingExtra.if_absent("eval", "The results figure"):
        import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    figure, axes = plt.subplots(figsize=(1.6 * len(report.settings) + 2, 3.6))
    width = 0.26
    for offset, aspect in enumerate(ASPECTS):
        values = [report.rows[name][aspect] or 0.0 for name in report.settings]
        positions = [i + (offset - 1) * width for i in range(len(report.settings))]
        axes.bar(positions, values, width, label=aspect.replace("_", " "))
    axes.set_xticks(range(len(report.settings)), report.settings, rotation=20)
    axes.set_ylim(0, 10)
    axes.set_ylabel("judge score (1-10)")
    axes.legend(fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
