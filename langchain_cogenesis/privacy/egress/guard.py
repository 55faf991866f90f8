"""EgressGuard: the only object in the package that holds a cloud client.

Every request bound for a cloud model is built here, scanned for private context,
handled by the policy (block, redact, or keep the work local), written to the audit
log, and only then sent. Anything else in the package that wants the cloud asks the
guard.

The guard decides, through its :class:`~langchain_cogenesis.privacy.egress.door.Door`;
two modules beside it carry out: :mod:`~langchain_cogenesis.privacy.egress.retries`
(typed errors, retries with backoff) and
:mod:`~langchain_cogenesis.privacy.egress.completions` (the completions and tokenizer
requests of fusion). Both are given only payloads the guard has decided on and audited.

Size: a little over 400 lines, one class whose docstring is its user guide.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

from langchain_core.messages import BaseMessage
from pydantic import SecretStr

from langchain_cogenesis.config import Settings, checked_url
from langchain_cogenesis.errors import CloudResponseError, CloudUnavailable
from langchain_cogenesis.privacy.detection.detectors import Detector
from langchain_cogenesis.privacy.detection.scanner import PrivacyScanner
from langchain_cogenesis.privacy.egress.audit import AuditLog
from langchain_cogenesis.privacy.egress.completions import (
    CompletionsTransport,
    next_token_tops,
    prompt_tops,
)
from langchain_cogenesis.privacy.egress.decision import PolicyRule, check_policy
from langchain_cogenesis.privacy.egress.door import Door
from langchain_cogenesis.privacy.egress.gate import hit_summary
from langchain_cogenesis.privacy.egress.retries import RetrySchedule, with_retries
from langchain_cogenesis.schema import CloudPayload

HISTORY_LIMIT = 1000
"""How many sent payloads :attr:`EgressGuard.history` keeps (the audit log keeps all)."""

__all__ = ["CloudReply", "EgressGuard"]


class CloudReply(NamedTuple):
    """The cloud's answer, the record of what was sent, and the local restorations."""

    text: str
    payload: CloudPayload
    redactions: dict[str, str]
    """Placeholder → private value; stays on the device (for :func:`restore`)."""


