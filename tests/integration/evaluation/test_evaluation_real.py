"""Evaluation and data with the real components: Gemma 3 270M, the stand-in, MiniLM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langchain_cogenesis.data.dataset import of_split, read_jsonl
from langchain_cogenesis.data.lamp import embedding_ranker, load_lamp
from langchain_cogenesis.data.synthesis import SynthesisConfig, synthesize
from langchain_cogenesis.models import ChatLocalLlama
from tests.integration.cli.test_cli import cogenesis
from tests.unit.data.test_datasets import write_lamp

pytestmark = pytest.mark.integration


def test_cogenesis_eval_on_one_sample_resumes_and_reports_leaks(
    tmp_path: Path, model_path: Path
) -> None:
    out = tmp_path / "eval"
    args = (
        "eval", "--dataset", "bundled", "--limit", "1", "--seeds", "0",
        "--settings", "cloud-private,local,sketch", "--max-tokens", "24",
        "--judge-tokens", "24", "--judge-attempts", "1", "--out", str(out),
        "--allow-private-judge",  # bundled users are synthetic
    )  # fmt: skip
    done = cogenesis(tmp_path / "home", *args, model=model_path)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in (out / "cache.jsonl").read_text().splitlines()]
    assert len(records) == 3 and all(r["answer"] for r in records)
    leaks = {r["setting"]: r["leaked"] for r in records}
    # the upper bound sends the private context on purpose; the others never do
    assert leaks == {"cloud-private": True, "local": False, "sketch": False}
    table = (out / "results.md").read_text()
    assert "| cloud-private |" in table and "| sketch |" in table
    assert (out / "results.png").stat().st_size > 5_000
    assert "| local | " in done.stdout

    again = cogenesis(tmp_path / "home", *args, model=model_path)  # all cached: nothing reruns
    assert again.returncode == 0, again.stderr
    assert len((out / "cache.jsonl").read_text().splitlines()) == 3


def test_lamp_profiles_ranked_by_the_local_embedding_model(tmp_path: Path) -> None:
    write_lamp(tmp_path, "LaMP_6", 12, "train")
    write_lamp(tmp_path, "LaMP_6", 3, "dev")
    rows = load_lamp(tmp_path, rank=embedding_ranker(), history=2)
    test = of_split(rows, "test")
    assert len(test) == 2
    history = test[0].context.writing_history
    assert len(history) == 2 and all(w.text.startswith("Earlier text") for w in history)


def test_synthesis_with_the_real_small_model_filters_what_it_cannot_use(tmp_path: Path) -> None:
    model = ChatLocalLlama(max_tokens=96, temperature=0.0)
    out = tmp_path / "synth"
    (out).mkdir()
    (out / "portraits.json").write_text(json.dumps([{"group": "Beekeepers"}]))
    result = synthesize(SynthesisConfig(model=model, out=out, portraits=1, users_per_portrait=1))
    assert result["made"] + result["rejected"] == 1
    if result["rejected"]:  # a 270M base model rarely writes the JSON asked for
        reason = json.loads((out / "rejected.jsonl").read_text())["reason"]
        assert reason.startswith(("profile:", "tasks:", "quality:", "format:"))
    else:
        assert len(read_jsonl(out / "dataset.jsonl")) == 1
