"""Judge-free quality: how likely the local model finds the reference answer.

The mean negative log-likelihood per token of a task's reference answer under the
local model, conditioned as each setting conditions it, tells the settings apart
without a judge (the paper's eq. 3 is this likelihood, maximised):

- ``no-context``: the public instruction alone (Table 7, without context), what a
  model that sees nothing private reads;
- ``context``: Table 7's with-context prompt over the retrieved private context
  (the ``local`` setting);
- ``sketch``: the same plus the cloud's spotlighted sketch (the ``sketch`` setting);
- ``oracle-sketch``: the same plus a sketch extracted from the reference itself
  (:func:`oracle_sketch`), the bound of what a better cloud's sketch could give.

The prompts are built by the same functions the graphs use
(:func:`~langchain_cogenesis.prompts.writer_messages`,
:func:`~langchain_cogenesis.prompts.without_context_prompt`), so the figure measures
what the graphs show the model. Lower is better.

Instantiate:
    .. code-block:: python

        from langchain_cogenesis.evaluation.likelihood import ReferenceLikelihood

        likelihood = ReferenceLikelihood(model_path)
        score = likelihood.score(prompt_text, reference, max_tokens=64)
        score.mean  # nats per reference token
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from langchain_core.documents import Document
from langchain_core.messages import BaseMessage

from langchain_cogenesis import prompts
from langchain_cogenesis.errors import LocalModelError, MissingExtra
from langchain_cogenesis.models.logits import logits_rows
from langchain_cogenesis.schema import ContextAwareInstruction

with MissingExtra.if_absent("local", "The reference likelihood (llama.cpp logits)"):
    import numpy as np

if TYPE_CHECKING:
    from llama_cpp import Llama

    from langchain_cogenesis.models.loader import LoadedModel

Condition = Literal["no-context", "context", "sketch", "oracle-sketch"]
CONDITIONS: tuple[Condition, ...] = ("no-context", "context", "sketch", "oracle-sketch")

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def oracle_sketch(reference: str, *, points: int = 15, words: int = 5) -> str:
    """A sketch of ``reference`` in Table 8's shape, extracted without a model.

    One numbered point per sentence of the reference (its first ``words`` words),
    at most ``points`` of them: the 8-15 short points Table 8 asks the cloud for,
    but taken from the answer itself, so it is the sketch a perfect planner would
    give. Deterministic.
    """
    sentences = [s.strip() for s in _SENTENCE_END.split(reference) if s.strip()]
    outline = []
    for sentence in sentences:
        head = " ".join(sentence.split()[:words]).rstrip(",;:")
        if head and head not in outline:
            outline.append(head)
        if len(outline) == points:
            break
    return "\n".join(f"{number}. {point}" for number, point in enumerate(outline, 1))


def condition_messages(
    condition: Condition,
    instruction: ContextAwareInstruction,
    context: Sequence[Document],
    *,
    sketch: str = "",
    reference: str = "",
    datamark: bool = False,
) -> list[BaseMessage]:
    """The messages the local model reads under ``condition``.

    ``sketch`` is the cloud's sketch (``sketch``); ``reference`` gives the oracle's
    (``oracle-sketch``). ``no-context`` reads the public instruction alone, as a model
    that sees nothing private does.
    """
    kind, task = instruction.kind, instruction.full_instruction
    if condition == "no-context":
        return prompts.without_context_prompt(kind).format_messages(
            task=instruction.public_instruction
        )
    if condition == "context":
        return prompts.writer_messages(kind, task, context)
    if condition == "sketch":
        return prompts.writer_messages(kind, task, context, sketch, datamark=datamark)
    if condition == "oracle-sketch":
        return prompts.writer_messages(
            kind, task, context, oracle_sketch(reference), datamark=datamark
        )
    raise ValueError(f"unknown condition {condition!r}; choose from {', '.join(CONDITIONS)}")


def token_nll(logits: np.ndarray, targets: Sequence[int]) -> np.ndarray:
    """Negative log-likelihood of each target under each row of logits.

    ``logits[i]`` is the distribution that predicts ``targets[i]``; a log-softmax over
    the whole row (shifted by its maximum, so large logits do not overflow).
    """
    rows = np.asarray(logits, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[0] != len(targets):
        raise ValueError("one row of logits per target")
    peaks = rows.max(axis=1, keepdims=True)
    log_norm = peaks[:, 0] + np.log(np.exp(rows - peaks).sum(axis=1))
    picked = rows[np.arange(len(targets)), np.asarray(targets, dtype=np.int64)]
    return np.asarray(log_norm - picked)


@dataclass(frozen=True)
class ReferenceScore:
    """The reference's negative log-likelihood under one prompt."""

    nll_sum: float
    """Total, in nats."""
    tokens: int
    characters: int
    """Characters of the scored part of the reference (for comparing tokenizers)."""

    @property
    def mean(self) -> float:
        """Nats per token."""
        return self.nll_sum / self.tokens if self.tokens else float("nan")

    @property
    def per_character(self) -> float:
        """Nats per character: comparable between models with different tokenizers."""
        return self.nll_sum / self.characters if self.characters else float("nan")


