"""Combiners and the fused decoding loop with scripted scorers on a tiny vocabulary."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from langchain_cogenesis.errors import PrivacyViolation
from langchain_cogenesis.fusion import LearnedCombiner, MaxCombiner, MeanCombiner, fused_generate
from langchain_cogenesis.fusion.combiners import Fused, combiner_features, local_only, union_probs
from langchain_cogenesis.fusion.sampling import Sampling, choose
from langchain_cogenesis.fusion.scorers import TopK, top_k_of_logits
from langchain_cogenesis.privacy import PrivacyScanner
from langchain_cogenesis.privacy.egress.gate import PrefixGate

WORDS = ["<eos>", " the", " garden", " party", " Maya", " owes", " money", " cake", " is", " fun"]


def topk(probs: dict[int, float]) -> TopK:
    ids = np.array(sorted(probs, key=probs.get, reverse=True))  # type: ignore[arg-type]
    return TopK(ids=ids, logprobs=np.log(np.array([probs[int(i)] for i in ids])))


class Scripted:
    """A scorer that maps the last token to a fixed next-token distribution."""

    def __init__(self, name: str, table: dict[int, dict[int, float]]) -> None:
        self.name = name
        self.table = table
        self.calls: list[list[int]] = []

    def vocab_size(self) -> int:
        return len(WORDS)

    def tokenize(self, text: str, *, add_bos: bool = False) -> list[int]:
        return [WORDS.index(" " + w) for w in text.split()]

    def detokenize(self, token_ids: Sequence[int]) -> str:
        return "".join(WORDS[i] for i in token_ids)

    def next_top_k(self, token_ids: Sequence[int], k: int) -> TopK:
        self.calls.append(list(token_ids))
        return topk(self.table[token_ids[-1]])


# local: after "the" -> "garden" 0.6 / "party" 0.4; cloud prefers "party" 0.9
LOCAL = Scripted(
    "local", {1: {2: 0.6, 3: 0.4}, 2: {8: 1.0}, 3: {8: 1.0}, 8: {9: 0.7, 0: 0.3}, 9: {0: 1.0}}
)
CLOUD = Scripted(
    "cloud", {1: {3: 0.9, 7: 0.1}, 2: {8: 1.0}, 3: {8: 1.0}, 8: {9: 0.5, 0: 0.5}, 9: {0: 1.0}}
)


def test_top_k_of_logits_is_a_log_softmax() -> None:
    logits = np.array([1.0, 3.0, 2.0, -1.0])
    top = top_k_of_logits(logits, 2)
    assert top.ids.tolist() == [1, 2]
    expected = np.log(np.exp(logits) / np.exp(logits).sum())
    assert np.allclose(top.logprobs, expected[[1, 2]])


def test_union_spreads_mass_outside_the_top_k() -> None:
    local, cloud = topk({2: 0.6, 3: 0.3}), topk({3: 0.8, 7: 0.1})
    ids, p_slm, p_llm = union_probs(local, cloud, vocab_size=10)
    assert ids.tolist() == [2, 3, 7]
    assert np.allclose(p_slm, [0.6, 0.3, 0.1 / 8])  # 10% left over 8 other tokens
    assert np.allclose(p_llm, [0.1 / 8, 0.8, 0.1])


def test_mean_and_max_pooling() -> None:
    local, cloud = topk({2: 0.6, 3: 0.4}), topk({3: 0.9, 7: 0.1})
    mean = MeanCombiner().combine(local, cloud, 10)
    assert mean.weight == 0.5 and np.isclose(mean.probs.sum(), 1.0)
    assert mean.ids[int(np.argmax(mean.probs))] == 3
    maximum = MaxCombiner().combine(local, cloud, 10)
    assert np.isclose(maximum.probs.sum(), 1.0)
    assert maximum.ids[int(np.argmax(maximum.probs))] == 3 and maximum.weight == 0.0


def test_learned_combiner_is_the_paper_mlp_and_round_trips(tmp_path: Path) -> None:
    import torch

    combiner = LearnedCombiner()
    shapes = [tuple(p.shape) for p in combiner.model.parameters()]
    assert shapes == [(512, 20), (512,), (16, 512), (16,), (1, 16), (1,)]
    local, cloud = topk({2: 0.6, 3: 0.4}), topk({3: 0.9, 7: 0.1})
    assert combiner_features(local, cloud).shape == (20,)
    with torch.no_grad():  # w = sigmoid(5) whatever the random hidden layers give
        combiner.model[-2].weight.zero_()
        combiner.model[-2].bias.fill_(5.0)  # push w towards 1: the local model dominates
    fused = combiner.combine(local, cloud, 10)
    assert np.isclose(fused.weight, 1 / (1 + np.exp(-5.0)))
    assert fused.ids[int(np.argmax(fused.probs))] == 2
    loaded = LearnedCombiner.load(combiner.save(tmp_path / "comb"))
    assert np.isclose(loaded.weight(local, cloud), fused.weight)
    assert (tmp_path / "comb" / "combiner.json").exists()


def test_greedy_fusion_follows_the_combined_distribution() -> None:
    result = fused_generate(LOCAL, CLOUD, [1], [1], MeanCombiner(), max_tokens=10, stop_ids=[0])
    assert result.text == " party is fun"
    assert result.finish_reason == "stop"
    assert result.cloud_tokens == 4  # the end-of-text step was fused too
    assert [t.weight for t in result.trace] == [0.5, 0.5, 0.5]
    assert result.trace[0].local_top == (2, pytest.approx(0.6))
    assert result.trace[0].cloud_top == (3, pytest.approx(0.9))
    alone = fused_generate(LOCAL, None, [1], [1], MeanCombiner(), max_tokens=10, stop_ids=[0])
    assert alone.text == " garden is fun" and alone.cloud_tokens == 0


def test_first_k_lets_the_cloud_take_part_in_the_first_tokens_only() -> None:
    cloud = Scripted("cloud", CLOUD.table)
    result = fused_generate(
        LOCAL, cloud, [1], [1], MeanCombiner(), max_tokens=10, first_k=1, stop_ids=[0]
    )
    assert result.text == " party is fun"
    assert result.cloud_tokens == 1 and len(cloud.calls) == 1
    assert [t.cloud_top is None for t in result.trace] == [False, True, True]


def test_prefix_gate_stops_the_cloud_once_private_text_is_generated() -> None:
    private_local = Scripted("local", {1: {4: 1.0}, 4: {5: 1.0}, 5: {6: 1.0}, 6: {0: 1.0}})
    cloud = Scripted("cloud", {1: {4: 1.0}, 4: {5: 1.0}, 5: {6: 1.0}, 6: {0: 1.0}})
    gate = PrefixGate(PrivacyScanner(names=["Maya Okafor"]))
    result = fused_generate(
        private_local, cloud, [1], [1], MeanCombiner(), max_tokens=5, prefix_gate=gate, stop_ids=[0]
    )
    assert result.text == " Maya owes money"
    assert result.cloud_stopped_at == 1  # the prefix " Maya" never went out
    assert all(" Maya" not in "".join(WORDS[i] for i in call) for call in cloud.calls)
    assert result.cloud_tokens == 1


class Refusing(Scripted):
    """A cloud scorer whose guard refuses every request after the first."""

    def next_top_k(self, token_ids: Sequence[int], k: int) -> TopK:
        if self.calls:
            raise PrivacyViolation("the guard found Maya Okafor in the prefix")
        return super().next_top_k(token_ids, k)


def test_a_prefix_the_guard_refuses_ends_the_clouds_part_not_the_answer() -> None:
    cloud = Refusing("cloud", CLOUD.table)
    result = fused_generate(LOCAL, cloud, [1], [1], MeanCombiner(), max_tokens=10, stop_ids=[0])
    assert result.text == " party is fun"  # the first token fused, the rest local
    assert result.cloud_stopped_at == 1 and result.cloud_tokens == 1
    assert result.cloud_error == ""  # the refusal names private text: not kept
    assert len(cloud.calls) == 1


def test_stop_sequences_and_max_tokens() -> None:
    result = fused_generate(LOCAL, CLOUD, [1], [1], MeanCombiner(), max_tokens=10, stop=[" is"])
    assert result.text == " party" and result.finish_reason == "stop"
    short = fused_generate(LOCAL, CLOUD, [1], [1], MeanCombiner(), max_tokens=2)
    assert len(short.token_ids) == 2 and short.finish_reason == "length"


def test_sampling_respects_temperature_and_top_p() -> None:
    fused = Fused(ids=np.array([2, 3, 7]), probs=np.array([0.6, 0.35, 0.05]), weight=0.5)
    rng = np.random.default_rng(0)
    draws = [choose(fused, Sampling(temperature=1.0, top_p=0.9), rng) for _ in range(2000)]
    assert 7 not in draws  # outside the 0.9 nucleus
    share = draws.count(2) / len(draws)
    assert 0.58 < share < 0.68  # 0.6 / 0.95 renormalized
    cold = [choose(fused, Sampling(temperature=0.1, top_p=1.0), rng) for _ in range(200)]
    assert cold.count(2) > 195
    assert choose(local_only(topk({3: 0.7, 2: 0.3})), Sampling(), rng) == 3


def test_html_view_shades_tokens_by_weight() -> None:
    from langchain_cogenesis.fusion.html import fusion_html

    trace = [
        {"token": " Dear", "weight": 1.0, "local_top": [1, 0.9], "cloud_top": [2, 0.5]},
        {"token": " <friends>", "weight": 0.0, "local_top": [1, 0.9], "cloud_top": [2, 0.5]},
        {"token": " !", "weight": 1.0, "local_top": [1, 0.9], "cloud_top": None},
    ]
    page = fusion_html(trace)
    assert page.startswith("<!doctype html>")
    assert 'style="background:rgb(255,125,125)"' in page  # local model
    assert 'style="background:rgb(125,125,255)"' in page  # cloud model
    assert 'style="background:#eeeeee"' in page  # cloud not asked
    assert "&lt;friends&gt;" in page and "<friends>" not in page
    assert "3 tokens, 2 with the cloud taking part." in page
