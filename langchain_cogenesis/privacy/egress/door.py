"""The door: the one place that acts on a decision of :func:`~.decision.decide`.

:func:`~.decision.decide` chooses what may leave; a :class:`Door` carries the choice
out, the same way on every path that reaches a cloud model: the egress guard's own
requests (chat, scored completions, tokenizer probes), the agent middleware, both
fusion paths (the graph's and the chat model's) and the auto router.

One rule for each consequence:

- **audit**: a refused decision (``blocked``, ``local_only``) is recorded when it is
  made; a sendable one is recorded for each attempt that sends it (:meth:`Door.send`);
  a decision that only prepares what later requests send (the public instruction of a
  fused decode, the auto router's route) is recorded when it found anything
  (``prepares=True``). A row names every hit the decision caught
  (:attr:`~.decision.EgressDecision.caught`).
- **public record**: what is sent (:meth:`Door.send`) and what comes back
  (:meth:`Door.received`) is added to the run's :class:`~.decision.PublicRecord`, and
  nothing else.
- **errors**: ``blocked`` raises :class:`~langchain_cogenesis.errors.PrivacyViolation`,
  always, after the audit row.
- **route**: ``local_only`` means the work is done on the device.
  :attr:`~.decision.EgressDecision.route` says ``"local"``; a path with a local model
  goes there (the middleware's ``local_model``, fusion without the cloud, the auto
  router's local route); a path without one calls
  :meth:`~.decision.EgressDecision.require_cloud`, which raises
  :class:`~langchain_cogenesis.errors.LocalOnly` (the sketch graph then writes
  without a sketch).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from langchain_cogenesis.privacy.detection.scanner import PrivacyScanner
from langchain_cogenesis.privacy.egress.audit import AuditLog
from langchain_cogenesis.privacy.egress.decision import (
    EgressDecision,
    PolicyRule,
    check_policy,
    decide,
    mark_public,
)
from langchain_cogenesis.privacy.egress.gate import hit_summary

_log = logging.getLogger("langchain_cogenesis.egress")


@dataclass
class Door:
    """Decides on payloads for one destination and acts on each decision.

    Args:
        destination: where sent payloads go (an endpoint URL, ``"agent-model"``),
            as the audit log names it.
        audit_log: where decisions and attempts are recorded; ``None`` records
            nothing (a log line and a trace event are still emitted).
        policy: the policy when a call names none (:data:`~.decision.PolicyRule`).
    """

    destination: str
    audit_log: AuditLog | None = None
    policy: PolicyRule = "redact"

    def __post_init__(self) -> None:
        check_policy(self.policy)

    def decide(
        self,
        outbound: Sequence[tuple[str, str]],
        scanner: PrivacyScanner,
        *,
        purpose: str,
        user_id: str = "",
        policy: PolicyRule | None = None,
        allow_private: bool = False,
        redactable: bool = True,
        prepares: bool = False,
    ) -> EgressDecision:
        """Decide on ``outbound`` (``(role, text)`` pairs), audit a refusal, raise a block.

        Args:
            purpose: what the payload is for, as the audit log names it.
            policy: this call's policy; default the door's.
            allow_private: see :func:`~.decision.decide`.
            redactable: see :func:`~.decision.decide`.
            prepares: the payload is not sent as it is, but prepares what later
                requests send (each decided again when sent): recorded when anything
                was found in it.

        Raises:
            PrivacyViolation: the policy blocks the payload, or redaction left private
                content behind; nothing was sent.
        """
        verdict = decide(
            outbound,
            scanner,
            policy=check_policy(policy or self.policy),
            allow_private=allow_private,
            redactable=redactable,
        )
        if not verdict.sendable or (prepares and verdict.caught):
            self.audit(verdict, user_id, purpose)
        if verdict.decision == "blocked":
            verdict.raise_unless_sendable(purpose)
        return verdict

    def send(
        self, verdict: EgressDecision, *, user_id: str, purpose: str, attempt: int = 1
    ) -> None:
        """Record one attempt at sending a decided payload, just before it leaves:
        the audit row, and its texts in the run's public record."""
        if not verdict.sendable:  # a refused payload never reaches a sender
            raise AssertionError(f"a {verdict.decision!r} payload cannot be sent")
        self.audit(verdict, user_id, purpose, attempt)
        mark_public(text for _, text in verdict.outbound)

    @staticmethod
    def received(texts: Iterable[str]) -> None:
        """Record what came back from the destination as public in this run."""
        mark_public(texts)

    def audit(self, verdict: EgressDecision, user_id: str, purpose: str, attempt: int = 1) -> None:
        """Record one decision (an attempt, when it was sent): audit log, a log line,
        and a trace event. No payload text leaves in the line or the event; the log
        keeps a payload only when it was sent."""
        hits = verdict.caught
        event = {
            "destination": self.destination,
            "purpose": purpose,
            "decision": verdict.decision,
            "detectors": sorted({hit.detector for hit in hits}),
            "user_id": user_id,
            "attempt": attempt,
        }
        _log.info(
            "egress %s (%s, attempt %d) to %s",
            verdict.decision,
            purpose,
            attempt,
            self.destination,
            extra={"egress": event},
        )
        _trace_event(event)
        if self.audit_log is not None:
            self.audit_log.record(
                user_id=user_id,
                destination=self.destination,
                purpose=purpose,
                decision=verdict.decision,
                hits=hit_summary(hits),
                payload=verdict.payload_text(),
                attempt=attempt,
            )


def _trace_event(event: dict[str, Any]) -> None:
    """Tag the current LangChain run with the egress decision (shows in traces and
    ``astream_events``); outside a run there is nothing to tag."""
    from langchain_core.callbacks.manager import dispatch_custom_event

    with suppress(RuntimeError):
        dispatch_custom_event("cogenesis_egress", event)
