"""The quality benchmark as users run it, on one sample (its own file: the two test
workers take one file each, and the benchmarks' file is the longest)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench_modules import load_bench
from tests.conftest import PAPER_DEV_SPLIT
from tests.integration.test_examples_and_bench import run

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not PAPER_DEV_SPLIT.exists(),
        reason=f"the benchmark reads the authors' dev split, not at {PAPER_DEV_SPLIT} "
        "(a clone without ../shared)",
    ),
]


def test_quality_benchmark_on_one_sample_and_its_results_page(tmp_path: Path) -> None:
    out = tmp_path / "quality.json"
    done = run(
        "bench/quality.py", "--families", "gemma", "--samples", "1", "--nll-tokens", "4",
        "--gen-tokens", "4", "--sketch-tokens", "8", "--judge-pairs", "1",
        "--judge-words", "12", "--k", "1", "--json", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    figures = json.loads(out.read_text())
    gemma = figures["families"]["gemma"]
    assert gemma["samples"] == 1 and gemma["sketch_failures"] == 0
    assert gemma["cloud_model"] == gemma["model"]  # one family on both sides
    nll = gemma["nll_per_token"]
    assert {"no-context", "context", "sketch", "oracle-sketch"} <= set(nll)
    assert all(0 < row["estimate"] < 20 for row in nll.values())
    judged = gemma["judge_known_pairs"]
    assert len(judged) == 4  # two spoilings, two ways of reading the judge
    assert all(row["pairs"] == 1 and row["unrated"] == 0 for row in judged.values())
    bench = load_bench("quality")
    run_info = {"when": "now", "machine": {"cpu_count": 2, "processor": "x86_64"}}
    page = bench.results_page({"benchmarks": {"quality": {**figures, "run": run_info}}})
    assert "| oracle-sketch |" in page and "(expected rating)" in page


def test_family_speed_benchmark_times_both_families_side_by_side(tmp_path: Path) -> None:
    out = tmp_path / "speed.json"
    done = run("bench/family_speed.py", "--rounds", "1", "--tokens", "4", "--json", str(out))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    figures = json.loads(out.read_text())
    families = figures["families"]
    assert set(families) == {"gemma", "smollm2"}
    for row in families.values():
        assert row["prompt_tokens"] > 20  # the instruction in the family's own template
        assert row["rounds"][0]["decode_tokens"] == 4
        assert row["decode_tokens_per_second"] > 0 and row["prompt_tokens_per_second"] > 0
    assert figures["decode_ratio"] == pytest.approx(
        families["gemma"]["decode_tokens_per_second"]
        / families["smollm2"]["decode_tokens_per_second"]
    )
    assert "gemma / smollm2: decoding" in done.stdout
