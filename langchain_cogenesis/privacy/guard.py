"""EgressGuard: the only object in the package that holds a cloud client.

Every request bound for a cloud model is built here, checked against the private
text the caller knows about, recorded as a :class:`CloudPayload`, and only then
sent. Anything else in the package that wants the cloud asks the guard.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.messages import BaseMessage
from pydantic import SecretStr

from langchain_cogenesis.config import Settings
from langchain_cogenesis.errors import CloudResponseError, CloudUnavailable, PrivacyViolation
from langchain_cogenesis.schema import CloudPayload

OVERLAP_NGRAM = 8
"""Private text counts as leaked when this many consecutive words reach the payload."""

_WORD = re.compile(r"[\w'-]+")


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = [word.lower() for word in _WORD.findall(text)]
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def find_private_overlap(
    payload_text: str, private_texts: Iterable[str], *, n: int = OVERLAP_NGRAM
) -> list[str]:
    """Word n-grams of ``private_texts`` that also occur in ``payload_text``.

    Short private texts (fewer than ``n`` words) count when they appear whole.
    """
    payload_grams = _ngrams(payload_text, n)
    payload_words = " ".join(word.lower() for word in _WORD.findall(payload_text))
    hits: list[str] = []
    for private in private_texts:
        words = [word.lower() for word in _WORD.findall(private)]
        if not words:
            continue
        if len(words) < n:
            phrase = " ".join(words)
            if len(phrase) >= 12 and f" {phrase} " in f" {payload_words} ":
                hits.append(phrase)
            continue
        hits.extend(" ".join(gram) for gram in _ngrams(private, n) & payload_grams)
    return sorted(set(hits))


class EgressGuard:
    """The one door to the cloud: checks, records and sends chat requests.

    Key init args:
        base_url: OpenAI-compatible endpoint (``.../v1``); default ``COGENESIS_CLOUD_BASE_URL``.
        model: model name at that endpoint; default ``COGENESIS_CLOUD_MODEL``.
        api_key: default ``COGENESIS_CLOUD_API_KEY`` or ``OPENAI_API_KEY``.
        timeout: seconds per request.
        max_retries: retries of failed connections (by the OpenAI client, with backoff).
        send_max_tokens: also send the legacy ``max_tokens`` field. Servers such as
            llama_cpp.server ignore ``max_completion_tokens`` (which langchain-openai
            sends); the guard also stops reading a stream at the bound, so the output
            bound holds either way.

    Instantiate:
        .. code-block:: python

            from langchain_cogenesis import EgressGuard

            guard = EgressGuard(base_url="http://127.0.0.1:8000/v1", model="my-model")

    Invoke:
        .. code-block:: python

            from langchain_core.messages import HumanMessage

            text, payload = guard.chat(
                [HumanMessage("Outline a toast for a retirement party.")],
                purpose="sketch",
                max_tokens=128,
                private_texts=["Dana retires on 3 May after 31 years at the mill"],
            )
            payload.messages  # exactly what was sent
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        send_max_tokens: bool = False,
    ) -> None:
        settings = Settings.from_env()
        resolved_url = base_url or settings.cloud_base_url
        if not resolved_url:
            raise CloudUnavailable(
                "No cloud endpoint is configured. Set COGENESIS_CLOUD_BASE_URL to an "
                "OpenAI-compatible base URL, or start the stand-in with `cogenesis serve-cloud`."
            )
        self.base_url = resolved_url.rstrip("/")
        self.model = model or settings.cloud_model
        self.timeout = timeout
        self.max_retries = max_retries
        self.send_max_tokens = send_max_tokens
        self._api_key = api_key or settings.cloud_api_key or "no-key"
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._history: list[CloudPayload] = []

    @property
    def history(self) -> list[CloudPayload]:
        """Every payload this guard has sent, oldest first."""
        return list(self._history)

    def _cloud_client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                from langchain_openai import ChatOpenAI

                self._client = ChatOpenAI(
                    base_url=self.base_url,
                    model=self.model,
                    api_key=SecretStr(self._api_key),
                    timeout=self.timeout,
                    max_retries=self.max_retries,
                    streaming=True,
                )
            return self._client

    def check(self, messages: Sequence[BaseMessage], private_texts: Iterable[str]) -> list[str]:
        """Private n-grams that ``messages`` would carry to the cloud (empty when clean)."""
        payload_text = "\n".join(message.text for message in messages)
        return find_private_overlap(payload_text, private_texts)

    def chat(
        self,
        messages: Sequence[BaseMessage],
        *,
        purpose: str,
        max_tokens: int,
        private_texts: Iterable[str] = (),
        allow_private: bool = False,
        temperature: float = 0.7,
        top_p: float = 0.9,
        stop: Sequence[str] = (),
    ) -> tuple[str, CloudPayload]:
        """Send ``messages`` to the cloud and return its reply and the payload record.

        Raises:
            PrivacyViolation: the messages carry private text and ``allow_private``
                is false; nothing was sent.
            CloudUnavailable: the endpoint could not be reached or timed out.
            CloudResponseError: the endpoint answered with an error or no text.
        """
        if not allow_private:
            leaked = self.check(messages, private_texts)
            if leaked:
                raise PrivacyViolation(
                    f"Refused to send a {purpose!r} request: it carries {len(leaked)} "
                    "phrase(s) of the user's private context. Send only the public "
                    "instruction, or pass allow_private_egress=True to accept the leak."
                )
        payload = CloudPayload(
            destination=self.base_url,
            model=self.model,
            purpose=purpose,
            messages=[{"role": message.type, "content": message.text} for message in messages],
            max_tokens=max_tokens,
        )
        call_args: dict[str, Any] = {
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": top_p,
        }
        if stop:
            call_args["stop"] = list(stop)
        if self.send_max_tokens:
            call_args["extra_body"] = {"max_tokens": max_tokens}
        self._history.append(payload)
        text = self._stream_bounded(list(messages), max_tokens, call_args)
        if not text.strip():
            raise CloudResponseError(
                f"The cloud model at {self.base_url} returned an empty {purpose!r} answer."
            )
        payload.response = text
        return text, payload

    def _stream_bounded(
        self, messages: list[BaseMessage], max_tokens: int, call_args: dict[str, Any]
    ) -> str:
        import openai

        parts: list[str] = []
        try:
            # Each streamed chunk carries one token on llama.cpp, vLLM and OpenAI;
            # stopping at max_tokens closes the connection, which stops the server.
            for count, chunk in enumerate(self._cloud_client().stream(messages, **call_args), 1):
                parts.append(chunk.text)
                if count >= max_tokens:
                    break
        except (openai.APIConnectionError, openai.APITimeoutError) as error:
            raise CloudUnavailable(
                f"Cannot reach the cloud model at {self.base_url} ({type(error).__name__}). "
                "Check COGENESIS_CLOUD_BASE_URL and that the server is running, or use "
                "mode='local'."
            ) from None
        except openai.APIStatusError as error:
            raise CloudResponseError(
                f"The cloud model at {self.base_url} answered HTTP {error.status_code}. "
                "Check the model name and COGENESIS_CLOUD_API_KEY."
            ) from None
        except (openai.OpenAIError, ValueError, KeyError, TypeError) as error:
            raise CloudResponseError(
                f"The cloud model at {self.base_url} sent an answer that is not a valid "
                f"chat completion ({type(error).__name__})."
            ) from None
        return "".join(parts)