class ReferenceLikelihood:
    """Scores a reference after a prompt with an in-process llama.cpp model.

    The prompt is evaluated once; the reference's tokens go in batches that ask for
    every position's logits (``llama_get_logits_ith``; with ``logits_all=False``
    ``Llama.scores`` stays zero, and ``logits_all=True`` would hold n_ctx × vocabulary
    floats). The key-value cache of the longest common prefix with the previous call
    is kept, so conditions that share the context prompt pay for it once.

    Key init args:
        model_path: the GGUF file.
        n_ctx: window of this scorer's own llama.cpp context.
        n_threads: CPU threads (default: llama.cpp's choice).
        render: messages → prompt text (default: the model's own chat template,
            :func:`~langchain_cogenesis.models.templates.chat_template_for`).
    """

    def __init__(
        self,
        model_path: Path | str,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        render: Callable[[list[BaseMessage]], str] | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self._render = render

    @property
    def loaded(self) -> LoadedModel:
        """The model from the package's one loader, in a context of its own (``score``)."""
        from langchain_cogenesis.models.loader import load_model

        return load_model(self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads, slot="score")

    @property
    def llama(self) -> Llama:
        """The llama.cpp model."""
        return self.loaded.llama

    def render(self, messages: list[BaseMessage]) -> str:
        """``messages`` as prompt text, in the model's own chat template unless a
        ``render`` was given."""
        if self._render is not None:
            return self._render(messages)
        from langchain_cogenesis.models.templates import chat_template_for

        return prompts.chat_text(messages, chat_template_for(self.model_path))

    def tokenize(self, text: str, *, add_bos: bool, special: bool) -> list[int]:
        """Token ids of ``text``; ``special`` parses special tokens (a prompt's turn
        markers), which a reference answer's text must not produce."""
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special))

    def score_messages(
        self, messages: list[BaseMessage], reference: str, *, max_tokens: int | None = None
    ) -> ReferenceScore:
        """:meth:`score` of ``reference`` after ``messages`` in the model's chat format."""
        return self.score(self.render(messages), reference, max_tokens=max_tokens)

    def score(
        self, prompt: str, reference: str, *, max_tokens: int | None = None
    ) -> ReferenceScore:
        """The NLL of ``reference`` (its first ``max_tokens`` tokens) after ``prompt``.

        Raises:
            LocalModelError: prompt and reference do not fit the window.
        """
        prompt_ids = self.tokenize(prompt, add_bos=True, special=True)
        target = self.tokenize(reference.strip(), add_bos=False, special=False)[:max_tokens]
        if not target:
            return ReferenceScore(0.0, 0, 0)
        ids = prompt_ids + target
        if len(ids) > self.n_ctx:
            raise LocalModelError(
                f"Prompt and reference take {len(ids):,} tokens; the scorer's window is "
                f"{self.n_ctx:,}. Pass a larger n_ctx or a smaller max_tokens."
            )
        with self.loaded.lock:
            logits = self._logits_after(ids, len(prompt_ids))
        nll = token_nll(logits, target)
        text = self.llama.detokenize(target).decode("utf-8", errors="replace")
        return ReferenceScore(float(nll.sum()), len(target), len(text))

    def next_logits(self, prompt: str) -> np.ndarray:
        """The model's logits for the token after ``prompt`` (special tokens parsed).

        Raises:
            LocalModelError: the prompt does not fit the window.
        """
        ids = self.tokenize(prompt, add_bos=True, special=True)
        if len(ids) + 1 > self.n_ctx:
            raise LocalModelError(
                f"The prompt takes {len(ids):,} tokens; the scorer's window is {self.n_ctx:,}."
            )
        with self.loaded.lock:  # one placeholder token: its row is the next-token logits
            rows = self._logits_after([*ids, ids[-1]], len(ids))
        return np.asarray(rows[0])

    def _logits_after(self, ids: list[int], first: int) -> np.ndarray:
        """Rows of logits after ``ids[:i]`` for ``i`` from ``first`` to ``len(ids) - 1``
        (:func:`~langchain_cogenesis.models.logits.logits_rows`; the last id is only
        predicted, never evaluated)."""
        return logits_rows(self.llama, ids[:-1], first)
