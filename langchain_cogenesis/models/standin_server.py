"""The stand-in cloud's server: ``llama_cpp.server`` as shipped, with completion
log-probabilities ranked by partial selection.

For a ``/v1/completions`` request with ``logprobs``, llama_cpp ranks the whole
vocabulary with Python's ``sorted`` at every scored position (262,144 entries for
Gemma 3: about 0.4 s a position, on every prompt token of an ``echo`` request),
which made fused decoding against the stand-in take 9x as long as in process, more
with drafting. Here the same request is answered from the same logits with numpy: a
log-softmax per scored row (llama_cpp's own ``Llama.logits_to_logprobs``), the top
k by partial selection (a bound read from a sample of the row, then only the
entries above it sorted). The JSON is llama_cpp's: the same tokens, text offsets,
values, and top-k entries in the same order (highest first; a tie goes to the
higher token id, as llama_cpp's sort of ``(value, id)`` pairs breaks it).

Run it with ``llama_cpp.server``'s arguments::

    python -m langchain_cogenesis.models.standin_server --model M.gguf --logits_all True

:class:`~langchain_cogenesis.models.StandInCloud` does. Streamed completions and
requests with a ``suffix`` keep llama_cpp's own path. The llama_cpp internals this
relies on are checked at start-up by :func:`check_llama_cpp`, so a release that
moves them fails loudly instead of answering differently.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterator
from typing import Any

from langchain_cogenesis.errors import MissingExtra

with MissingExtra.if_absent("local", "The stand-in cloud's server (numpy)"):
    import numpy as np
    import numpy.typing as npt

__all__ = ["FastCompletionLogprobs", "check_llama_cpp", "install", "main", "top_k_ids"]

# what the fast path reads of llama_cpp.Llama (private names: checked at start-up)
_LLAMA_NAMES = ("_create_completion", "generate", "_scores", "logits_to_logprobs", "detokenize")
_CREATE_COMPLETION_ARGUMENTS = ("prompt", "suffix", "logprobs", "echo", "stream")
# sample size per wanted id when bounding the top k (about a thousand candidates for
# k = 10 of 262,144: a pass over the row instead of a selection over all of it)
_SAMPLE_PER_K = 256


def top_k_ids(logprobs: npt.NDArray[np.floating[Any]], k: int) -> npt.NDArray[np.intp]:
    """Ids of the ``k`` largest entries of one row, largest first, a tie going to the
    higher id: the order of ``sorted(zip(row, range(len(row))), reverse=True)[:k]``,
    found without sorting the row."""
    size = int(logprobs.shape[0])
    k = min(k, size)
    if k <= 0:
        return np.empty(0, dtype=np.intp)
    # a bound at or below the k-th largest value: the k-th largest of an evenly spaced
    # sample (k entries of the row reach it), by partial selection of the sample
    sample = logprobs[:: max(size // (_SAMPLE_PER_K * k), 1)]
    bound = sample[np.argpartition(sample, sample.size - k)[sample.size - k]]
    # the top k and every entry tied with the k-th (the sort below picks among them)
    candidates = np.flatnonzero(logprobs >= bound)
    order = np.lexsort((-candidates, -logprobs[candidates]))
    return candidates[order][:k]


class FastCompletionLogprobs:
    """Takes the place of one ``Llama``'s ``_create_completion``: a request with
    ``logprobs`` runs llama_cpp's completion without them, then adds the
    ``logprobs`` object llama_cpp would have built, from the same logits."""

    def __init__(self, llama: Any) -> None:
        check_llama_cpp(llama)
        self.llama = llama
        self._stock: Callable[..., Iterator[Any]] = llama._create_completion
        self._stock_generate = llama.generate
        self._signature = inspect.signature(self._stock)
        self._prompt_tokens: list[int] = []
        self._generated: list[int] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """``Llama._create_completion``: the fast path where it gives llama_cpp's
        answer (a non-streamed completion of a text prompt), else llama_cpp's own."""
        request = self._signature.bind(*args, **kwargs)
        request.apply_defaults()
        asked = request.arguments
        k, prompt = asked["logprobs"], asked["prompt"]
        if (
            k is None
            or k < 0
            or asked["stream"]
            or asked["suffix"] is not None
            or not isinstance(prompt, str)
            or not prompt
            or not self.llama._logits_all  # llama_cpp's own error says what to do
        ):
            return self._stock(*args, **kwargs)
        return self._answer(asked)

    def _answer(self, asked: dict[str, Any]) -> Iterator[Any]:
        """One completion, as llama_cpp's (a generator, as its method is). The server
        runs one request at a time per model, so the recorded tokens are this one's."""
        self._prompt_tokens, self._generated = [], []
        # for this request only: the prompt and sampled tokens, as llama_cpp saw them
        setattr(self.llama, "generate", self._recording_generate)  # noqa: B010
        try:
            completion = next(self._stock(**{**asked, "logprobs": None}))
        finally:
            delattr(self.llama, "generate")
        completion["choices"][0]["logprobs"] = self._logprobs(asked, completion)
        yield completion

    def _recording_generate(self, *args: Any, **kwargs: Any) -> Iterator[int]:
        tokens = args[0] if args else kwargs["tokens"]
        self._prompt_tokens = list(tokens)
        for token in self._stock_generate(*args, **kwargs):
            self._generated.append(int(token))
            yield token

    def _logprobs(self, asked: dict[str, Any], completion: Any) -> dict[str, Any]:
        """The ``logprobs`` object of llama_cpp's non-streamed completion."""
        llama, prompt, echo = self.llama, asked["prompt"], bool(asked["echo"])
        bos = llama.token_bos()
        prompt_tokens = self._prompt_tokens
        # the sampled tokens, less an end-of-generation token llama_cpp drops
        completion_tokens = self._generated[: completion["usage"]["completion_tokens"]]
        if echo:
            first = 1 if prompt_tokens and prompt_tokens[0] == bos else 0
            scored = prompt_tokens[first:] + completion_tokens
            token_offset, text_offset = 0, 0
        else:
            scored = completion_tokens
            token_offset, text_offset = max(len(prompt_tokens) - 1, 0), len(prompt)
        rows = llama._scores[token_offset : token_offset + len(scored)]
        log_softmax = type(llama).logits_to_logprobs  # llama_cpp's own, a row at a time

        def text(tokens: list[int], before: list[int] | None = None) -> str:
            return str(llama.detokenize(tokens, prev_tokens=before).decode("utf-8", "ignore"))

        offsets: list[int] = []
        tokens: list[str] = []
        token_logprobs: list[Any] = []
        top_logprobs: list[dict[str, Any] | None] = []
        for position, (token, logits) in enumerate(zip(scored, rows, strict=False)):
            if token == bos:
                continue
            row = log_softmax(logits)
            before = scored[:position]
            token_text = text([token], before)
            offsets.append(text_offset + len(text(before)))
            tokens.append(token_text)
            token_logprobs.append(row[token])
            top = {text([int(i)], before): row[i] for i in top_k_ids(row, int(asked["logprobs"]))}
            top[token_text] = row[token]
            top_logprobs.append(top)
        if echo and scored:
            # as OpenAI's API: nothing scores the first prompt token
            token_logprobs[0] = None
            top_logprobs[0] = None
        return {
            "tokens": tokens,
            "text_offset": offsets,
            "token_logprobs": token_logprobs,
            "top_logprobs": top_logprobs,
        }


