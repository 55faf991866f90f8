"""Quality that tells settings apart on a CPU, per model family.

For each family (the model on both sides: local model and the stand-in cloud) and
each of the first ``--samples`` tasks of the authors' dev split:

- reference NLL (nats per token of the reference's first ``--nll-tokens`` tokens)
  under the local model conditioned as each setting conditions it: no context,
  private context, context + the cloud's sketch, context + an oracle sketch taken
  from the reference; plus the sketch variants measured to choose the prompt
  (datamarked instead of fenced only; a shorter sketch);
- answers of the ``local`` and ``sketch`` settings (same prompts as the graph's
  write step, ``--gen-tokens`` tokens, the cloud's sketch through the egress guard
  from the stand-in), scored with ROUGE-L and BLEU against the reference;
- a grammar-constrained judge (the family's model, in process) on known pairs: a
  reference against a truncated and a word-shuffled copy of itself.

Every figure comes with a 95% bootstrap interval; differences between settings use
a paired bootstrap over the same samples. Per-sample records are cached in
``$COGENESIS_HOME/bench/quality-cache.jsonl`` (an interrupted run resumes), and the
private store of the dev users in ``$COGENESIS_HOME/bench/quality-store``.

``--json PATH`` writes the figures (``bench/run_all.py quality`` puts them in
``bench/results.json``); ``--docs`` rewrites ``docs/results.md`` from
``bench/results.json`` without running anything.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from _common import DEV_SPLIT

from langchain_cogenesis import prompts
from langchain_cogenesis.config import Settings
from langchain_cogenesis.data.dataset import load_dataset
from langchain_cogenesis.errors import CloudUnavailable, CoGenesisError
from langchain_cogenesis.evaluation.judge import Judge, known_pair_accuracy
from langchain_cogenesis.evaluation.likelihood import (
    ReferenceLikelihood,
    condition_messages,
    oracle_sketch,
)
from langchain_cogenesis.evaluation.metrics import (
    bleu_interval,
    mean_interval,
    paired_bleu_difference,
    paired_difference,
    rouge_l_per_sample,
)
from langchain_cogenesis.evaluation.runner import Sample, samples_of

BENCH = Path(__file__).resolve().parent
SHORT_SKETCH_LINES = 6
MEASURES_VERSION = 2  # bump when a measure changes: cached records are then redone
NLL_ROWS = (
    # (name, condition, datamarked, sketch lines kept)
    ("no-context", "no-context", False, None),
    ("context", "context", False, None),
    ("sketch", "sketch", False, None),
    ("sketch-datamarked", "sketch", True, None),
    ("sketch-short", "sketch", False, SHORT_SKETCH_LINES),
    ("oracle-sketch", "oracle-sketch", False, None),
    ("oracle-sketch-datamarked", "oracle-sketch", True, None),
)
DIFFERENCES = (
    # (name, ours, baseline): negative NLL differences mean ours explains the reference better
    ("context vs no-context", "context", "no-context"),
    ("sketch vs context", "sketch", "context"),
    ("oracle-sketch vs context", "oracle-sketch", "context"),
    ("sketch-datamarked vs sketch", "sketch-datamarked", "sketch"),
    ("sketch-short vs sketch", "sketch-short", "sketch"),
    ("oracle-sketch-datamarked vs oracle-sketch", "oracle-sketch-datamarked", "oracle-sketch"),
)


def family_model(family: str) -> Path:
    from langchain_cogenesis.models import bundled_model_path, smollm2_model_path

    if family == "gemma":
        return bundled_model_path(Settings.from_env().model_cache)
    if family == "smollm2":
        return smollm2_model_path()
    raise SystemExit(f"unknown family {family!r}; choose gemma or smollm2")


def renderer(model_path: Path) -> Callable[[list[Any]], str]:
    """The model's own chat template (from its GGUF), as the graphs use it."""
    from langchain_cogenesis.models.templates import chat_template_for

    return chat_template_for(model_path).render


def first_lines(text: str, lines: int | None) -> str:
    return text if lines is None else "\n".join(text.strip().splitlines()[:lines])


