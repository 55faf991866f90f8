"""The requests of logit-based fusion: completions with log-probabilities, tokenizer probes.

Fusion (paper §3.3) needs the cloud's next-token distribution, not its text: a
``/v1/completions`` request with ``logprobs`` (and ``echo`` to score a whole draft in
one request), and, to check that both models share a tokenizer, the endpoint's own
token ids for a few constant strings.

Only :class:`~langchain_cogenesis.privacy.EgressGuard` builds a
:class:`CompletionsTransport`, and it decides and audits every payload before handing
it over: this module sends what it is given and reads the answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from langchain_cogenesis.errors import CloudLogprobsUnavailable, CloudResponseError

__all__ = ["CompletionsTransport", "next_token_tops", "no_logprobs", "prompt_tops"]


class CompletionsTransport:
    """The completions client of one endpoint, made on first use.

    Key init args:
        base_url: OpenAI-compatible endpoint (``.../v1``).
        model: model name at that endpoint.
        api_key: sent as a bearer token.
        timeout: seconds per request.
    """

    def __init__(self, *, base_url: str, model: str, api_key: str, timeout: float) -> None:
        self.base_url = base_url
        self.model = model
        self.timeout = timeout
        self._api_key = api_key
        self._client: Any = None
        self._client_lock = threading.Lock()

    def _completions_client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(
                    base_url=self.base_url,
                    api_key=self._api_key,
                    timeout=self.timeout,
                    max_retries=0,  # the guard retries, so every attempt is audited
                )
            return self._client

    def score(self, prompt: str, *, top_k: int, echo: bool) -> Any:
        """One completion token after ``prompt``, greedy; its ``logprobs`` object
        (``None`` when the answer has no choice).

        Raises:
            CloudResponseError: the answer is not a completion (retryable).
        """
        answer = self._completions_client().completions.create(
            model=self.model,
            prompt=prompt,
            max_tokens=1,
            temperature=0.0,
            logprobs=top_k,
            echo=echo,
        )
        choices = getattr(answer, "choices", None)
        if not isinstance(choices, list):
            raise CloudResponseError(
                f"The cloud model at {self.base_url} sent an answer that is not a completion.",
                retryable=True,
            )
        return choices[0].logprobs if choices else None

    def token_ids(
        self, texts: Sequence[str], *, before_send: Callable[[str], None]
    ) -> list[list[int]] | None:
        """The endpoint's token ids for ``texts``, or ``None`` when it offers no tokenizer.

        Tries llama_cpp.server's ``/extras/tokenize``, then vLLM's ``/tokenize``;
        ``before_send(text)`` is called before each request (the guard audits it).
        """
        import httpx

        root = self.base_url.removesuffix("/v1")
        headers = {"Authorization": f"Bearer {self._api_key}"}
        for path, field, answer_field in (
            ("/extras/tokenize", "input", "tokens"),
            ("/tokenize", "prompt", "tokens"),
        ):
            results: list[list[int]] = []
            try:
                with httpx.Client(timeout=self.timeout, headers=headers) as client:
                    for text in texts:
                        before_send(text)
                        response = client.post(root + path, json={field: text, "model": self.model})
                        if response.status_code != 200:
                            break
                        results.append([int(i) for i in response.json()[answer_field]])
            except (httpx.HTTPError, ValueError, KeyError, TypeError):
                continue
            if len(results) == len(texts):
                return results
        return None


def next_token_tops(logprobs: Any, endpoint: str) -> dict[str, float]:
    """The top tokens after the prompt, from a completion's ``logprobs``.

    Raises:
        CloudLogprobsUnavailable: the answer carries no log-probabilities.
    """
    tops = getattr(logprobs, "top_logprobs", None) or []
    if not tops or not tops[0]:
        raise no_logprobs(endpoint)
    return {str(token): float(value) for token, value in dict(tops[0]).items()}


def prompt_tops(logprobs: Any, endpoint: str) -> list[tuple[int, dict[str, float] | None]]:
    """``(character offset, top tokens)`` at each prompt token and after the prompt,
    from an ``echo`` completion's ``logprobs``.

    Raises:
        CloudLogprobsUnavailable: the answer carries no prompt log-probabilities.
    """
    offsets = list(getattr(logprobs, "text_offset", None) or [])
    tops = list(getattr(logprobs, "top_logprobs", None) or [])
    if len(offsets) != len(tops) or len([t for t in tops if t]) < 2:
        raise no_logprobs(endpoint, prompt_tokens=True)
    return [
        (int(offset), {str(k): float(v) for k, v in dict(top).items()} if top else None)
        for offset, top in zip(offsets, tops, strict=True)
    ]


def no_logprobs(endpoint: str, *, prompt_tokens: bool = False) -> CloudLogprobsUnavailable:
    """The error for an endpoint that answers without (prompt) log-probabilities."""
    what = "prompt log-probabilities (echo)" if prompt_tokens else "log-probabilities"
    return CloudLogprobsUnavailable(
        f"The cloud model at {endpoint} returned no {what}; logit-based fusion "
        "needs them (vLLM and llama_cpp.server with logits_all provide them). "
        + ("Use drafting off (draft=0)." if prompt_tokens else "Use the sketch mode.")
    )
