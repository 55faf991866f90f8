"""Drafting: one cloud request scores several local proposals; the output is unchanged.

Greedy: token for token the same as one request per token. Sampling: the
speculative-sampling rule keeps the fused distribution, checked with a chi-square
test against the exact distribution of every short sequence.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from langchain_cogenesis.fusion import (
    LearnedCombiner,
    MaxCombiner,
    MeanCombiner,
    RemoteCompletionScorer,
    fused_generate,
)
from langchain_cogenesis.fusion.combiners import Combiner
from langchain_cogenesis.fusion.sampling import Sampling, distribution
from langchain_cogenesis.fusion.scorers import TopK, top_k_of_logits
from langchain_cogenesis.privacy import EgressGuard, PrivacyScanner
from langchain_cogenesis.privacy.detection.detectors import Hit
from langchain_cogenesis.privacy.egress.gate import PrefixGate
from tests.cloud_servers import RecordingServer


class Table:
    """A Markov scorer: the next-token distribution depends on the last two tokens."""

    def __init__(self, name: str, vocab: int, seed: int, alpha: float = 0.3) -> None:
        rng = np.random.default_rng(seed)
        self.name = name
        self.vocab = vocab
        self.rows = {
            pair: rng.dirichlet(np.full(vocab, alpha))
            for pair in itertools.product(range(vocab), repeat=2)
        }
        self.calls = 0
        self.batches = 0

    def vocab_size(self) -> int:
        return self.vocab

    def tokenize(self, text: str, *, add_bos: bool = False) -> list[int]:
        return [int(word[1:]) for word in text.split()]

    def detokenize(self, token_ids: Sequence[int]) -> str:
        return "".join(f" w{i}" for i in token_ids)

    def row(self, token_ids: Sequence[int]) -> np.ndarray:
        before = token_ids[-2] if len(token_ids) > 1 else 0
        return self.rows[(before, token_ids[-1])]

    def next_top_k(self, token_ids: Sequence[int], k: int) -> TopK:
        self.calls += 1
        return top_k_of_logits(np.log(np.maximum(self.row(token_ids), 1e-300)), k)


class BatchTable(Table):
    """The same model, answering every position of a draft in one call (like echo)."""

    def positions_top_k(self, token_ids: Sequence[int], first: int, k: int) -> list[TopK | None]:
        self.batches += 1
        return [
            top_k_of_logits(np.log(np.maximum(self.row(token_ids[:end]), 1e-300)), k)
            for end in range(first, len(token_ids) + 1)
        ]


COMBINERS: list[Combiner] = [MeanCombiner(), MaxCombiner(), LearnedCombiner()]


@pytest.mark.parametrize("combiner", COMBINERS, ids=lambda c: c.name)
@pytest.mark.parametrize("draft", [1, 3, 8])
def test_greedy_drafting_writes_exactly_what_per_token_fusion_writes(
    combiner: Combiner, draft: int
) -> None:
    total_requests = total_tokens = 0
    for seed in range(12):
        local = Table("local", 9, seed)
        prompt = [seed % 9, (seed + 4) % 9]
        plain = fused_generate(
            local, Table("cloud", 9, 100 + seed), prompt, prompt, combiner, max_tokens=24, top_k=5
        )
        cloud = BatchTable("cloud", 9, 100 + seed)
        drafted = fused_generate(
            local, cloud, prompt, prompt, combiner, max_tokens=24, top_k=5, draft=draft
        )
        assert drafted.token_ids == plain.token_ids
        assert [t.weight for t in drafted.trace] == pytest.approx([t.weight for t in plain.trace])
        assert drafted.cloud_tokens == plain.cloud_tokens == 24
        assert plain.cloud_requests == 24
        assert drafted.cloud_requests == cloud.batches + cloud.calls
        total_requests += drafted.cloud_requests
        total_tokens += len(drafted.token_ids)
    if draft > 1:
        assert total_requests < total_tokens * 0.8


def test_greedy_drafting_keeps_first_k_and_max_tokens() -> None:
    for seed in range(8):
        local, prompt = Table("local", 7, seed), [1, 2]
        plain = fused_generate(
            local, Table("cloud", 7, 50 + seed), prompt, prompt, MeanCombiner(), max_tokens=15,
            first_k=6,
        )  # fmt: skip
        cloud = BatchTable("cloud", 7, 50 + seed)
        drafted = fused_generate(
            local, cloud, prompt, prompt, MeanCombiner(), max_tokens=15, first_k=6, draft=4
        )
        assert drafted.token_ids == plain.token_ids
        assert len(drafted.token_ids) == 15
        assert drafted.cloud_tokens == plain.cloud_tokens == 6
        assert [t.cloud_top is None for t in drafted.trace] == [i >= 6 for i in range(15)]


class WordScanner:
    """Flags any text that contains the secret word."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def scan(self, text: str) -> list[Hit]:
        at = text.find(self.secret)
        return [] if at == -1 else [Hit(at, at + len(self.secret), "canary", self.secret)]