class Cache:
    """Per-sample records in a JSONL file, keyed by family, sample and options."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, dict[str, Any]] = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a line cut by an interrupted write
                self.records[record["key"]] = record

    def add(self, record: dict[str, Any]) -> None:
        self.records[record["key"]] = record
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def measure_sample(
    sample: Sample,
    store: Any,
    guard: Any,
    likelihood: ReferenceLikelihood,
    options: argparse.Namespace,
) -> dict[str, Any]:
    """Sketch, NLL under every condition, and the two settings' answers for one task."""
    instruction, reference = sample.task.instruction, sample.task.reference
    if not store.has_user(sample.context.user_id):
        store.add_user_context(sample.context)
    context = store.search(sample.context.user_id, instruction.full_instruction, k=options.k)
    started = time.perf_counter()
    try:  # the graph's sketch step: the public part only, through the guard
        if guard is None:
            raise CloudUnavailable("the stand-in did not start")
        question = prompts.sketch_question(instruction.kind, instruction.public_instruction)
        reply = guard.chat(
            prompts.sketch_prompt(instruction.kind).format_messages(question=question),
            purpose="sketch",
            max_tokens=options.sketch_tokens,
            stop=prompts.SKETCH_STOP,
        )
        sketch, sketch_error = reply.text.strip(), ""
    except CoGenesisError as failure:
        sketch, sketch_error = "", f"{type(failure).__name__}: {failure}"
    sketch_seconds = time.perf_counter() - started
    nll: dict[str, dict[str, float]] = {}
    started = time.perf_counter()
    for name, condition, datamark, lines in NLL_ROWS:
        messages = condition_messages(
            condition,  # type: ignore[arg-type]
            instruction,
            context,
            sketch=first_lines(sketch, lines),
            reference=reference,
            datamark=datamark,
        )
        score = likelihood.score_messages(messages, reference, max_tokens=options.nll_tokens)
        nll[name] = {"sum": score.nll_sum, "tokens": score.tokens, "chars": score.characters}
    nll_seconds = time.perf_counter() - started
    answers, generated, gen_seconds = {}, 0, 0.0
    for setting, with_sketch in (("local", ""), ("sketch", sketch)):
        messages = prompts.writer_messages(
            instruction.kind, instruction.full_instruction, context, with_sketch
        )
        started = time.perf_counter()
        completion: Any = likelihood.llama.create_completion(
            likelihood.render(messages),
            max_tokens=options.gen_tokens,
            temperature=0.7,
            top_p=0.9,
            repeat_penalty=1.15,
            seed=options.seed,
        )
        gen_seconds += time.perf_counter() - started
        answers[setting] = str(completion["choices"][0]["text"]).strip()
        generated += int(completion["usage"]["completion_tokens"])
    return {
        "sample_id": sample.sample_id,
        "reference": reference,
        "sketch": sketch,
        "sketch_error": sketch_error,
        "oracle_sketch": oracle_sketch(reference),
        "nll": nll,
        "answers": answers,
        "generated_tokens": generated,
        "timings": {"sketch": sketch_seconds, "nll": nll_seconds, "generate": gen_seconds},
    }


