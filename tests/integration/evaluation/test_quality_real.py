"""Quality measures against the real Gemma 3 270M: reference NLL and the grammar judge."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_cogenesis.evaluation.judge import Judge
from langchain_cogenesis.evaluation.likelihood import (
    ReferenceLikelihood,
    condition_messages,
    oracle_sketch,
)
from langchain_cogenesis.evaluation.runner import samples_of
from langchain_cogenesis.prompts import writer_messages
from tests.conftest import PAPER_DEV_SPLIT

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not PAPER_DEV_SPLIT.exists(),
        reason=f"the authors' dev split is not at {PAPER_DEV_SPLIT} (a clone without ../shared)",
    ),
]


@pytest.fixture(scope="module")
def likelihood(model_path: Path) -> ReferenceLikelihood:
    return ReferenceLikelihood(model_path, n_ctx=1024)


def test_a_reference_is_likelier_after_its_own_oracle_sketch(
    likelihood: ReferenceLikelihood,
) -> None:
    from langchain_cogenesis.data.dataset import load_dataset

    first, second = samples_of(load_dataset(PAPER_DEV_SPLIT), 2)
    for sample, other in ((first, second), (second, first)):
        instruction, reference = sample.task.instruction, sample.task.reference
        own = likelihood.score_messages(
            condition_messages("oracle-sketch", instruction, [], reference=reference),
            reference,
            max_tokens=16,
        )
        foreign = likelihood.score_messages(
            writer_messages(
                instruction.kind,
                instruction.full_instruction,
                [],
                oracle_sketch(other.task.reference),
            ),
            reference,
            max_tokens=16,
        )
        assert own.tokens == foreign.tokens == 16
        assert 0 < own.mean < foreign.mean, (own, foreign)
    # the cache of the shared prompt prefix does not change a score
    again = likelihood.score_messages(
        condition_messages("oracle-sketch", instruction, [], reference=reference),
        reference,
        max_tokens=16,
    )
    assert again.nll_sum == pytest.approx(own.nll_sum, abs=0.05 * own.tokens)


def test_grammar_judge_on_the_real_model_always_rates(likelihood: ReferenceLikelihood) -> None:
    judge = Judge.with_grammar(likelihood.llama, max_attempts=1)
    judgement = judge.rate(
        "overall_without_profile",
        "Write a short welcome for a community garden's harvest festival",
        "Welcome, neighbours! Thank you for the seasons of work that brought us this harvest.",
    )
    assert judgement.attempts == 1
    assert judgement.rating is not None and 1 <= judgement.rating <= 10
    assert judgement.explanation.startswith("Rating: [[")


def test_expected_rating_judge_moves_with_the_answer(likelihood: ReferenceLikelihood) -> None:
    judge = Judge.with_expected_rating(likelihood, max_attempts=1)
    question = "Write a short welcome for a community garden's harvest festival"
    answer = "Welcome, neighbours! Thank you for the seasons of work that brought us this harvest."
    ratings = [
        judge.rate("overall_without_profile", question, text).rating
        for text in (answer, "harvest us neighbours this work of, Thank", answer)
    ]
    assert all(r is not None and 1 <= r <= 9 for r in ratings), ratings
    first, shuffled, again = (float(r or 0) for r in ratings)
    # The same prompt, the same rating up to llama.cpp's float noise: the second
    # call reuses the cached prompt prefix and evaluates the rest in other batches
    # (measured: 4.331 then 4.317).
    assert first == pytest.approx(again, abs=0.05)
    # A probability-weighted digit, not the greedy one: fractions, no tie.
    assert all(abs(r - round(r)) > 1e-3 for r in (first, shuffled, again)), ratings
    assert abs(first - shuffled) > 1e-3
