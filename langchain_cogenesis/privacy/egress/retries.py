"""Retries and error mapping for the egress guard.

A cloud request fails in a handful of ways: the connection is refused or times out,
the server answers HTTP 429 or 5xx, or the answer is malformed or cut off. The guard
turns each into a typed error (:class:`~langchain_cogenesis.errors.CloudUnavailable`,
:class:`~langchain_cogenesis.errors.CloudResponseError`) whose message names the
endpoint and never the payload, and sends the very same payload again while the error
is retryable and attempts are left. Each attempt is audited by the caller's ``send``.

This module opens no connection: it only knows the client libraries' error types.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from langchain_cogenesis.errors import CloudError, CloudResponseError, CloudUnavailable

_log = logging.getLogger("langchain_cogenesis.egress")
_T = TypeVar("_T")

__all__ = ["RetrySchedule", "cloud_errors", "retry_after", "with_retries"]


@dataclass(frozen=True)
class RetrySchedule:
    """How often and how long the guard waits before sending a failed request again.

    Key fields:
        max_retries: how many times a failed request is sent again.
        backoff: seconds before the first retry; doubled each time (with jitter), at
            most ``max_backoff``. A ``Retry-After`` header replaces it.
        max_retry_after: the longest ``Retry-After`` waited for; a server asking for
            more gets no retry (the caller degrades or fails at once).
    """

    max_retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 30.0

    def __post_init__(self) -> None:
        if min(self.max_retries, self.backoff, self.max_backoff, self.max_retry_after) < 0:
            raise ValueError("max_retries, backoff, max_backoff and max_retry_after must be >= 0")

    def wait_before_retry(self, attempt: int, error: CloudError) -> float | None:
        """Seconds before the next attempt; ``None``: no retry (final error, or the
        server asks to wait longer than ``max_retry_after``)."""
        if not error.retryable:
            return None
        if error.retry_after is not None:
            wait = float(error.retry_after)
            return wait if wait <= self.max_retry_after else None
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + random.random() / 2)


def with_retries(
    what: str, send: Callable[[int], _T], *, endpoint: str, schedule: RetrySchedule
) -> _T:
    """Call ``send(attempt)`` until it succeeds, a failure is final, or retries run out.

    ``send`` audits its attempt and sends the same payload each time. The last error
    says why there was no further attempt.
    """
    attempts = schedule.max_retries + 1
    for attempt in range(1, attempts + 1):
        try:
            with cloud_errors(endpoint, what):
                return send(attempt)
        except CloudError as error:
            wait = schedule.wait_before_retry(attempt, error) if attempt < attempts else None
            if wait is not None:
                _log.warning(
                    "cloud %s failed (%s, attempt %d of %d); retrying in %.2f s",
                    what,
                    type(error).__name__,
                    attempt,
                    attempts,
                    wait,
                )
                time.sleep(wait)
                continue
            if error.retryable and attempt < attempts:
                why = f"the server asked to wait {error.retry_after:.0f} s; not retried"
            elif attempt > 1:
                why = f"gave up after {attempt} attempts"
            else:
                raise
            raise type(error)(
                f"{error} ({why})", retryable=False, retry_after=error.retry_after
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _advice(status: int, endpoint: str, transient: bool) -> str:
    """What to check for an HTTP error status, by what the status means."""
    if transient:
        return "The server is overloaded or failing; try again later."
    if status in (401, 403):
        return "The key was refused: check COGENESIS_CLOUD_API_KEY (or api_key=)."
    if status == 404:
        missing_v1 = not endpoint.rstrip("/").endswith("/v1")
        return (
            "There is no such path or model there: "
            + (
                "the base URL usually ends in /v1 (e.g. http://host:8000/v1); "
                if missing_v1
                else ""
            )
            + "check COGENESIS_CLOUD_BASE_URL and the model name (COGENESIS_CLOUD_MODEL)."
        )
    return "Check the model name (COGENESIS_CLOUD_MODEL) and the request's settings."


@contextmanager
def cloud_errors(endpoint: str, what: str) -> Iterator[None]:
    """Turn the client's failures into typed errors without payload text."""
    import httpx
    import openai

    try:
        yield
    except (openai.APIConnectionError, openai.APITimeoutError, httpx.HTTPError) as error:
        raise CloudUnavailable(
            f"Cannot reach the cloud model at {endpoint}, or it broke off its "
            f"answer ({type(error).__name__}). Check COGENESIS_CLOUD_BASE_URL and that "
            "the server is running, or use mode='local'."
        ) from None
    except openai.APIStatusError as error:
        status = error.status_code
        transient = status in (408, 409, 429) or status >= 500
        hint = _advice(status, endpoint, transient)
        raise CloudResponseError(
            f"The cloud model at {endpoint} answered HTTP {status} to a {what} request. {hint}",
            retryable=transient,
            retry_after=retry_after(error.response),
        ) from None
    except (openai.OpenAIError, ValueError, KeyError, TypeError) as error:
        raise CloudResponseError(
            f"The cloud model at {endpoint} sent an answer that is not a valid "
            f"{what} ({type(error).__name__}).",
            retryable=True,
        ) from None


def retry_after(response: Any) -> float | None:
    """Seconds from a ``Retry-After`` (or ``retry-after-ms``) header, if the answer has one."""
    headers = getattr(response, "headers", None) or {}
    with suppress(TypeError, ValueError):
        if "retry-after-ms" in headers:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            from datetime import UTC, datetime

            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    return None
