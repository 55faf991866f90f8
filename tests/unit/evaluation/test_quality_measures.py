"""Quality measures: reference NLL math, bootstrap intervals, the grammar-constrained judge."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from langchain_core.documents import Document

from langchain_cogenesis import prompts
from langchain_cogenesis.evaluation.judge import (
    Judge,
    known_pair_accuracy,
    parse_rating,
    rating_grammar,
    spoiled,
)
from langchain_cogenesis.evaluation.likelihood import (
    ReferenceScore,
    condition_messages,
    oracle_sketch,
    token_nll,
)
from langchain_cogenesis.evaluation.metrics import (
    bleu,
    bleu_interval,
    bootstrap,
    mean_interval,
    paired_bleu_difference,
    paired_difference,
    rouge_l,
    rouge_l_per_sample,
)
from langchain_cogenesis.schema import ContextAwareInstruction
from tests.bench_modules import load_bench

# -- reference NLL ------------------------------------------------------------------


def test_token_nll_is_the_negative_log_softmax_of_each_target() -> None:
    logits = np.array([[0.0, 0.0, 0.0, 0.0], [5.0, 1.0, -2.0, 0.5], [1000.0, 0.0, 0.0, 0.0]])
    nll = token_nll(logits, [2, 1, 0])
    assert nll[0] == pytest.approx(math.log(4))  # uniform over four tokens
    row = logits[1]
    expected = math.log(sum(math.exp(v) for v in row)) - row[1]
    assert nll[1] == pytest.approx(expected)
    assert nll[2] == pytest.approx(0.0, abs=1e-9)  # a huge logit does not overflow
    assert token_nll(logits[2:], [1])[0] == pytest.approx(1000.0)


def test_token_nll_needs_one_row_per_target() -> None:
    with pytest.raises(ValueError, match="one row"):
        token_nll(np.zeros((2, 5)), [1, 2, 3])


def test_reference_score_means_per_token_and_per_character() -> None:
    score = ReferenceScore(nll_sum=12.0, tokens=4, characters=24)
    assert score.mean == 3.0 and score.per_character == 0.5
    assert math.isnan(ReferenceScore(0.0, 0, 0).mean)


def test_oracle_sketch_takes_each_sentence_opening_in_table_8_shape() -> None:
    reference = (
        "Friends and neighbours, welcome to our garden at last! The beans came up early "
        "this year. Did you see the pumpkins?\n\nThank you all, truly."
    )
    sketch = oracle_sketch(reference, words=3)
    assert sketch.splitlines() == [
        "1. Friends and neighbours",
        "2. The beans came",
        "3. Did you see",
        "4. Thank you all",
    ]
    assert oracle_sketch(reference, words=3) == sketch  # deterministic
    many = " ".join(f"Sentence number {i} here." for i in range(40))
    assert len(oracle_sketch(many).splitlines()) == 15


def test_conditions_build_the_graphs_prompts() -> None:
    instruction = ContextAwareInstruction(
        public_instruction="Write a toast for a garden party",
        private_instruction="for Maya's 40th birthday",
    )
    context = [Document("Name: Maya Okafor", metadata={"kind": "profile"})]
    reference = "Dear friends, raise a glass. Maya turns forty today."
    plain = condition_messages("no-context", instruction, context)
    assert "Maya" not in plain[-1].text and "garden party" in plain[-1].text
    with_context = condition_messages("context", instruction, context)
    assert with_context == prompts.writer_messages(
        "context-aware", instruction.full_instruction, context
    )
    assert "## Sketch" not in with_context[-1].text
    sketched = condition_messages("sketch", instruction, context, sketch="1. Raise a glass")
    assert "<<sketch>>\n1. Raise a glass\n<</sketch>>\n\n## Task\n" in sketched[-1].text
    assert sketched[-1].text.endswith(instruction.full_instruction)
    oracle = condition_messages("oracle-sketch", instruction, context, reference=reference)
    assert "1. Dear friends, raise a glass.\n2. Maya turns forty today." in oracle[-1].text
    marked = condition_messages(
        "sketch", instruction, context, sketch="1. Raise a glass", datamark=True
    )
    assert "1.^Raise^a^glass" in marked[-1].text
    with pytest.raises(ValueError, match="unknown condition"):
        condition_messages("everything", instruction, context)  # type: ignore[arg-type]


# -- bootstrap intervals -------------------------------------------------------------


def test_mean_interval_holds_the_mean_and_shrinks_to_a_point_for_constants() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    found = mean_interval(values)
    assert found.estimate == pytest.approx(4.5)
    assert found.low < 4.5 < found.high
    assert found.low > 2.0 and found.high < 7.0
    constant = mean_interval([3.0] * 10)
    assert constant.low == constant.high == constant.estimate == 3.0
    assert mean_interval(values, seed=1) == mean_interval(values, seed=1)


def test_wider_confidence_gives_a_wider_interval() -> None:
    values = list(np.random.default_rng(3).normal(0, 1, 60))
    narrow, wide = mean_interval(values, confidence=0.5), mean_interval(values, confidence=0.99)
    assert wide.low < narrow.low and narrow.high < wide.high


def test_paired_difference_tells_a_real_gain_from_noise() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(10, 3, 50)  # large spread between samples...
    gain = paired_difference(list(base + 0.5 + rng.normal(0, 0.1, 50)), list(base))
    assert gain.excludes_zero() and gain.low > 0  # ...but a steady gain on each one
    noise = paired_difference(list(base + rng.normal(0, 1, 50)), list(base))
    assert not noise.excludes_zero()
    with pytest.raises(ValueError, match="same samples"):
        paired_difference([1.0], [1.0, 2.0])


def test_bootstrap_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="at least one"):
        bootstrap(lambda indices: 0.0, 0)
    with pytest.raises(ValueError, match="confidence"):
        mean_interval([1.0], confidence=1.5)


def test_word_overlap_intervals_and_paired_bleu() -> None:
    references = [f"the {w} sat on the mat near the door" for w in ("cat", "dog", "fox", "owl")] * 5
    good = list(references)
    poor = [r.replace("sat on", "was under").replace("door", "window") for r in references]
    assert rouge_l_per_sample(good, references) == pytest.approx([100.0] * 20)
    assert np.mean(rouge_l_per_sample(poor, references)) == pytest.approx(rouge_l(poor, references))
    interval = bleu_interval(poor, references, resamples=30)
    assert interval.estimate == pytest.approx(bleu(poor, references))
    assert interval.low <= interval.estimate <= interval.high
    better = paired_bleu_difference(good, poor, references, resamples=30)
    assert better.low > 0


# -- the grammar-constrained judge -------------------------------------------------------


def test_rating_grammar_parses_in_llama_cpp_and_bounds_the_explanation() -> None:
    from llama_cpp.llama_grammar import LlamaGrammar

    assert rating_grammar() == 'root ::= rating\nrating ::= "Rating: [[" ([1-9] | "10") "]]"\n'
    explained = rating_grammar(80)
    assert "{1,80}" in explained and explained.startswith('root ::= explanation "\\n" rating')
    for text in (rating_grammar(), explained):
        LlamaGrammar.from_string(text, verbose=False)  # raises on a malformed grammar
    with pytest.raises(ValueError):
        rating_grammar(-1)


@pytest.mark.parametrize(
    ("reply", "rating"),
    [("Rating: [[7]]", 7.0), ("Fluent but short.\nRating: [[10]]", 10.0), ("Rating: [[1]]", 1.0)],
)
def test_every_sentence_of_the_grammar_parses_to_a_rating(reply: str, rating: float) -> None:
    assert parse_rating(reply) == rating


class FakeLlama:
    """Records what the judge asks a llama.cpp model and answers from a script."""

    def __init__(self, replies: list[str]) -> None:
        self.replies = replies
        self.calls: list[dict[str, Any]] = []

    def create_completion(self, prompt: str, **kwargs: Any) -> dict[str, Any]:
        self.calls.append({"prompt": prompt, **kwargs})
        return {"choices": [{"text": self.replies[len(self.calls) - 1]}]}


def test_grammar_judge_sends_the_grammar_greedily_and_reads_the_rating() -> None:
    llama = FakeLlama(["Rating: [[8]]"])
    judge = Judge.with_grammar(llama, render=prompts.chat_text)  # type: ignore[arg-type]
    judgement = judge.rate("overall_without_profile", "Write a toast", "Cheers, everyone!")
    assert judgement.rating == 8.0 and judgement.attempts == 1
    call = llama.calls[0]
    assert call["temperature"] == 0.0 and call["grammar"] is not None
    assert call["max_tokens"] >= len("Rating: [[10]]")
    assert call["prompt"].startswith("<start_of_turn>user\n[Instruction]")
    assert "Cheers, everyone!" in call["prompt"]


def test_spoiled_copies_are_worse_by_construction() -> None:
    text = " ".join(f"w{i}" for i in range(30))
    assert spoiled(text, "truncated") == " ".join(f"w{i}" for i in range(10))
    shuffled = spoiled(text, "shuffled", seed=4)
    assert shuffled != text and sorted(shuffled.split()) == sorted(text.split())
    assert spoiled(text, "shuffled", seed=4) == shuffled
    with pytest.raises(ValueError):
        spoiled(text, "reversed")  # type: ignore[arg-type]


def test_known_pair_accuracy_counts_orders_ties_and_missing_ratings() -> None:
    script = iter(["[[9]]", "[[3]]", "[[5]]", "[[5]]", "[[2]]", "[[6]]", "no rating", "[[4]]"])
    seen: list[str] = []

    def ask(messages: list[Any], attempt: int) -> str:
        seen.append(str(messages[0].text))
        return next(script)

    judge = Judge(ask, max_attempts=1)
    references = [" ".join(["word"] * 9 + [f"end{i}"]) for i in range(4)]
    result = known_pair_accuracy(judge, ["q"] * 4, references, "truncated", max_words=6)
    assert (result.pairs, result.correct, result.ties, result.wrong, result.unrated) == (
        4, 1, 1, 1, 1,
    )  # fmt: skip
    assert result.accuracy == 0.25 and result.rated == 0.75
    assert "word word word word word word\n" in seen[0]  # the reference, cut to 6 words
    assert "[The Start of Assistant's Answer]\nword word\n" in seen[1]  # its first third


def _quality_bench() -> Any:
    return load_bench("quality")


def _family(rouge_local: list[float], nll: list[float], ids: list[str]) -> dict[str, Any]:
    def row(values: list[float]) -> dict[str, float]:
        mean = float(np.mean(values))
        return {"estimate": mean, "low": mean - 5, "high": mean + 5}  # wide: they overlap

    return {
        "nll_per_character": {"context": float(np.mean(nll))},
        "rouge_l": {"local": row(rouge_local), "sketch": row([10.0] * len(ids))},
        "judge_known_pairs": {"truncated": {"accuracy": 0.0}},
        "generation_tokens_per_second": 10.0,
        "per_sample": {
            "sample_ids": ids,
            "rouge_l": {"local": rouge_local, "sketch": [10.0] * len(ids)},
            "nll_per_character_context": nll,
        },
    }


def test_the_family_verdict_counts_only_paired_differences_it_shows() -> None:
    verdict = _quality_bench()._family_verdict
    rng = np.random.default_rng(0)
    ids = [f"s{i}" for i in range(40)]
    base = list(rng.uniform(5, 15, 40))
    nll = list(rng.uniform(0.6, 0.8, 40))
    # b beats a by 1 point on every sample: the intervals overlap, the pairs show it
    lines = verdict({"a": _family(base, nll, ids), "b": _family([x + 1 for x in base], nll, ids)})
    text = "\n".join(lines)
    assert "ROUGE-L, local: a" in text and "b is ahead, paired difference +1.000" in text
    assert "Shown differences favour **b** (ROUGE-L, local)" in text
    assert "generation tokens/s during the run: a 10.000, b 10.000; equal." in text
    # the same values on other samples cannot be paired: overlapping intervals show nothing
    other = [f"t{i}" for i in range(40)]
    lines = verdict({"a": _family(base, nll, ids), "b": _family([x + 1 for x in base], nll, other)})
    assert "No counted measure separates the two families" in "\n".join(lines)


def test_the_results_page_shows_the_auto_router_table_when_measured() -> None:
    section = _quality_bench()._auto_router_section
    assert section(None) == []

    def row(leak: float) -> dict[str, Any]:
        return {"unit_leak_rate": leak, "public_kept": 0.9, "public_kept_public_requests": 0.95,
                "refused_by_the_guard": 1}  # fmt: skip

    entry = {
        "requests": {
            "public_requests": 30, "private_requests": 30,
            "modes": {"auto": row(0.0), "cloud-private": row(1.0)},
            "auto_routes": {"public:cloud-public": 26, "private:local": 13},
        },
        "dev": {
            "items": 3, "max_tokens": 64, "auto_routes": {"sketch": 3},
            "modes": {"auto": {"unit_leak_rate": 0.0, "rouge_l": 12.34,
                               "seconds_per_request": 41.0, "refused_by_the_guard": 2}},
        },
        "run": {"when": "2026-11-27T18:00:00+00:00"},
    }  # fmt: skip
    text = "\n".join(section(entry))
    assert "| auto | 0.0% | 90.0% | 95.0% | 0.0% | 12.3 | 41 | 3 |" in text
    assert "| cloud-private | 100.0% | 90.0% | 95.0% | - | - | - | 1 |" in text
    assert "public:cloud-public 26, private:local 13" in text
    assert "On the dev users: sketch 3" in text
    assert "3 users of the authors' dev split" in text
    without_dev = "\n".join(section({**entry, "dev": {}}))
    assert "The dev half was not run." in without_dev and "On the dev users" not in without_dev
