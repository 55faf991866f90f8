from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from langchain_cogenesis.fusion import LearnedCombiner
from langchain_cogenesis.fusion.scorers import TopK
from langchain_cogenesis.fusion.training import (
    StepExample,
    heldout_nll,
    step_arrays,
    train_combiner,
)

RNG = np.random.default_rng(0)


def topk(ids: list[int], probs: list[float]) -> TopK:
    return TopK(ids=np.array(ids), logprobs=np.log(np.array(probs)))


def steps(count: int, local_right: bool) -> list[StepExample]:
    """The local model is right and confident; the cloud is confidently wrong (or the reverse)."""
    made = []
    for _ in range(count):
        target, other = (int(x) for x in RNG.choice(50, size=2, replace=False))
        right, wrong = topk([target, other], [0.8, 0.1]), topk([other, target], [0.7, 0.05])
        local, cloud = (right, wrong) if local_right else (wrong, right)
        made.append(StepExample(local=local, cloud=cloud, target=target))
    return made


def test_exact_fused_likelihood_inputs() -> None:
    arrays = step_arrays(steps(3, local_right=True), vocab_size=50)
    assert arrays["features"].shape == (3, 20)
    assert np.allclose(arrays["slm_target"], 0.8) and np.allclose(arrays["llm_target"], 0.05)


def test_training_learns_to_trust_the_right_model(tmp_path: Path) -> None:
    combiner, report = train_combiner(
        steps(40, local_right=True), steps(10, local_right=True), vocab_size=50, max_epochs=15
    )
    assert report.dev_nll[report.best_epoch] < report.dev_nll[0]
    sample = steps(1, local_right=True)[0]
    assert combiner.weight(sample.local, sample.cloud) > 0.8
    # and the reverse data teaches the reverse weight
    other, _ = train_combiner(
        steps(40, local_right=False), steps(10, local_right=False), vocab_size=50, max_epochs=15
    )
    flipped = steps(1, local_right=False)[0]
    assert other.weight(flipped.local, flipped.cloud) < 0.2
    loaded = LearnedCombiner.load(combiner.save(tmp_path / "combiner"))
    assert np.isclose(
        loaded.weight(sample.local, sample.cloud), combiner.weight(sample.local, sample.cloud)
    )


def test_early_stopping_keeps_the_best_epoch() -> None:
    _, report = train_combiner(
        steps(6, local_right=True),
        steps(6, local_right=False),
        vocab_size=50,
        max_epochs=30,
        patience=2,
    )
    assert report.epochs_run < 30
    assert report.dev_nll[report.best_epoch] == min(report.dev_nll)


def test_heldout_nll_by_hand() -> None:
    # local: target 0.8, other 0.1; cloud: other 0.7, target 0.05; union = {target, other}
    held = steps(4, local_right=True)
    figures = heldout_nll(held, vocab_size=50)
    assert figures["local_with_context"] == pytest.approx(-np.log(0.8 / 0.9))
    assert figures["cloud_without_context"] == pytest.approx(-np.log(0.05 / 0.75))
    assert figures["mean"] == pytest.approx(-np.log(0.425 / 0.825))
    assert figures["max"] == pytest.approx(-np.log(0.8 / 1.5))
    assert "learned" not in figures
    trained, _ = train_combiner(steps(40, local_right=True), steps(10, local_right=True), 50)
    with_learned = heldout_nll(held, 50, trained)
    assert with_learned["learned"] < with_learned["mean"]
