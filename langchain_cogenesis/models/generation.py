"""Token-by-token generation on a shared llama.cpp model, one lock hold per token.

A loaded model is shared by every user in the process, and its context caches
one sequence at a time. Each generation step takes the model's lock, brings the
cache back to this generation's tokens if another user moved it (only the part
that differs is evaluated again), samples one token and lets go, so a consumer
that pauses between tokens does not hold up anyone else.
"""

from __future__ import annotations

import codecs
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_cogenesis.errors import LocalModelError
from langchain_cogenesis.models.loader import LoadedModel


def common_prefix(cached: Sequence[int] | Any, tokens: Sequence[int]) -> int:
    """Length of the longest common prefix of two token sequences (``cached`` may be
    llama.cpp's numpy array of evaluated ids)."""
    import numpy as np  # llama-cpp-python's own dependency; not needed to import this module

    size = min(len(cached), len(tokens))
    if size == 0:
        return 0
    differ = np.nonzero(np.asarray(cached[:size]) != np.asarray(tokens[:size]))[0]
    return int(differ[0]) if differ.size else size


def sync_context(model: LoadedModel, tokens: Sequence[int], owner: object) -> None:
    """Make the context hold ``tokens`` with the logits of the last one live.

    Call with ``model.lock`` held. When ``owner`` was the last user, the cache is
    its own and only the new tokens are evaluated; otherwise the longest prefix the
    cache shares with ``tokens`` is kept and the rest is evaluated again.
    """
    llama = model.llama
    cached = llama.n_tokens
    if model.owner is owner and cached < len(tokens):
        common = cached
    else:
        common = common_prefix(llama.input_ids[:cached], tokens)
    llama.n_tokens = min(common, len(tokens) - 1)  # the last token is evaluated for its logits
    llama.eval(list(tokens[llama.n_tokens :]))
    model.owner = owner


@dataclass
class Sampling:
    """How the next token is drawn (llama.cpp's sampler chain)."""

    temperature: float = 0.7
    top_p: float = 0.9
    repeat_penalty: float = 1.0
    seed: int | None = None
    grammar: Any = None
    """A ``llama_cpp.LlamaGrammar`` every token must follow (structured output)."""


@dataclass
class Generation:
    """What a finished (or running) generation reports for usage metadata."""

    prompt_tokens: int
    completion_tokens: int = 0
    finish_reason: str | None = None


def _held_back(text: str, stops: Sequence[str]) -> int:
    """How many trailing characters of ``text`` might begin a stop sequence."""
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:size]):
                longest = size
                break
    return longest


def generate_text(
    model: LoadedModel,
    prompt: Sequence[int],
    report: Generation,
    *,
    max_tokens: int,
    sampling: Sampling,
    stop: Sequence[str] = (),
) -> Iterator[str]:
    """Yield the text of new tokens as they are decoded (held back while they may
    be the start of a stop sequence). Ends at the model's end-of-generation token
    (end of turn, eos), a stop sequence, ``max_tokens`` or the window's end;
    ``report`` holds the counts and finish reason.

    Raises:
        LocalModelError: the prompt does not fit the model's window.
    """
    import llama_cpp

    llama = model.llama
    window = int(llama.n_ctx())
    tokens = list(prompt)
    if not tokens or len(tokens) >= window:
        raise LocalModelError(
            f"The local model could not take this prompt: {len(tokens)} tokens for a "
            f"window of {window}. Retrieve fewer documents (smaller k) or raise n_ctx."
        )
    owner = object()
    sampler: Any = None
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    stops = [s for s in stop if s]
    text, shown = "", 0
    for _ in range(max_tokens):
        if len(tokens) >= window:
            report.finish_reason = "length"
            break
        with model.lock:  # one step: the lock is not held while the consumer has the text
            if sampler is None:
                seed = sampling.seed if sampling.seed is not None else random.getrandbits(32)
                llama.set_seed(seed)
                sampler = llama._init_sampler(
                    temp=sampling.temperature,
                    top_p=sampling.top_p,
                    repeat_penalty=sampling.repeat_penalty,
                    grammar=sampling.grammar,
                )
            sync_context(model, tokens, owner)
            token = int(sampler.sample(llama._ctx, -1))
        if llama_cpp.llama_vocab_is_eog(llama._model.vocab, token):
            report.finish_reason = "stop"
            break
        tokens.append(token)
        report.completion_tokens += 1
        text += decoder.decode(llama.detokenize([token]))
        found = [text.index(s) for s in stops if s in text]
        if found:
            text = text[: min(found)]
            report.finish_reason = "stop"
            break
        ready = len(text) - _held_back(text, stops)
        if ready > shown:
            yield text[shown:ready]
            shown = ready
    if report.finish_reason is None:
        report.finish_reason = "length"
    text += decoder.decode(b"", final=True) if report.finish_reason == "length" else ""
    if len(text) > shown:
        yield text[shown:]