def run_family(
    family: str,
    samples: list[Sample],
    store: Any,
    cache: Cache,
    options: argparse.Namespace,
    budget_minutes: float,
) -> dict[str, Any]:
    from tqdm.auto import tqdm

    from langchain_cogenesis.models import StandInCloud
    from langchain_cogenesis.privacy import EgressGuard

    # "gemma" = the family on both sides; "gemma+smollm2" = local gemma, cloud smollm2
    local_family, _, cloud_family = family.partition("+")
    model_path = family_model(local_family)
    cloud_path = family_model(cloud_family or local_family)
    likelihood = ReferenceLikelihood(model_path, n_ctx=4096, render=renderer(model_path))
    tag = hashlib.sha256(
        json.dumps([options.nll_tokens, options.gen_tokens, options.sketch_tokens, options.k,
                    options.seed, prompts.SKETCH_SECTION, SHORT_SKETCH_LINES,
                    MEASURES_VERSION]).encode()
    ).hexdigest()[:10]  # fmt: skip
    todo = [x for x in samples if f"{family}|{x.sample_id}|{tag}" not in cache.records]
    deadline = time.monotonic() + 60 * budget_minutes
    if todo:
        with ExitStack() as stack:
            try:
                standin = stack.enter_context(StandInCloud(cloud_path, n_ctx=2048))
                guard: Any = EgressGuard(
                    base_url=standin.base_url, model=standin.model, audit_log=None
                )
            except CoGenesisError as failure:  # measured without sketches, and said so
                print(f"{family}: the stand-in did not start ({failure})")
                guard = None
            for sample in tqdm(todo, desc=f"quality {family}"):
                if time.monotonic() > deadline:
                    print(f"{family}: time budget spent; figures over the samples done")
                    break
                record = measure_sample(sample, store, guard, likelihood, options)
                cache.add({"key": f"{family}|{sample.sample_id}|{tag}", **record})
    keys = [f"{family}|{x.sample_id}|{tag}" for x in samples]
    records = [cache.records[key] for key in keys if key in cache.records]
    judges = {
        "greedy digit": Judge.with_grammar(
            likelihood.llama, render=likelihood.render, max_attempts=1
        ),
        "expected rating": Judge.with_expected_rating(likelihood, max_attempts=1),
    }
    pairs = samples[: options.judge_pairs]  # the judge's part is outside the budget
    questions = [x.task.instruction.full_instruction for x in pairs]
    references = [x.task.reference for x in pairs]
    started = time.perf_counter()
    accuracy = {
        f"{how} ({name})": known_pair_accuracy(
            judge, questions, references, how, max_words=options.judge_words
        ).__dict__
        for name, judge in judges.items()
        for how in ("truncated", "shuffled")
    }
    judge_seconds = time.perf_counter() - started
    summary = summarize(family, model_path, records, accuracy, judge_seconds)
    return {**summary, "cloud_model": cloud_path.name}


def summarize(
    family: str,
    model_path: Path,
    records: list[dict[str, Any]],
    judge: dict[str, dict[str, int]],
    judge_seconds: float,
) -> dict[str, Any]:
    def per_token(name: str) -> list[float]:
        return [r["nll"][name]["sum"] / max(1, r["nll"][name]["tokens"]) for r in records]

    nll = {name: mean_interval(per_token(name)).as_dict() for name, *_ in NLL_ROWS}
    nll_per_char = {
        name: sum(r["nll"][name]["sum"] for r in records)
        / max(1, sum(r["nll"][name]["chars"] for r in records))
        for name, *_ in NLL_ROWS
    }
    differences = {
        label: paired_difference(per_token(ours), per_token(base)).as_dict()
        for label, ours, base in DIFFERENCES
    }
    references = [r["reference"] for r in records]
    local = [r["answers"]["local"] for r in records]
    sketch = [r["answers"]["sketch"] for r in records]
    rouge = {name: rouge_l_per_sample(answers, references)
             for name, answers in (("local", local), ("sketch", sketch))}  # fmt: skip
    generated = sum(r["generated_tokens"] for r in records)
    seconds = sum(r["timings"]["generate"] for r in records)
    for how in judge:
        judge[how]["accuracy"] = judge[how]["correct"] / max(1, judge[how]["pairs"])
    return {
        "model": model_path.name,
        "samples": len(records),
        "sketch_failures": sum(bool(r["sketch_error"]) for r in records),
        "nll_per_token": nll,
        "nll_per_character": nll_per_char,
        "nll_differences": differences,
        "rouge_l": {name: mean_interval(values).as_dict() for name, values in rouge.items()},
        "rouge_l_sketch_vs_local": paired_difference(rouge["sketch"], rouge["local"]).as_dict(),
        "bleu": {
            "local": bleu_interval(local, references, resamples=500).as_dict(),
            "sketch": bleu_interval(sketch, references, resamples=500).as_dict(),
        },
        "bleu_sketch_vs_local": paired_bleu_difference(
            sketch, local, references, resamples=500
        ).as_dict(),
        "generation_tokens_per_second": generated / seconds if seconds else 0.0,
        "seconds": {
            "sketch": sum(r["timings"]["sketch"] for r in records),
            "nll": sum(r["timings"]["nll"] for r in records),
            "generate": seconds,
            "judge": judge_seconds,
        },
        "judge_known_pairs": judge,
        # per sample, so that two families measured on the same samples compare paired
        "per_sample": {
            "sample_ids": [r["sample_id"] for r in records],
            "rouge_l": rouge,
            "nll_per_character_context": [
                r["nll"]["context"]["sum"] / max(1, r["nll"]["context"]["chars"]) for r in records
            ],
        },
        "examples": {
            "sample_id": records[0]["sample_id"],
            "sketch": records[0]["sketch"],
            "oracle_sketch": records[0]["oracle_sketch"],
            "local": local[0][:400],
            "sketch_answer": sketch[0][:400],
        },
    }