class EgressGuard:
    """The one door to the cloud: scans, decides, records and sends chat requests.

    Key init args:
        base_url: OpenAI-compatible endpoint (``.../v1``); default ``COGENESIS_CLOUD_BASE_URL``.
        model: model name at that endpoint; default ``COGENESIS_CLOUD_MODEL``.
        api_key: default ``COGENESIS_CLOUD_API_KEY`` or ``OPENAI_API_KEY``.
        policy: default policy when a payload carries private context: ``"redact"``
            (replace the spans, re-check, block if anything remains), ``"block"``
            (raise :class:`PrivacyViolation`) or ``"local_only"`` (raise
            :class:`LocalOnly`; the graph then writes without the cloud).
        audit_log: where attempts are recorded; default ``$COGENESIS_HOME/audit.sqlite3``;
            ``None`` records nothing.
        timeout: seconds per request (connect, and between streamed chunks); default
            ``COGENESIS_CLOUD_TIMEOUT`` or 60.
        max_retries: how many times a failed request is sent again: refused
            connections, timeouts, HTTP 429 and 5xx, malformed or cut-off answers;
            default ``COGENESIS_CLOUD_MAX_RETRIES`` or 2.
            A retry sends the very same payload and is audited as its own attempt.
        backoff: seconds before the first retry; doubled each time (with jitter),
            at most ``max_backoff``. A ``Retry-After`` header replaces it.
        max_retry_after: the longest ``Retry-After`` the guard waits for; a server
            asking for more gets no retry (the caller degrades or fails at once).
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
            from langchain_cogenesis.privacy import PrivacyScanner

            scanner = PrivacyScanner(["Dana retires on 3 May after 31 years at the mill"])
            reply = guard.chat(
                [HumanMessage("Outline a toast for a retirement party.")],
                purpose="sketch",
                max_tokens=128,
                scanner=scanner,
                user_id="dana",
            )
            reply.payload.messages  # exactly what was sent
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        policy: PolicyRule = "redact",
        audit_log: AuditLog | Literal["default"] | None = "default",
        timeout: float | None = None,
        max_retries: int | None = None,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_after: float = 30.0,
        send_max_tokens: bool = False,
    ) -> None:
        settings = Settings.from_env()
        resolved_url = base_url or settings.cloud_base_url
        if not resolved_url:
            raise CloudUnavailable(
                "No cloud endpoint is configured. Set COGENESIS_CLOUD_BASE_URL to an "
                "OpenAI-compatible base URL, or start the stand-in with `cogenesis serve-cloud`.",
                retryable=False,
            )
        self.base_url = checked_url(
            resolved_url, "base_url" if base_url else "COGENESIS_CLOUD_BASE_URL"
        )
        self.model = model or settings.cloud_model
        self.policy: PolicyRule = check_policy(policy)
        self.audit_log = (
            AuditLog(settings.home / "audit.sqlite3") if audit_log == "default" else audit_log
        )
        if max_retries is None:
            max_retries = settings.cloud_max_retries
        self.retry_schedule = RetrySchedule(max_retries, backoff, max_backoff, max_retry_after)
        self.timeout = timeout = settings.cloud_timeout if timeout is None else timeout
        self.send_max_tokens = send_max_tokens
        self._api_key = api_key or settings.secret("cloud_api_key") or "no-key"
        # the chat client, built at first use; shared with the views of with_detectors
        self._clients: dict[str, Any] = {}
        self._client_lock = threading.Lock()
        self.extra_detectors: tuple[Detector, ...] = ()
        """Detectors added to the scanner of every payload (see :meth:`with_detectors`)."""
        # the newest payloads, for inspection; bounded so a long-lived guard stays small
        self._history: deque[CloudPayload] = deque(maxlen=HISTORY_LIMIT)
        self._transport = CompletionsTransport(
            base_url=self.base_url, model=self.model, api_key=self._api_key, timeout=timeout
        )

    @property
    def max_retries(self) -> int:
        """How many times a failed request is sent again (see :class:`RetrySchedule`)."""
        return self.retry_schedule.max_retries

    @property
    def backoff(self) -> float:
        """Seconds before the first retry."""
        return self.retry_schedule.backoff

    @property
    def max_backoff(self) -> float:
        """The longest wait between two attempts, ``Retry-After`` aside."""
        return self.retry_schedule.max_backoff

    @property
    def max_retry_after(self) -> float:
        """The longest ``Retry-After`` the guard waits for."""
        return self.retry_schedule.max_retry_after

    @property
    def history(self) -> list[CloudPayload]:
        """The payloads this guard has sent (the newest :data:`HISTORY_LIMIT`), oldest first."""
        return list(self._history)

    def with_detectors(self, detectors: Sequence[Detector]) -> EgressGuard:
        """This guard, with ``detectors`` added to the scanner of every payload it decides.

        A view for one conversation or call: it shares the endpoint, the client, the
        audit log and the history with this guard, which is left as it was. A
        :class:`~langchain_cogenesis.graphs.ChatCoGenesis` given ``restored_values=``
        screens its cloud requests through such a view, so values restored on the
        device earlier in the conversation are redacted (or kept local) and named in
        the audit row (``restored:<TYPE>``).
        """
        view = copy.copy(self)
        view.extra_detectors = (*self.extra_detectors, *detectors)
        return view

    def _scanner(self, scanner: PrivacyScanner | None) -> PrivacyScanner:
        """``scanner`` (or an empty one) with this guard's extra detectors added."""
        scanner = scanner or PrivacyScanner()
        if not self.extra_detectors:
            return scanner
        widened = copy.copy(scanner)  # the caller's scanner is left as it was
        widened.detectors = [*scanner.detectors, *self.extra_detectors]
        return widened

    def _cloud_client(self) -> Any:
        with self._client_lock:
            if "chat" not in self._clients:
                from langchain_openai import ChatOpenAI

                self._clients["chat"] = ChatOpenAI(
                    base_url=self.base_url,
                    model=self.model,
                    api_key=SecretStr(self._api_key),
                    timeout=self.timeout,
                    max_retries=0,  # the guard retries, so every attempt is audited
                    streaming=True,
                    stream_usage=True,  # the token counts come in the stream's last chunk
                )
            return self._clients["chat"]

    @property
    def door(self) -> Door:
        """The door this guard's payloads pass: decisions, audit rows, public record."""
        return Door(self.base_url, self.audit_log, self.policy)

    def chat(
        self,
        messages: Sequence[BaseMessage],
        *,
        purpose: str,
        max_tokens: int,
        scanner: PrivacyScanner | None = None,
        user_id: str = "",
        policy: PolicyRule | None = None,
        allow_private: bool = False,
        temperature: float = 0.7,
        top_p: float = 0.9,
        stop: Sequence[str] = (),
    ) -> CloudReply:
        """Scan ``messages``, apply the policy, send, and return the reply.

        Raises:
            PrivacyViolation: the policy blocks the payload (or redaction left private
                content behind); nothing was sent.
            LocalOnly: the policy is ``local_only`` and the payload carries private
                content; nothing was sent.
            CloudUnavailable: the endpoint could not be reached or timed out.
            CloudResponseError: the endpoint answered with an error or no text.
        """
        door = self.door
        verdict = door.decide(
            [(message.type, str(message.text)) for message in messages],
            self._scanner(scanner),
            purpose=purpose,
            user_id=user_id,
            policy=policy,
            allow_private=allow_private,
        )
        verdict.require_cloud(purpose)  # no local alternative here: LocalOnly
        outbound, decision = verdict.outbound, verdict.decision
        redactions = verdict.redactions
        payload = CloudPayload(
            destination=self.base_url,
            model=self.model,
            purpose=purpose,
            messages=[{"role": role, "content": text} for role, text in outbound],
            max_tokens=max_tokens,
            decision=decision,
            detector_hits=hit_summary(verdict.caught),
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
        outgoing = [type(m)(content=text) for m, (_, text) in zip(messages, outbound, strict=True)]
        call_args["config"] = {
            "tags": ["cogenesis-egress", f"cogenesis-egress:{decision}"],
            "metadata": {"cogenesis_purpose": purpose, "cogenesis_decision": decision},
        }

        def send(attempt: int) -> str:
            payload.attempts = attempt
            payload.usage = {}  # the attempt that succeeds is the one counted
            door.send(verdict, user_id=user_id, purpose=purpose, attempt=attempt)
            return self._stream_bounded(outgoing, max_tokens, call_args, payload.usage)

        text = with_retries(
            "chat completion", send, endpoint=self.base_url, schedule=self.retry_schedule
        )
        door.received([text])
        if not text.strip():
            raise CloudResponseError(
                f"The cloud model at {self.base_url} returned an empty {purpose!r} answer."
            )
        payload.response = text
        return CloudReply(text, payload, redactions)

    def next_token_logprobs(
        self,
        prompt: str,
        *,
        top_k: int,
        scanner: PrivacyScanner | None = None,
        user_id: str = "",
        purpose: str = "fusion-step",
    ) -> dict[str, float]:
        """The cloud's top-``top_k`` next tokens after ``prompt`` (``/v1/completions``).

        Fusion prompts are never redacted mid-generation: a prompt with private
        content is refused (:class:`PrivacyViolation`) and recorded as blocked.

        Raises:
            CloudLogprobsUnavailable: the endpoint answered without log-probabilities.
        """
        logprobs = self._scored_completion(prompt, top_k, False, scanner, user_id, purpose)
        return next_token_tops(logprobs, self.base_url)

    def prompt_logprobs(
        self,
        prompt: str,
        *,
        top_k: int,
        scanner: PrivacyScanner | None = None,
        user_id: str = "",
        purpose: str = "fusion-draft",
    ) -> list[tuple[int, dict[str, float] | None]]:
        """The cloud's top-``top_k`` at every token of ``prompt`` and after it (``echo``).

        One request; each entry is ``(character offset of the token, the top tokens
        predicted there)``, the last one for the position after ``prompt``. Same
        refusal rule as :meth:`next_token_logprobs`.

        Raises:
            CloudLogprobsUnavailable: the endpoint returns no prompt log-probabilities.
        """
        logprobs = self._scored_completion(prompt, top_k, True, scanner, user_id, purpose)
        return prompt_tops(logprobs, self.base_url)

    def _scored_completion(
        self,
        prompt: str,
        top_k: int,
        echo: bool,
        scanner: PrivacyScanner | None,
        user_id: str,
        purpose: str,
    ) -> Any:
        # a fusion prefix is scored token by token: placeholders would change what is
        # scored, so a prompt with private content is refused, never redacted
        door = self.door
        verdict = door.decide(
            [("prompt", prompt)],
            self._scanner(scanner),
            purpose=purpose,
            user_id=user_id,
            policy="block",
            redactable=False,
        )

        def send(attempt: int) -> Any:
            door.send(verdict, user_id=user_id, purpose=purpose, attempt=attempt)
            return self._transport.score(prompt, top_k=top_k, echo=echo)

        return with_retries(
            "completion", send, endpoint=self.base_url, schedule=self.retry_schedule
        )

    def remote_token_ids(self, texts: Sequence[str]) -> list[list[int]] | None:
        """Token ids the cloud's own tokenizer gives ``texts`` (public probe strings).

        Tries llama_cpp.server's ``/extras/tokenize`` and vLLM's ``/tokenize``; returns
        ``None`` when the endpoint offers neither. Probes pass the scanner like any
        payload: only constant, public strings should be sent.
        """
        door, purpose = self.door, "tokenizer-probe"
        # constant probes: pattern PII only (entity guesses flag "Zürich" as a name)
        probes = PrivacyScanner(detect_entities=False)
        verdicts = {
            text: door.decide([("probe", text)], probes, purpose=purpose, policy="block")
            for text in texts
        }

        def before_send(text: str) -> None:
            door.send(verdicts[text], user_id="", purpose=purpose)

        return self._transport.token_ids(texts, before_send=before_send)

    def _stream_bounded(
        self,
        messages: list[BaseMessage],
        max_tokens: int,
        call_args: dict[str, Any],
        usage: dict[str, int] | None = None,
    ) -> str:
        """The streamed answer, at most ``max_tokens`` chunks of text.

        Each streamed chunk carries one token on llama.cpp, vLLM and OpenAI. A server
        that honours the bound ends the stream itself, with a finish reason (and the
        usage, added to ``usage``), which is read to the end so the child run closes
        as a success. A server that goes on past the bound is cut off there: closing
        the connection stops it.
        """
        parts: list[str] = []
        finished = False
        stream = self._cloud_client().stream(messages, **call_args)
        for chunk in stream:
            if chunk.text:
                if len(parts) >= max_tokens:
                    stream.close()
                    return "".join(parts)
                parts.append(chunk.text)
            finished = finished or bool(chunk.response_metadata.get("finish_reason"))
            counted = getattr(chunk, "usage_metadata", None)
            if counted and usage is not None:
                for key in ("input_tokens", "output_tokens", "total_tokens"):
                    usage[key] = usage.get(key, 0) + int(counted.get(key, 0))
        if not finished and len(parts) < max_tokens:
            # the connection closed before the server said the answer was complete
            raise CloudUnavailable(
                f"The cloud model at {self.base_url} broke off its answer mid-stream "
                f"after {len(parts)} chunk(s)."
            )
        return "".join(parts)
