"""The one decision: scan a payload, then send it, redact it, block it or keep it local.

:func:`decide` is the only place where that choice is made, and a
:class:`~langchain_cogenesis.privacy.egress.door.Door` the only place that acts on it
(audit, public record, errors, route): the egress guard, the agent middleware, both
fusion paths and the auto router each hold one, so a fix to the policy or to its
consequences lands once.

Tracers are exits too. What a tracer may see is decided here as well
(:func:`tracer_view`): text that has passed this decision and gone to the cloud in
the same private run (its :class:`PublicRecord`) is public; any other text seen
inside a private entry point is replaced by a keyed digest of it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Literal

from langchain_cogenesis.errors import LocalOnly, PrivacyViolation
from langchain_cogenesis.privacy.detection.detectors import Hit
from langchain_cogenesis.privacy.detection.scanner import PrivacyScanner
from langchain_cogenesis.privacy.egress.audit import SENT_DECISIONS
from langchain_cogenesis.privacy.keys import keyed_digest
from langchain_cogenesis.privacy.redaction.placeholders import PLACEHOLDER_PATTERN

Policy = Literal["block", "redact", "local_only"]
"""What happens when a payload carries private context (see docs/privacy.md)."""

POLICIES: tuple[Policy, ...] = ("block", "redact", "local_only")

PolicyRule = Policy | Mapping[str, Policy]
"""One policy for every detector, or one per detector type.