def interval(row: dict[str, float], digits: int = 2) -> str:
    return f"{row['estimate']:.{digits}f} [{row['low']:.{digits}f}, {row['high']:.{digits}f}]"


def print_figures(figures: dict[str, Any]) -> None:
    for family, row in figures["families"].items():
        print(f"{family} ({row['model']}), {row['samples']} dev samples")
        print("  reference NLL per token (95% CI):")
        for name, value in row["nll_per_token"].items():
            print(f"    {name:<26} {interval(value, 3)}")
        for label, value in row["nll_differences"].items():
            print(f"    diff {label:<40} {interval(value, 3)}")
        for setting in ("local", "sketch"):
            print(f"  {setting:<7} ROUGE-L {interval(row['rouge_l'][setting])}  "
                  f"BLEU {interval(row['bleu'][setting])}")  # fmt: skip
        print(f"  sketch - local: ROUGE-L {interval(row['rouge_l_sketch_vs_local'])}, "
              f"BLEU {interval(row['bleu_sketch_vs_local'])}")  # fmt: skip
        print(f"  generation {row['generation_tokens_per_second']:.1f} tok/s")
        for how, result in row["judge_known_pairs"].items():
            print(f"  judge vs {how} copy: accuracy {result['accuracy']:.2f} "
                  f"({result['correct']}/{result['pairs']}, ties {result['ties']}, "
                  f"unrated {result['unrated']})")  # fmt: skip


def _verdict(row: dict[str, Any], label: str, unit: str = "nats") -> str:
    value = row.get(label, row)
    span = interval(value, 3)
    if value["high"] < 0:
        return f"{span} {unit}: lower, the interval excludes zero"
    if value["low"] > 0:
        return f"{span} {unit}: higher, the interval excludes zero"
    return f"{span} {unit}: the interval includes zero, no difference shown"


