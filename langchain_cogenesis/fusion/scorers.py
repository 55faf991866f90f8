"""Token scorers: the top-k next-token log-probabilities of a model after a prefix.

One small protocol, :class:`TokenScorer`, so that the decoding loop does not care
whether a model runs in this process (llama.cpp) or behind an endpoint.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from langchain_cogenesis.errors import (
    CloudLogprobsUnavailable,
    CloudResponseError,
    LocalModelError,
)
from langchain_cogenesis.models.logits import iter_logits

if TYPE_CHECKING:
    from llama_cpp import Llama

    from langchain_cogenesis.models.loader import LoadedModel
    from langchain_cogenesis.models.templates import ChatTemplate


@dataclass(frozen=True)
class TopK:
    """The ``k`` most likely next tokens and their log-probabilities, best first."""

    ids: np.ndarray
    logprobs: np.ndarray

    def __post_init__(self) -> None:
        if self.ids.shape != self.logprobs.shape:
            raise ValueError("ids and logprobs must have the same shape")


def top_k_of_logits(logits: np.ndarray, k: int) -> TopK:
    """Log-softmax over the whole row, then the ``k`` best (numpy argpartition)."""
    row = logits.astype(np.float64, copy=False)
    peak = float(row.max())
    log_norm = peak + float(np.log(np.exp(row - peak).sum()))
    k = min(k, row.shape[0])
    best = np.argpartition(row, -k)[-k:]
    best = best[np.argsort(row[best])[::-1]]
    return TopK(ids=best.astype(np.int64), logprobs=row[best] - log_norm)


class TokenScorer(Protocol):
    """Given token ids, the top-k next-token log-probabilities after them."""

    name: str

    def vocab_size(self) -> int:
        """Number of tokens in the model's vocabulary."""
        ...

    def tokenize(self, text: str, *, add_bos: bool = False) -> list[int]:
        """Token ids of ``text``."""
        ...

    def detokenize(self, token_ids: Sequence[int]) -> str:
        """Text of ``token_ids``."""
        ...

    def next_top_k(self, token_ids: Sequence[int], k: int) -> TopK:
        """The top-``k`` next tokens after ``token_ids``."""
        ...


def score_positions(
    scorer: TokenScorer, token_ids: Sequence[int], first: int, k: int
) -> list[TopK | None]:
    """The top-``k`` after ``token_ids[:i]`` for each ``i`` from ``first`` to ``len(token_ids)``.

    A scorer with a ``positions_top_k`` method (a remote endpoint with prompt
    log-probabilities) answers in one call; any other is asked once per position. An
    entry is ``None`` where a scorer could not tell that position's distribution.
    """
    ids = list(token_ids)
    if not 0 < first <= len(ids):
        raise ValueError("first must be a position inside token_ids")
    if first == len(ids):
        return [scorer.next_top_k(ids, k)]
    batch = getattr(scorer, "positions_top_k", None)
    if batch is not None:
        tops: list[TopK | None] = batch(ids, first, k)
        return tops
    return [scorer.next_top_k(ids[:end], k) for end in range(first, len(ids) + 1)]


def _top_k_of_pairs(pairs: Sequence[tuple[int, float]], k: int) -> TopK:
    best = sorted(pairs, key=lambda pair: pair[1], reverse=True)[:k]
    return TopK(
        ids=np.array([pair[0] for pair in best], dtype=np.int64),
        logprobs=np.array([pair[1] for pair in best], dtype=np.float64),
    )