class Recording(BatchTable):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.seen: list[list[int]] = []

    def next_top_k(self, token_ids: Sequence[int], k: int) -> TopK:
        self.seen.append(list(token_ids))
        return super().next_top_k(token_ids, k)

    def positions_top_k(self, token_ids: Sequence[int], first: int, k: int) -> list[TopK | None]:
        self.seen.append(list(token_ids))
        return super().positions_top_k(token_ids, first, k)


def test_drafts_with_private_text_are_never_sent_and_output_is_unchanged() -> None:
    checked = 0
    for seed in range(20):
        local, prompt = Table("local", 6, seed, alpha=0.5), [0, 1]
        secret = " w5"
        plain_cloud = Recording("cloud", 6, 300 + seed)
        plain = fused_generate(
            local, plain_cloud, prompt, prompt, MeanCombiner(), max_tokens=12,
            prefix_gate=PrefixGate(WordScanner(secret)),  # type: ignore[arg-type]
        )  # fmt: skip
        cloud = Recording("cloud", 6, 300 + seed)
        drafted = fused_generate(
            local, cloud, prompt, prompt, MeanCombiner(), max_tokens=12, draft=4,
            prefix_gate=PrefixGate(WordScanner(secret)),  # type: ignore[arg-type]
        )  # fmt: skip
        assert drafted.token_ids == plain.token_ids
        assert drafted.cloud_stopped_at == plain.cloud_stopped_at
        sent = [local.detokenize(ids[len(prompt) :]) for ids in cloud.seen]
        assert all(secret not in text for text in sent)
        checked += plain.cloud_stopped_at is not None
    assert checked >= 5  # the secret really came up in many of the runs


def exact_distribution(
    local: Table, cloud: Table, prompt: list[int], length: int, sampling: Sampling, k: int
) -> dict[tuple[int, ...], float]:
    """Probability of every sequence of ``length`` tokens under per-token fused sampling."""
    combiner = MeanCombiner()
    out: dict[tuple[int, ...], float] = {}
    for seq in itertools.product(range(local.vocab), repeat=length):
        prob = 1.0
        for i in range(length):
            ids = [*prompt, *seq[:i]]
            fused = combiner.combine(
                local.next_top_k(ids, k), cloud.next_top_k(ids, k), local.vocab
            )
            prob *= distribution(fused, sampling).get(seq[i], 0.0)
            if prob == 0.0:
                break
        if prob > 0:
            out[seq] = prob
    return out


def chi_square(
    counts: Counter[tuple[int, ...]], exact: dict[tuple[int, ...], float], n: int
) -> tuple[float, int]:
    """Pearson's statistic over cells with expected count >= 5 (the rest pooled)."""
    stat, cells, pooled_obs, pooled_exp = 0.0, 0, 0.0, 0.0
    for seq in set(exact) | set(counts):
        expected = exact.get(seq, 0.0) * n
        if expected >= 5:
            stat += (counts[seq] - expected) ** 2 / expected
            cells += 1
        else:
            pooled_obs += counts[seq]
            pooled_exp += expected
    if pooled_exp > 0:
        stat += (pooled_obs - pooled_exp) ** 2 / pooled_exp
        cells += 1
    elif pooled_obs > 0:
        stat = math.inf
    return stat, cells - 1