def results_page(results: dict[str, Any]) -> str:
    """docs/results.md from bench/results.json (its ``quality`` and ``fusion`` entries)."""
    entry = results["benchmarks"]["quality"]
    run, options = entry["run"], entry["options"]
    families = entry["families"]
    machine = run["machine"]
    lines = [
        "# Results on the embedded defaults",
        "",
        "Generated by `python bench/quality.py --docs` from `bench/results.json` (the run of "
        f"{run['when']}, {machine['cpu_count']} CPU cores, {machine['processor']}); "
        "`python bench/run_all.py quality` measures again. A family is the model on "
        "both sides: the local model and the stand-in cloud that writes the sketch; "
        "`A+B` has A's model local and B's behind the stand-in. "
        "Samples: the first tasks of the authors' dev split "
        f"({entry['dataset']}; "
        + ", ".join(f"{row['samples']} for {family}" for family, row in families.items())
        + f", as many as a time budget of {options['minutes']:.0f} minutes allowed). "
        "Intervals are 95% bootstrap intervals over samples; differences between "
        "settings use a paired bootstrap."
        + (
            " **With this few samples ("
            + ", ".join(name for name, row in families.items() if row["samples"] < 20)
            + ") the intervals cannot rank the settings**: a run on a busy machine gets "
            "through few samples in its budget; measure again with a larger `--minutes` "
            "(the cache keeps what is done)."
            if min(row["samples"] for row in families.values()) < 20
            else ""
        ),
        "",
        "## Reference likelihood (judge-free)",
        "",
        f"Mean negative log-likelihood per token of the reference's first "
        f"{options['nll_tokens']} tokens under the local model, prompted as each setting "
        "prompts it (the graphs' own prompt builders); lower is better. `oracle-sketch` "
        "is a sketch taken from the reference itself (the opening words of each of its "
        "sentences), the bound of what a better cloud could give; the `-datamarked` and "
        f"`-short` rows ({SHORT_SKETCH_LINES} lines) are the sketch variants measured "
        "to choose the prompt. NLL per character compares families (their tokenizers "
        "differ).",
        "",
        "| condition | " + " | ".join(f"{f} NLL/token | {f} NLL/char" for f in families) + " |",
        "| --- |" + " --- | --- |" * len(families),
    ]
    for name, *_ in NLL_ROWS:
        cells = [
            f"{interval(row['nll_per_token'][name], 3)} | {row['nll_per_character'][name]:.3f}"
            for row in families.values()
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Paired differences (first minus second; negative: the first explains "
              "the reference better):", "",
              "| difference | " + " | ".join(families) + " |",
              "| --- |" + " --- |" * len(families)]  # fmt: skip
    for label, *_ in DIFFERENCES:
        cells = [interval(row["nll_differences"][label], 3) for row in families.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Word overlap of generated answers",
        "",
        f"Answers of the `local` and `sketch` settings ({options['gen_tokens']} tokens at "
        "most, temperature 0.7, the graph's write prompt; the sketch from the stand-in "
        f"through the egress guard, {options['sketch_tokens']} tokens at most), against "
        "the references.",
        "",
        "| family | setting | ROUGE-L | BLEU | generation tok/s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for family, row in families.items():
        for setting in ("local", "sketch"):
            lines.append(
                f"| {family} | {setting} | {interval(row['rouge_l'][setting])} | "
                f"{interval(row['bleu'][setting])} | "
                f"{row['generation_tokens_per_second']:.1f} |"
            )
        lines.append(
            f"| {family} | sketch − local | {interval(row['rouge_l_sketch_vs_local'])} | "
            f"{interval(row['bleu_sketch_vs_local'])} | |"
        )
    lines += [
        "",
        "## The judge on pairs whose order is known",
        "",
        "The family's own model as Table 9's judge (overall, without profile), read two "
        "ways: the greedy digit of an output constrained by a llama.cpp grammar to "
        "`Rating: [[N]]` (every call rates), and the expected rating, the average of "
        "1-9 weighted by the model's probabilities for the digit after `Rating: [[`; "
        f"on {options['judge_pairs']} reference(s) cut to {options['judge_words']} words, "
        "against a copy cut to its first third and a copy with its words shuffled. "
        "Accuracy: the reference rated strictly higher.",
        "",
        "| family | spoiled copy (judge) | accuracy | correct | ties | wrong | unrated |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for family, row in families.items():
        for how, judged in row["judge_known_pairs"].items():
            lines.append(
                f"| {family} | {how} | {judged['accuracy']:.2f} | {judged['correct']} | "
                f"{judged['ties']} | {judged['wrong']} | {judged['unrated']} |"
            )
    lines += ["", "## What the figures say", ""]
    for family, row in families.items():
        diffs = row["nll_differences"]
        lines.append(
            f"- **{family}**: context vs none {_verdict(diffs, 'context vs no-context')}; "
            f"the cloud's sketch vs context alone {_verdict(diffs, 'sketch vs context')}; "
            f"the oracle sketch vs context {_verdict(diffs, 'oracle-sketch vs context')}; "
            f"datamarking vs fencing only {_verdict(diffs, 'sketch-datamarked vs sketch')}; "
            f"ROUGE-L sketch − local {_verdict(row, 'rouge_l_sketch_vs_local', 'points')}."
        )
    lines += ["", "## Which family is the better default", "", *_family_verdict(families), ""]
    lines += _auto_router_section(results["benchmarks"].get("auto_router"))
    first = next(iter(families.values()))["examples"]
    lines += [
        "## One sample, as the local model saw it",
        "",
        f"Dev sample `{first['sample_id']}`: the stand-in's sketch (first family) and the "
        "oracle sketch taken from the reference.",
        "",
        "```text",
        first["sketch"].strip() or "(no sketch)",
        "```",
        "",
        "```text",
        first["oracle_sketch"].strip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def _auto_router_section(entry: dict[str, Any] | None) -> list[str]:
    """Quality kept against leakage, per mode and for ``auto`` (the ``auto_router`` entry)."""
    if not entry:
        return []
    requests, dev = entry["requests"], entry.get("dev") or {}
    run = entry.get("run", {})
    lines = [
        "## Quality kept against leakage, per mode and the `auto` router",
        "",
        "From `python bench/run_all.py auto_router` (the run of "
        f"{run.get('when', 'unknown date')}; docs/auto-router.md describes both sets). "
        f"Requests: {requests['public_requests']} public and {requests['private_requests']} "
        "private requests with every private fact labelled, a recording cloud; quality is "
        "the share of the public words that reached it. "
        + (
            f"Dev: {dev['items']} users of the authors' dev split with a canary planted in "
            f"their private details, real Chroma, the local model and the stand-in "
            f"({dev['max_tokens']} tokens); quality is ROUGE-L against the reference. "
            if dev
            else "The dev half was not run. "
        )
        + "Leak: the share of labelled private units any word of which reached the cloud.",
        "",
        "| mode | leak (requests) | public part kept | kept, public requests | "
        "leak (dev) | ROUGE-L (dev) | s/request (dev) | refused by the guard |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for mode, row in requests["modes"].items():
        dev_row = dev.get("modes", {}).get(mode)
        dev_cells = (
            f"{dev_row['unit_leak_rate']:.1%} | {dev_row['rouge_l']:.1f} | "
            f"{dev_row['seconds_per_request']:.0f}"
            if dev_row
            else "- | - | -"
        )
        refused = row["refused_by_the_guard"] + (dev_row["refused_by_the_guard"] if dev_row else 0)
        lines.append(
            f"| {mode} | {row['unit_leak_rate']:.1%} | {row['public_kept']:.1%} | "
            f"{row['public_kept_public_requests']:.1%} | {dev_cells} | {refused} |"
        )
    routes = ", ".join(f"{name} {count}" for name, count in requests["auto_routes"].items())
    lines += ["", f"`auto`'s routes on the requests: {routes}."]
    if dev:
        routes = ", ".join(f"{name} {count}" for name, count in dev["auto_routes"].items())
        lines.append(f"On the dev users: {routes}.")
    return [*lines, ""]


def _family_verdict(families: dict[str, Any]) -> list[str]:
    """Per measure, which family does better, and whether the samples show it.

    Two families measured on the same samples are compared paired (the bootstrap
    interval of the per-sample difference); otherwise by whether their intervals are
    apart. Only a measure whose difference is shown counts towards the verdict; speed
    and the judge's accuracy are reported, not counted (speed depends on the machine's
    load during the run, and the judges rank known pairs no better than chance).
    """
    names = [name for name in families if "+" not in name][:2]  # same model on both sides
    if len(names) < 2:
        return ["Only one family was measured with its own model on both sides."]
    a, b = (families[name] for name in names)
    pa, pb = a.get("per_sample"), b.get("per_sample")
    paired = bool(pa and pb and pa["sample_ids"] == pb["sample_ids"])
    shown: dict[str, list[str]] = {name: [] for name in names}
    lines = []

    def compare(
        label: str, left: float, right: float, lower_better: bool, difference: Any = None
    ) -> None:
        values = f"- {label}: {names[0]} {left:.3f}, {names[1]} {right:.3f}"
        if left == right:
            lines.append(f"{values}; equal.")
            return
        better = names[0] if (left < right) == lower_better else names[1]
        if difference is None:
            lines.append(f"{values}; {better} is ahead (reported, not counted).")
            return
        how, separated = difference
        if separated:
            shown[better].append(label)
        verdict = "shown" if separated else "not shown"
        lines.append(f"{values}; {better} is ahead, {how}: {verdict}.")

    def apart(x: dict[str, float], y: dict[str, float]) -> tuple[str, bool]:
        return "intervals", bool(x["high"] < y["low"] or y["high"] < x["low"])

    def paired_rows(left: list[float], right: list[float]) -> tuple[str, bool]:
        d = paired_difference(right, left).as_dict()
        text = f"paired difference {d['estimate']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"
        return text, bool(d["low"] > 0 or d["high"] < 0)

    nll = (
        paired_rows(pa["nll_per_character_context"], pb["nll_per_character_context"])
        if paired
        else None
    )
    compare("reference NLL per character with context", a["nll_per_character"]["context"],
            b["nll_per_character"]["context"], True, nll)  # fmt: skip
    for setting in ("local", "sketch"):
        left, right = a["rouge_l"][setting], b["rouge_l"][setting]
        difference = (
            paired_rows(pa["rouge_l"][setting], pb["rouge_l"][setting])
            if paired
            else apart(left, right)
        )
        compare(f"ROUGE-L, {setting}", left["estimate"], right["estimate"], False, difference)
    accuracy = [
        statistics.fmean(j["accuracy"] for j in row["judge_known_pairs"].values()) for row in (a, b)
    ]
    compare("judge accuracy on known pairs", accuracy[0], accuracy[1], False)
    compare("generation tokens/s during the run", a["generation_tokens_per_second"],
            b["generation_tokens_per_second"], False)  # fmt: skip
    ahead = {name: labels for name, labels in shown.items() if labels}
    if not ahead:
        lines.append("\nNo counted measure separates the two families at this sample size.")
    elif len(ahead) == 1:
        ((name, labels),) = ahead.items()
        lines.append(f"\nShown differences favour **{name}** ({'; '.join(labels)}).")
    else:
        lines.append(
            "\nThe shown differences point both ways: "
            + "; ".join(f"{name}: {', '.join(labels)}" for name, labels in ahead.items())
            + "."
        )
    return lines


def write_results_page(results_path: Path, page_path: Path | None = None) -> Path:
    """Rewrite docs/results.md from ``results_path``; the hand-written notes are kept."""
    page_path = page_path or BENCH.parent / "docs" / "results.md"
    results = json.loads(results_path.read_text(encoding="utf-8"))
    notes = BENCH.parent / "docs" / "results-notes.md"
    extra = notes.read_text(encoding="utf-8") if notes.is_file() else ""
    page_path.write_text(results_page(results) + ("\n" + extra if extra else ""), "utf-8")
    return page_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--families", default="gemma,smollm2",
        help="comma-separated; LOCAL+CLOUD (e.g. gemma+smollm2) puts another family's "
        "model behind the stand-in cloud",
    )  # fmt: skip
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--nll-tokens", type=int, default=32)
    parser.add_argument("--gen-tokens", type=int, default=64)
    parser.add_argument("--sketch-tokens", type=int, default=96)
    parser.add_argument("--judge-pairs", type=int, default=10)
    parser.add_argument("--judge-words", type=int, default=40)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--minutes", type=float, default=30.0,
        help="time budget, shared by the families: no new sample starts after it "
        "(the figures say how many samples were done; the cache lets a later run go on)",
    )  # fmt: skip
    parser.add_argument("--dataset", type=Path, default=DEV_SPLIT)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--docs", action="store_true", help="rewrite docs/results.md and exit")
    options = parser.parse_args(argv)
    if options.docs:
        print(f"wrote {write_results_page(BENCH / 'results.json')}")
        return 0
    from langchain_cogenesis.retrievers import PrivateStore

    home = Settings.from_env().home
    samples = samples_of(load_dataset(options.dataset), options.samples)
    store = PrivateStore(home / "bench" / "quality-store", audit_log=None)
    cache = Cache(home / "bench" / "quality-cache.jsonl")
    started = time.perf_counter()
    names = options.families.split(",")
    families = {
        family: run_family(family, samples, store, cache, options, options.minutes / len(names))
        for family in names
    }
    figures = {
        "benchmark": "quality",
        "dataset": options.dataset.name,
        "options": {k: v for k, v in vars(options).items() if k not in ("json", "docs", "dataset")},
        "families": families,
        "seconds": time.perf_counter() - started,
    }
    print_figures(figures)
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(f"total {figures['seconds']:.0f} s; mean over families of generation speed "
          f"{statistics.fmean(f['generation_tokens_per_second'] for f in families.values()):.1f} "
          "tok/s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
