"""Raw logits of an in-process llama.cpp model at several positions of a sequence.

One loop, used by the token scorer (:class:`~langchain_cogenesis.fusion.LlamaCppScorer`)
and the reference likelihood
(:class:`~langchain_cogenesis.evaluation.likelihood.ReferenceLikelihood`): keep the
key-value cache of the prefix the context already holds, evaluate the rest of the
prefix, then decode the scored tokens in batches that ask for every position's logits.

The rows are read with ``llama_get_logits_ith``: with ``logits_all=False``
``Llama.scores`` stays all zeros, and ``logits_all=True`` would hold n_ctx ×
vocabulary floats. The batch is filled through llama-cpp-python's private
``_ctx`` and ``_batch`` (``Llama.eval`` asks for the last position's logits only).

Instantiate:
    .. code-block:: python

        from langchain_cogenesis.models.loader import load_model
        from langchain_cogenesis.models.logits import logits_rows

        loaded = load_model(model_path, n_ctx=1024, slot="score")
        ids = loaded.llama.tokenize(b"The capital of France is Paris", add_bos=True)
        with loaded.lock:
            rows = logits_rows(loaded.llama, ids, first=2)  # after ids[:2] ... ids[:]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from langchain_cogenesis.models.generation import common_prefix

if TYPE_CHECKING:
    import numpy as np
    from llama_cpp import Llama


def iter_logits(
    llama: Llama, token_ids: Sequence[int], first: int, *, chunk_size: int | None = None
) -> Iterator[np.ndarray]:
    """The raw logits after ``token_ids[:i]`` for each ``i`` from ``first`` to the end.

    The context keeps the cache of the longest prefix it shares with ``token_ids``
    (whoever evaluated it last), at most ``token_ids[:first - 1]``: a position's
    logits exist only right after it is evaluated, so the last prefix token is
    decoded again. The rest of the prefix is evaluated now, before this returns;
    ``token_ids[first - 1:]`` is then decoded ``chunk_size`` tokens at a time
    (default ``llama.n_batch``; ``1`` steps as per-token decoding does, whose
    numbers differ from a batch's in the last digits) as the iterator is read.
    ``llama.input_ids`` and ``llama.n_tokens`` follow every step, so the next call,
    or a generation, finds the cache.

    Each row is a view of llama.cpp's logits buffer, valid until the next decode:
    use or copy it before reading the next one (:func:`logits_rows` copies). Hold
    the loaded model's lock until the iterator is done.

    Raises:
        ValueError: ``first`` is not a position inside ``token_ids``, or
            ``chunk_size`` is not between 1 and ``llama.n_batch``.
    """
    ids = list(token_ids)
    if not 0 < first <= len(ids):
        raise ValueError("first must be a position inside token_ids (the prompt is needed)")
    size = llama.n_batch if chunk_size is None else chunk_size
    if not 0 < size <= llama.n_batch:
        raise ValueError(f"chunk_size must be between 1 and n_batch ({llama.n_batch})")
    # the cache may hold another user's sequence: keep what it shares with ours
    common = min(common_prefix(llama.input_ids[: llama.n_tokens], ids), first - 1)
    llama.n_tokens = common
    if common < first - 1:
        llama.eval(ids[common : first - 1])
    return _decode_rows(llama, ids[first - 1 :], size)


def _decode_rows(llama: Llama, tokens: list[int], size: int) -> Iterator[np.ndarray]:
    """Decode ``tokens`` after the context's ``n_tokens``, ``size`` at a time, and
    yield each position's logits."""
    import llama_cpp
    import numpy as np

    n_vocab = llama.n_vocab()
    for start in range(0, len(tokens), size):
        chunk = tokens[start : start + size]
        n_past = llama.n_tokens
        llama._ctx.kv_cache_seq_rm(-1, n_past, -1)
        llama._batch.set_batch(batch=chunk, n_past=n_past, logits_all=True)
        llama._ctx.decode(llama._batch)
        llama.input_ids[n_past : n_past + len(chunk)] = chunk
        llama.n_tokens += len(chunk)
        for row in range(len(chunk)):
            pointer: Any = llama_cpp.llama_get_logits_ith(llama.ctx, row)
            yield np.ctypeslib.as_array(pointer, shape=(n_vocab,))


def logits_rows(
    llama: Llama, token_ids: Sequence[int], first: int, *, chunk_size: int | None = None
) -> np.ndarray:
    """:func:`iter_logits` as one float32 array of ``len(token_ids) - first + 1`` rows
    (copies, so they outlive the next decode).

    Raises:
        ValueError: as :func:`iter_logits`.
    """
    import numpy as np

    steps = iter_logits(llama, token_ids, first, chunk_size=chunk_size)  # checks first
    rows = np.empty((len(token_ids) - first + 1, llama.n_vocab()), dtype=np.float32)
    for index, row in enumerate(steps):
        rows[index] = row
    return rows