def critical(df: int, z: float = 3.29) -> float:
    """Chi-square quantile (p = 0.9995) by the Wilson-Hilferty approximation."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


@pytest.mark.parametrize(("temperature", "top_p"), [(1.0, 1.0), (0.7, 0.9)])
def test_speculative_sampling_keeps_the_fused_distribution(
    temperature: float, top_p: float
) -> None:
    local, prompt = Table("local", 4, 7, alpha=0.8), [0, 1]
    length, n, k = 3, 4000, 4
    exact = exact_distribution(
        local, Table("cloud", 4, 8, alpha=0.8), prompt, length, Sampling(temperature, top_p), k
    )
    drafted: Counter[tuple[int, ...]] = Counter()
    for seed in range(n):
        result = fused_generate(
            local, BatchTable("cloud", 4, 8, alpha=0.8), prompt, prompt, MeanCombiner(),
            max_tokens=length, top_k=k, draft=3, sampling=Sampling(temperature, top_p, seed=seed),
        )  # fmt: skip
        drafted[tuple(result.token_ids)] += 1
    stat, df = chi_square(drafted, exact, n)
    assert stat < critical(df), (stat, df)

    # the same test tells the local model's own distribution (the draft) apart
    alone: Counter[tuple[int, ...]] = Counter()
    for seed in range(n):
        result = fused_generate(
            local, None, prompt, prompt, MeanCombiner(), max_tokens=length, top_k=k,
            sampling=Sampling(temperature, top_p, seed=seed),
        )  # fmt: skip
        alone[tuple(result.token_ids)] += 1
    stat_alone, df_alone = chi_square(alone, exact, n)
    assert stat_alone > critical(df_alone), (stat_alone, df_alone)


def serve_table(table: Table, *, echo: bool = True) -> Callable[[str, bool, int], dict[str, Any]]:
    """An endpoint's ``logprobs`` answer from a word table (``echo=False``: ignores echo)."""

    def tops(ids: list[int], k: int) -> dict[str, float]:
        top = table.next_top_k(ids, k)
        return {f" w{i}": float(v) for i, v in zip(top.ids, top.logprobs, strict=True)}

    def answer(prompt: str, asked_echo: bool, k: int) -> dict[str, Any]:
        ids = table.tokenize(prompt)
        offsets = [3 * i for i in range(len(ids) + 1)]  # every word is " wN"
        last = {"tokens": [" w0"], "text_offset": [offsets[-1]], "top_logprobs": [tops(ids, k)]}
        if not (asked_echo and echo):
            return last
        return {
            "tokens": [f" w{i}" for i in ids] + last["tokens"],
            "text_offset": offsets,
            "top_logprobs": [None, *(tops(ids[:end], k) for end in range(1, len(ids)))]
            + last["top_logprobs"],
        }

    return answer


@pytest.mark.parametrize("echo", [True, False])
def test_remote_drafting_through_the_guard(echo: bool) -> None:
    local, prompt = Table("local", 8, 3), [2, 5]
    with RecordingServer() as server:
        server.logprobs_for = serve_table(Table("cloud", 8, 4), echo=echo)
        guard = EgressGuard(base_url=server.base_url, model="fake", audit_log=None)
        # the table's "words" (t0, t5, ...) are not language: the entity recognizer's
        # guesses about them would only add noise to an equivalence test
        scanner = PrivacyScanner(detect_entities=False)
        per_token = RemoteCompletionScorer(guard, local, scanner=scanner)
        plain = fused_generate(local, per_token, prompt, prompt, MeanCombiner(), max_tokens=20)
        drafting = RemoteCompletionScorer(guard, local, scanner=scanner)
        drafted = fused_generate(
            local, drafting, prompt, prompt, MeanCombiner(), max_tokens=20, draft=6
        )
    assert drafted.token_ids == plain.token_ids
    assert per_token.requests == 20
    if echo:
        assert drafting.echo_supported
        assert drafting.requests < 15
        assert server.requests[-1]["body"]["echo"] is True
    else:  # no prompt log-probabilities: one echo attempt, then one request per token
        assert not drafting.echo_supported
        assert drafting.requests == 21