class LlamaCppScorer:
    """An in-process llama.cpp model as a :class:`TokenScorer`.

    Reads the last position's raw logits with ``llama_get_logits_ith`` (with
    ``logits_all=False``, ``Llama.scores`` stays all zeros) and keeps the KV cache of
    the longest common prefix between calls, so extending a sequence by one token
    costs one forward step.

    Key init args:
        model_path: the GGUF file.
        n_ctx: context window (scorers and chat models on the same file and window
            share one loaded model and take turns on it).
        name: a label used in traces (``"local"``, ``"cloud"``); also the loaded
            model's slot: scorers of one name share a context with each other (and
            ``"local"`` with the local chat model), another name gets its own.
        lora_path: a GGUF LoRA adapter applied on load (a fine-tuned local model).
        batch_positions: score several positions in one llama.cpp batch (fast). A
            batch and one-token steps give logits that differ in the last digits
            (quantized kernels differ by batch size; up to ~0.1 nat measured on
            Gemma 3 270M), which can flip near ties; ``False`` steps one token at a
            time, exactly as per-token decoding does.
    """

    def __init__(
        self,
        model_path: Path | str,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        name: str = "local",
        batch_positions: bool = True,
        lora_path: Path | str | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        self.lora_path = Path(lora_path) if lora_path else None
        self.batch_positions = batch_positions
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.name = name
        self._loaded: LoadedModel | None = None

    @property
    def loaded(self) -> LoadedModel:
        """The shared llama.cpp model (loaded on first use by the package's one loader,
        :func:`~langchain_cogenesis.models.loader.load_model`; a chat model on the same
        file and window shares it). Looked up once: the scorer is asked for it at every
        token, and for every token of the vocabulary when its pieces are mapped."""
        if self._loaded is None:
            from langchain_cogenesis.models.loader import load_model

            self._loaded = load_model(
                self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                lora_path=self.lora_path,
                slot=self.name,
            )
        return self._loaded

    @property
    def llama(self) -> Llama:
        """The llama.cpp model (loaded on first use)."""
        return self.loaded.llama

    def chat_template(self) -> ChatTemplate:
        """The model's own chat template (from its GGUF metadata)."""
        return self.loaded.chat_template()

    def vocab_size(self) -> int:
        """Number of tokens in the vocabulary."""
        return int(self.llama.n_vocab())

    def tokenize(self, text: str, *, add_bos: bool = False) -> list[int]:
        """Token ids of ``text`` (special tokens are parsed)."""
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))

    def detokenize(self, token_ids: Sequence[int]) -> str:
        """Text of ``token_ids``."""
        return self.llama.detokenize(list(token_ids)).decode("utf-8", errors="replace")

    def prompt_text(self, token_ids: Sequence[int]) -> str:
        """Text of ``token_ids`` with special tokens (turn markers) written out, as a
        server that parses special tokens must read a prompt to get the same ids."""
        text = self.llama.detokenize(list(token_ids), special=True)
        return text.decode("utf-8", errors="replace")

    def next_top_k(self, token_ids: Sequence[int], k: int) -> TopK:
        """Evaluate what is new in ``token_ids`` and return the top-``k`` after it."""
        top = self.positions_top_k(token_ids, len(token_ids), k)[0]
        assert top is not None
        return top

    def positions_top_k(self, token_ids: Sequence[int], first: int, k: int) -> list[TopK | None]:
        """The top-``k`` after ``token_ids[:i]`` for ``i`` from ``first`` to the end.

        The positions are evaluated in one llama.cpp batch that asks for the logits of
        each of them (what a server does for an ``echo`` request), after the part
        before them has been evaluated (or found in the cache):
        :func:`~langchain_cogenesis.models.logits.iter_logits`.
        """
        ids = list(token_ids)
        if not 0 < first <= len(ids):
            raise ValueError("first must be a position inside token_ids (the prompt is needed)")
        if len(ids) >= self.n_ctx:
            raise LocalModelError(
                f"{len(ids)} tokens do not fit the {self.name} scorer's window of {self.n_ctx}."
            )
        loaded = self.loaded
        with loaded.lock:
            step = None if self.batch_positions else 1  # None: llama.n_batch at a time
            rows = iter_logits(loaded.llama, ids, first, chunk_size=step)
            loaded.owner = self
            return [top_k_of_logits(logits, k) for logits in rows]