def install(llama: Any) -> Any:
    """Answer ``llama``'s completion requests with ``logprobs`` by
    :class:`FastCompletionLogprobs`; returns ``llama``."""
    setattr(llama, "_create_completion", FastCompletionLogprobs(llama))  # noqa: B010
    return llama


def check_llama_cpp(llama: Any = None) -> None:
    """Fail loudly when the installed llama_cpp (or a loaded ``llama``) no longer has
    what the fast path reads."""
    import llama_cpp
    from llama_cpp.server import __main__ as server_main
    from llama_cpp.server import app as server_app

    missing = [name for name in _LLAMA_NAMES if not hasattr(llama_cpp.Llama, name)]
    if llama is not None and not hasattr(llama, "_logits_all"):
        missing.append("Llama()._logits_all")
    if "_create_completion" not in missing:
        parameters = inspect.signature(llama_cpp.Llama._create_completion).parameters
        missing += [
            f"_create_completion({name}=)"
            for name in _CREATE_COMPLETION_ARGUMENTS
            if name not in parameters
        ]
    if not hasattr(server_app, "_llama_proxy"):
        missing.append("llama_cpp.server.app._llama_proxy")
    if not hasattr(server_main, "create_app"):
        missing.append("llama_cpp.server.__main__.create_app")
    if missing:
        raise RuntimeError(
            f"llama_cpp {llama_cpp.__version__} lacks {', '.join(missing)}, which the "
            "stand-in's fast log-probabilities use: start StandInCloud(fast_logprobs=False) "
            "(llama_cpp.server as shipped), or install the llama-cpp-python this package pins."
        )


def main() -> None:
    """``python -m llama_cpp.server``, the same arguments, with :func:`install`
    applied to every model the server loads."""
    from llama_cpp.server import __main__ as server_main
    from llama_cpp.server import app as server_app

    check_llama_cpp()

    def create_app(**settings: Any) -> Any:
        app = server_app.create_app(**settings)
        proxy: Any = server_app._llama_proxy
        install(proxy._current_model)
        print("stand-in server: completion log-probabilities by partial selection", file=sys.stderr)
        # a server given several models (a config file) loads others on request
        load = proxy.load_llama_from_model_settings
        proxy.load_llama_from_model_settings = lambda model: install(load(model))
        return app

    # llama_cpp's own command line (argument parsing, uvicorn), building our app
    setattr(server_main, "create_app", create_app)  # noqa: B010
    stock_main: Callable[[], None] = server_main.main
    stock_main()


if __name__ == "__main__":
    main()
