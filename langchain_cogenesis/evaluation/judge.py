"""LLM-as-judge (paper Table 9): three ratings from 1 to 10, parsed from ``[[N]]``.

The judge reads the user's profile and writing history for two of the three prompts.
That is evaluation data being disclosed on purpose; judge synthetic or fictional users,
not real users' private context, with a cloud judge. A judge behind a cloud endpoint
goes through the :class:`~langchain_cogenesis.privacy.EgressGuard` (``Judge.through``),
so each request is in the audit log.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage

from langchain_cogenesis import prompts
from langchain_cogenesis.schema import UserContext

Aspect = Literal["overall", "personalization", "overall_without_profile"]
ASPECTS: tuple[Aspect, ...] = ("overall", "personalization", "overall_without_profile")
_TEMPLATES: dict[Aspect, str] = {
    "overall": prompts.JUDGE_OVERALL_WITH_PROFILE,
    "personalization": prompts.JUDGE_PERSONALIZATION,
    "overall_without_profile": prompts.JUDGE_OVERALL_WITHOUT_PROFILE,
}
_RATING = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")


def parse_rating(text: str) -> float | None:
    """The last ``[[N]]`` in ``text`` with 1 <= N <= 10; ``None`` when there is none."""
    for match in reversed(_RATING.findall(text)):
        value = float(match)
        if 1 <= value <= 10:
            return value
    return None


@dataclass(frozen=True)
class Judgement:
    """One rating and the judge's words."""

    aspect: Aspect
    rating: float | None
    """``None`` when no attempt gave a rating."""
    explanation: str
    attempts: int


def profile_text(context: UserContext) -> tuple[str, str]:
    """The profile block and the writing-history block of a judge prompt."""
    lines = [context.profile.as_text(), *context.private_details, *context.activity_logs]
    profile = "\n".join(f"- {line}" for line in lines if line) or "(none)"
    history = "\n\n".join(f"### {w.title}\n{w.text}" for w in context.writing_history) or "(none)"
    return profile, history


class Judge:
    """Rates answers with the paper's three judge prompts.

    Key init args:
        ask: sends one prompt and returns the reply (see :meth:`of` and :meth:`through`).
        max_attempts: tries per rating when the reply has no ``[[N]]`` (bounded retry).
    """

    def __init__(self, ask: Callable[[list[BaseMessage], int], str], *, max_attempts: int = 3):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.ask = ask
        self.max_attempts = max_attempts

    @classmethod
    def of(cls, model: BaseChatModel, **kwargs: Any) -> Judge:
        """A judge from any chat model (local or already guarded)."""

        def ask(messages: list[BaseMessage], attempt: int) -> str:
            return str(model.invoke(messages).text)

        return cls(ask, **kwargs)

    @classmethod
    def through(cls, guard: Any, *, max_tokens: int = 256, **kwargs: Any) -> Judge:
        """A judge behind the egress guard's cloud endpoint (audited, bounded output)."""
        from langchain_cogenesis.privacy import PrivacyScanner

        def ask(messages: list[BaseMessage], attempt: int) -> str:
            reply = guard.chat(
                messages, purpose="judge", max_tokens=max_tokens, scanner=PrivacyScanner()
            )
            return str(reply.text)

        return cls(ask, **kwargs)

    def rate(
        self, aspect: Aspect, question: str, answer: str, context: UserContext | None = None
    ) -> Judgement:
        """One rating; retried up to ``max_attempts`` times while no rating is found."""
        profile, history = profile_text(context) if context is not None else ("(none)", "(none)")
        text = _TEMPLATES[aspect].format(
            question=question, answer=answer, profile_info=profile, writing_history=history
        )
        reply = ""
        for attempt in range(1, self.max_attempts + 1):
            reply = self.ask([HumanMessage(text)], attempt)
            rating = parse_rating(reply)
            if rating is not None:
                return Judgement(aspect, rating, reply, attempt)
        return Judgement(aspect, None, reply, self.max_attempts)

    def rate_all(
        self,
        question: str,
        answer: str,
        context: UserContext | None,
        aspects: Sequence[Aspect] = ASPECTS,
    ) -> dict[Aspect, Judgement]:
        """Every aspect for one answer."""
        return {aspect: self.rate(aspect, question, answer, context) for aspect in aspects}


def win_tie_lose(
    ours: Sequence[float | None], baseline: Sequence[float | None]
) -> tuple[float, float, float]:
    """Shares (%) of samples where ``ours`` rates above, equal to, below ``baseline``.

    Pairs with a missing rating on either side are left out.
    """
    pairs = [(a, b) for a, b in zip(ours, baseline, strict=True) if a is not None and b is not None]
    if not pairs:
        return (0.0, 0.0, 0.0)
    wins = sum(a > b for a, b in pairs)
    ties = sum(a == b for a, b in pairs)
    total = len(pairs)
    return (100 * wins / total, 100 * ties / total, 100 * (total - wins - ties) / total)