class RemoteCompletionScorer:
    """A cloud model behind an OpenAI-compatible ``/v1/completions`` endpoint.

    Every request goes through the :class:`~langchain_cogenesis.privacy.EgressGuard`:
    the prefix is turned back into text with the shared vocabulary, scanned, logged,
    and sent with ``max_tokens=1`` and ``logprobs=k``; the returned token strings are
    mapped back to ids through the same vocabulary. Only the cloud's distribution
    crosses the boundary; the local model's never leaves. :meth:`positions_top_k`
    scores a whole drafted continuation in one ``echo`` request.

    Key init args:
        guard: the egress guard (the one door).
        vocabulary: a scorer with the shared tokenizer (the local model).
        scanner: the run's privacy scanner; user_id: for the audit log.
    """

    def __init__(
        self,
        guard: Any,
        vocabulary: TokenScorer,
        *,
        scanner: Any = None,
        user_id: str = "",
        name: str = "cloud",
        skip_ids: Sequence[int] = (),
    ) -> None:
        self.guard = guard
        self.vocabulary = vocabulary
        self.scanner = scanner
        self.user_id = user_id
        self.name = name
        self.skip_ids = set(skip_ids)
        self.requests = 0
        self.echo_supported = True
        """Whether the endpoint returns prompt log-probabilities (turned off at the first no)."""
        self.prompts_sent: list[str] = []
        self._piece_ids: dict[str, int] | None = None

    def vocab_size(self) -> int:
        """The shared vocabulary's size."""
        return self.vocabulary.vocab_size()

    def tokenize(self, text: str, *, add_bos: bool = False) -> list[int]:
        """Token ids with the shared vocabulary."""
        return self.vocabulary.tokenize(text, add_bos=add_bos)

    def detokenize(self, token_ids: Sequence[int]) -> str:
        """Text with the shared vocabulary."""
        return self.vocabulary.detokenize(token_ids)

    def piece_ids(self) -> dict[str, int]:
        """Token text → id for the whole shared vocabulary (first id wins), built once
        per model file in this process (:func:`~langchain_cogenesis.fusion.tokenizer.piece_map`)."""
        if self._piece_ids is None:
            from langchain_cogenesis.fusion.tokenizer import piece_map  # it imports this module

            self._piece_ids = piece_map(self.vocabulary)
        return self._piece_ids

    def next_top_k(self, token_ids: Sequence[int], k: int) -> TopK:
        """One guarded completion request: the cloud's top-``k`` after the prefix."""
        prompt = self._prompt(token_ids)
        self.requests += 1
        tops = self.guard.next_token_logprobs(
            prompt, top_k=k, scanner=self.scanner, user_id=self.user_id
        )
        self.prompts_sent.append(prompt)
        top = self._to_ids(tops, k)
        if top is None:
            raise CloudResponseError("The cloud's top tokens are not in the shared vocabulary.")
        return top

    def positions_top_k(self, token_ids: Sequence[int], first: int, k: int) -> list[TopK | None]:
        """One guarded echo request: the cloud's top-``k`` at each position from ``first``.

        The endpoint returns each prompt token with its character offset; a position is
        matched by the offset of our own token boundary. Where the endpoint split the
        text differently there is no such boundary and the entry is ``None``.
        """
        ids = [t for t in token_ids if t not in self.skip_ids]
        skipped = len(token_ids) - len(ids)
        positions = range(max(0, first - skipped), len(ids) + 1)
        if not self.echo_supported:
            return [None for _ in positions]
        prompt = self.vocabulary.detokenize(ids)
        self.requests += 1
        try:
            entries = self.guard.prompt_logprobs(
                prompt, top_k=k, scanner=self.scanner, user_id=self.user_id
            )
        except CloudLogprobsUnavailable:
            # e.g. llama.cpp's own server, OpenAI: one request per token from now on
            self.prompts_sent.append(prompt)
            self.echo_supported = False
            return [None for _ in positions]
        self.prompts_sent.append(prompt)
        seen = Counter(offset for offset, _ in entries)
        by_offset = {offset: tops for offset, tops in entries if tops and seen[offset] == 1}
        ours = [len(self.vocabulary.detokenize(ids[:end])) for end in positions]
        mine = Counter(ours)
        answer: list[TopK | None] = []
        for offset in ours:
            # an offset shared by two tokens (one that decodes to no text) is ambiguous
            tops = by_offset.get(offset) if mine[offset] == 1 else None
            answer.append(self._to_ids(tops, k) if tops else None)
        return answer

    def _prompt(self, token_ids: Sequence[int]) -> str:
        ids = [t for t in token_ids if t not in self.skip_ids]
        # with the chat template's special tokens written out (the endpoint parses them
        # back), the cloud reads the prompt in its template, not bare role names
        render = getattr(self.vocabulary, "prompt_text", None)
        return str(render(ids)) if render is not None else self.vocabulary.detokenize(ids)

    def _to_ids(self, tops: dict[str, float], k: int) -> TopK | None:
        pieces = self.piece_ids()
        pairs = [(pieces[text], value) for text, value in tops.items() if text in pieces]
        return _top_k_of_pairs(pairs, k) if pairs else None