A mapping's keys are detector names (``"pii:email"``), their family (``"pii"``,
``"entity"``) or ``"*"`` for the rest: ``{"entity:HEALTH": "local_only",
"credential": "block", "*": "redact"}``. The most specific key wins for each hit;
over a whole payload the strictest outcome wins (block, then local_only, then redact).
"""

Decision = Literal["sent", "redacted", "blocked", "local_only", "sent_with_private_context"]
"""What became of a payload. ``local_only``: the work is done on the device."""

Route = Literal["cloud", "local", "refused"]
"""Where the work of a decided payload goes (:attr:`EgressDecision.route`)."""

KEEP_SENSITIVE_LOCAL: Mapping[str, Policy] = {
    detector: "local_only"
    for detector in ("entity:HEALTH", "entity:MONEY", "entity:CREDENTIAL", "pii:card", "pii:iban")
}
"""A policy rule: a request with health, money or credential content, a card or an IBAN
is worked on the device. The auto router lays the run's own policy over it
(:func:`layered`), so a run may name any of these detectors to decide otherwise."""


def layered(base: PolicyRule, rule: PolicyRule) -> PolicyRule:
    """``rule`` laid over ``base``: every key ``rule`` names wins, and a single policy
    counts as ``{"*": policy}`` (so the detectors ``base`` names keep their policy)."""
    over = {"*": rule} if isinstance(rule, str) else dict(rule)
    under = {"*": base} if isinstance(base, str) else dict(base)
    return check_policy({**under, **over})


_STRICTNESS: dict[Policy, int] = {"redact": 0, "local_only": 1, "block": 2}


@dataclass
class EgressDecision:
    """What :func:`decide` chose for one payload, and why.

    ``outbound`` is what may be sent (redacted where the policy redacts); for
    ``blocked`` and ``local_only`` it is the payload as given, which must not leave.
    ``redactions`` maps placeholders to private values and stays on the device.
    """

    decision: Decision
    outbound: list[tuple[str, str]]
    hits: list[Hit] = field(default_factory=list)
    remaining: list[Hit] = field(default_factory=list)
    redactions: dict[str, str] = field(default_factory=dict)
    policy: Policy = "redact"
    reason: str = ""

    @property
    def sendable(self) -> bool:
        """Whether the payload may leave the device."""
        return self.decision in SENT_DECISIONS

    @property
    def route(self) -> Route:
        """``cloud`` (sendable), ``local`` (``local_only``: the work is done on the
        device) or ``refused`` (``blocked``)."""
        if self.sendable:
            return "cloud"
        return "local" if self.decision == "local_only" else "refused"

    def require_cloud(self, purpose: str) -> None:
        """For a path that has no local alternative: raise unless the payload may leave.

        Raises:
            LocalOnly: the policy keeps this work on the device.
            PrivacyViolation: the payload is blocked.
        """
        self.raise_unless_sendable(purpose)

    @property
    def detectors(self) -> str:
        """The detectors that fired, for messages (no payload text)."""
        return ", ".join(sorted({hit.detector for hit in self.remaining or self.hits}))

    @property
    def caught(self) -> list[Hit]:
        """What the audit row of this decision names: every hit, and each placeholder
        the payload carried already (a private span redacted on the device before
        this decision, e.g. by the splitter), as ``placeholder:<TYPE>``.

        A payload that went out redacted is then never recorded as ``hits: none``.
        """
        earlier = [
            Hit(match.start(), match.end(), f"placeholder:{match[1]}", match[0])
            for _, text in self.outbound
            for match in PLACEHOLDER_PATTERN.finditer(text)
            if match[0] not in self.redactions
        ]
        return [*self.hits, *earlier]

    def payload_text(self) -> str:
        """The payload as one text, the way the audit log records it."""
        return "\n".join(f"<{role}>\n{text}" for role, text in self.outbound)

    def raise_unless_sendable(self, purpose: str) -> None:
        """Raise the typed error of a refused payload; nothing of it was sent.

        Raises:
            LocalOnly: the policy keeps this work on the device.
            PrivacyViolation: the policy blocks it, or redaction left private content.
        """
        if self.decision == "local_only":
            raise LocalOnly(
                f"The {purpose!r} request carries private context ({self.detectors}); "
                "policy local_only keeps the work on the device."
            )
        if self.decision == "blocked":
            raise PrivacyViolation(
                f"Refused to send a {purpose!r} request: {self.reason} ({self.detectors}). "
                "Nothing was sent."
            )


def policy_for(detector: str, rule: PolicyRule) -> Policy:
    """The policy that ``rule`` gives a hit of ``detector``.

    A value restored earlier in the conversation (``restored:HEALTH``) keeps the policy
    of its type (``entity:HEALTH``) unless ``restored:HEALTH`` itself is named: a
    health fact kept local stays local when it comes back through a tool call.
    """
    if isinstance(rule, str):
        return rule
    family, _, kind = detector.partition(":")
    typed = [f"entity:{kind}"] if family == "restored" and kind else []
    for key in (detector, *typed, family, "*"):
        if key in rule:
            return rule[key]
    return "redact"


def check_policy(rule: PolicyRule) -> PolicyRule:
    """``rule`` if every policy in it is known.

    Raises:
        ValueError: an unknown policy name.
    """
    values = [rule] if isinstance(rule, str) else list(rule.values())
    for value in values:
        if value not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, not {value!r}")
    return rule


def decide(
    outbound: Sequence[tuple[str, str]],
    scanner: PrivacyScanner,
    *,
    policy: PolicyRule = "redact",
    allow_private: bool = False,
    redactable: bool = True,
) -> EgressDecision:
    """Scan ``outbound`` (``(role, text)`` pairs) and decide what may leave.

    Args:
        outbound: the payload, message by message.
        scanner: the detectors for this user and request.
        policy: one policy, or one per detector type (:data:`PolicyRule`).
        allow_private: the caller explicitly sends private context (the
            ``cloud-private`` upper bound, an opted-in cloud judge); recorded as
            ``sent_with_private_context`` when anything private is in it.
        redactable: ``False`` where placeholders would break the request (a fusion
            prefix scored token by token): a payload that would be redacted is
            blocked instead.
    """
    check_policy(policy)
    messages = [(role, text) for role, text in outbound]
    hits = [hit for _, text in messages for hit in scanner.scan(text)]
    if not hits:
        return EgressDecision("sent", messages)
    if allow_private:
        return EgressDecision(
            "sent_with_private_context", messages, hits, reason="private context allowed"
        )
    strictest: Policy = max(
        (policy_for(hit.detector, policy) for hit in hits), key=_STRICTNESS.__getitem__
    )
    if strictest == "block":
        return EgressDecision(
            "blocked", messages, hits, policy="block", reason="it carries private context"
        )
    if strictest == "local_only":
        return EgressDecision(
            "local_only", messages, hits, policy="local_only", reason="policy local_only"
        )
    if not redactable:
        return EgressDecision(
            "blocked",
            messages,
            hits,
            reason="it carries private context and cannot be redacted mid-decoding",
        )
    redacted: list[tuple[str, str]] = []
    redactions: dict[str, str] = {}
    for role, text in messages:
        clean, mapping = scanner.redact(text, known=redactions)
        redactions.update(mapping)
        redacted.append((role, clean))
    remaining = [hit for _, text in redacted for hit in scanner.scan(text)]
    if remaining:
        return EgressDecision(
            "blocked",
            messages,
            hits,
            remaining,
            reason="private context remained after redaction",
        )
    return EgressDecision("redacted", redacted, hits, redactions=redactions)


# --- what a tracer may see -------------------------------------------------------

_PUBLIC_LIMIT = 4096


class PublicRecord:
    """The texts that crossed the boundary in one private run (went to the cloud
    after :func:`decide`, or came back from it): a tracer of that run may show them as
    they are. Each outermost private entry point makes its own, so what one run (one
    user) sent never changes what another run's tracer sees. Bounded: the oldest are
    forgotten first (a forgotten text is then shown as a digest, which is safe)."""

    def __init__(self, limit: int = _PUBLIC_LIMIT) -> None:
        self._texts: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._limit = limit

    def add(self, texts: Iterable[str]) -> None:
        """Record ``texts`` as public in this run."""
        with self._lock:
            for text in texts:
                if not text:
                    continue
                self._texts[text] = None
                self._texts.move_to_end(text)
            while len(self._texts) > self._limit:
                self._texts.popitem(last=False)

    def __contains__(self, text: object) -> bool:
        with self._lock:
            return text in self._texts

    def __len__(self) -> int:
        with self._lock:
            return len(self._texts)

    def __bool__(self) -> bool:
        return True  # a record, empty or not (``record or default`` keeps it)


_record: ContextVar[PublicRecord | None] = ContextVar("cogenesis_public_record", default=None)


def current_record() -> PublicRecord | None:
    """The record of the private run this code runs in, if any."""
    return _record.get()


def use_record(record: PublicRecord) -> Token[PublicRecord | None]:
    """Make ``record`` the current one (undo with :func:`drop_record`)."""
    return _record.set(record)


def drop_record(token: Token[PublicRecord | None]) -> None:
    """Restore the record that was current before :func:`use_record`."""
    _record.reset(token)


@contextmanager
def recording(record: PublicRecord) -> Iterator[PublicRecord]:
    """Run a block as part of the private run that owns ``record``."""
    token = use_record(record)
    try:
        yield record
    finally:
        drop_record(token)


def mark_public(texts: Iterable[str]) -> None:
    """Record texts that went to the cloud (after :func:`decide`) or came back from it,
    in the record of the private run this code runs in (outside any, nothing is kept:
    a tracer then shows them as digests, which is safe)."""
    record = _record.get()
    if record is not None:
        record.add(texts)


def is_public(text: str) -> bool:
    """Whether ``text`` crossed the boundary in the private run this code runs in."""
    record = _record.get()
    return record is not None and text in record


def tracer_view(text: str) -> str:
    """What a tracer may see of ``text`` seen inside a private entry point.

    Public text (see :func:`mark_public`) as it is; anything else as a keyed digest,
    ``[private:1a2b3c4d, 120 chars]``, stable within an install and unlinkable across
    installs.
    """
    if not text or is_public(text):
        return text
    return f"[private:{keyed_digest(text, purpose='trace')}, {len(text)} chars]"
