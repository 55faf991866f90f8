"""The shared llama.cpp logits loop on the real model (Gemma 3 270M)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from langchain_cogenesis.models.loader import LoadedModel, load_model
from langchain_cogenesis.models.logits import iter_logits, logits_rows

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def loaded(model_path: Path) -> LoadedModel:
    return load_model(model_path, n_ctx=512, slot="logits-test")  # a context of its own


def cold_rows(loaded: LoadedModel, ids: Sequence[int], first: int) -> np.ndarray:
    loaded.llama.n_tokens = 0  # forget the cache: everything is evaluated afresh
    return logits_rows(loaded.llama, ids, first)


def log_softmax(rows: np.ndarray) -> np.ndarray:
    shifted = rows.astype(np.float64) - rows.max(axis=1, keepdims=True)
    return np.asarray(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))


def test_cache_reuse_gives_the_logits_of_a_cold_run(
    loaded: LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    llama = loaded.llama
    prompt = list(llama.tokenize(b"The capital of France is", add_bos=True))
    ids = prompt + list(llama.tokenize(b" Paris, on the Seine.", add_bos=False))
    other = prompt + list(llama.tokenize(b" a question for later.", add_bos=False))
    first = len(prompt)
    with loaded.lock:
        cold = cold_rows(loaded, ids, first)
        assert cold.shape == (len(ids) - first + 1, llama.n_vocab())
        assert llama.n_tokens == len(ids)
        assert llama.input_ids[: len(ids)].tolist() == ids
        # another sequence with the same prompt leaves the prompt's cache behind
        logits_rows(llama, other, first)
        evaluated: list[list[int]] = []
        evaluate = llama.eval
        monkeypatch.setattr(
            llama, "eval", lambda tokens: (evaluated.append(list(tokens)), evaluate(tokens))
        )
        warm = logits_rows(llama, ids, first)
        assert evaluated == []  # the prefix came from the cache; only the tail was decoded
        np.testing.assert_allclose(warm, cold, atol=1e-3)
        # a longer cache than the first scored position is cut back, then extended
        shorter = logits_rows(llama, ids, first + 2)
        np.testing.assert_allclose(shorter, cold[2:], atol=1e-3)
        assert llama.n_tokens == len(ids)


def test_one_token_steps_match_a_batch(loaded: LoadedModel) -> None:
    llama = loaded.llama
    ids = list(llama.tokenize(b"Three fruits that grow on trees: apples, pears", add_bos=True))
    first = 3
    with loaded.lock:
        batched = cold_rows(loaded, ids, first)
        llama.n_tokens = 0
        stepped = [row.copy() for row in iter_logits(llama, ids, first, chunk_size=1)]
    assert len(stepped) == len(ids) - first + 1
    # quantized kernels differ by batch size (~0.1 nat on average here), not in the choice
    assert [int(row.argmax()) for row in stepped] == batched.argmax(axis=1).tolist()
    batch_logprobs, step_logprobs = log_softmax(batched), log_softmax(np.stack(stepped))
    expected_gap = (np.exp(batch_logprobs) * np.abs(batch_logprobs - step_logprobs)).sum(axis=1)
    assert expected_gap.max() < 0.3


def test_positions_outside_the_sequence_are_refused(loaded: LoadedModel) -> None:
    llama = loaded.llama
    ids = list(llama.tokenize(b"Hello", add_bos=True))
    with loaded.lock, pytest.raises(ValueError, match="first must be a position"):
        logits_rows(llama, ids, 0)
    with loaded.lock, pytest.raises(ValueError, match="first must be a position"):
        logits_rows(llama, ids, len(ids) + 1)
    with loaded.lock, pytest.raises(ValueError, match="chunk_size"):
        logits_rows(llama, ids, 1, chunk_size=0)
