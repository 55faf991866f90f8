"""What both fusion paths do before the first token: one preparation.

The fusion graph's node and :class:`~langchain_cogenesis.fusion.ChatCoGenesisFusion`
prepare a fused decode the same way:

- **the public side** (:func:`public_side`): the messages the cloud will score are
  decided once, through the run's :class:`~langchain_cogenesis.privacy.egress.door.Door`
  (placeholders cannot be added mid-generation): ``redacted`` scores the redacted
  messages and restores the answer on the device; ``local_only`` decodes with the
  local model alone and says why; ``blocked`` raises;
- **the local window** (:func:`fit_private_context`): the private context the local
  model reads is cut, least relevant first, until prompt and answer fit its window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from langchain_core.messages import BaseMessage

from langchain_cogenesis.fusion.scorers import TokenScorer
from langchain_cogenesis.models.templates import chat_template_of
from langchain_cogenesis.models.window import fit_to_window
from langchain_cogenesis.privacy.detection.scanner import PrivacyScanner
from langchain_cogenesis.privacy.egress.door import Door
from langchain_cogenesis.prompts import chat_text

T = TypeVar("T")

CLOUD_SKIPPED_LOCAL_ONLY = "the public instruction carries private context (local_only)"


@dataclass
class PublicSide:
    """The public messages as the cloud will score them, and what the decision implies."""

    messages: list[BaseMessage]
    redactions: dict[str, str] = field(default_factory=dict)
    """Placeholder → private value: restored in the answer, on the device."""
    cloud_skipped: str = ""
    """Why the cloud takes no part (``local_only``); empty when it does."""


def public_side(
    messages: Sequence[BaseMessage], scanner: PrivacyScanner, door: Door, *, user_id: str
) -> PublicSide:
    """Decide once on the messages the cloud will score (``fusion-instruction``).

    Raises:
        PrivacyViolation: the policy blocks them; nothing was sent.
    """
    messages = list(messages)
    verdict = door.decide(
        [(m.type, str(m.text)) for m in messages],
        scanner,
        purpose="fusion-instruction",
        user_id=user_id,
        prepares=True,
    )
    if verdict.route == "local":
        return PublicSide(messages, cloud_skipped=CLOUD_SKIPPED_LOCAL_ONLY)
    outbound = [
        m if text == str(m.text) else m.model_copy(update={"content": text})
        for m, (_, text) in zip(messages, verdict.outbound, strict=True)
    ]
    return PublicSide(outbound, dict(verdict.redactions))


def prompt_tokens(local: TokenScorer) -> Callable[[list[BaseMessage]], int]:
    """How many tokens the local scorer's prompt of some messages takes."""
    template = chat_template_of(local)
    return lambda messages: len(local.tokenize(chat_text(messages, template), add_bos=True))


def fit_private_context(
    items: Sequence[T],
    local_messages: Callable[[list[T]], list[BaseMessage]],
    local: TokenScorer,
    answer_tokens: int,
) -> tuple[list[T], list[T]]:
    """The private items (best first) whose local prompt fits the local scorer's window
    with ``answer_tokens`` to spare, and those dropped.

    Raises:
        LocalModelError: the prompt does not fit even without any.
    """
    window = getattr(local, "n_ctx", None)
    count = prompt_tokens(local)
    return fit_to_window(
        items,
        lambda kept: count(local_messages(kept)),
        window if isinstance(window, int) else None,
        answer_tokens,
    )
