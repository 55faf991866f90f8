"""Pydantic models: a user's private context, context-aware instructions, results.

The vocabulary follows the paper (§2, Fig. 2, appendix A.1): an instruction has a
general (public) part and a personal (private) part; the user's context holds a
profile, private details, activity logs and earlier writings.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

TaskKind = Literal["context-aware", "email", "paper"]
"""Which of the paper's prompt families applies (Tables 7 and 8)."""

WritingMode = Literal["sketch", "fusion", "local", "cloud-public", "cloud-private", "auto"]
"""The paper's settings (§4.2): CoGenesis sketch and logits (fusion), SLM with context,
LLM w/o context, LLM with context (upper bound; sends private context, so it must be
allowed). ``auto`` chooses one per request (docs/auto-router.md)."""

MAX_INSTRUCTION_CHARS = 20_000


def check_length(text: str, part: str = "instruction") -> None:
    """Refuse a part of an instruction longer than :data:`MAX_INSTRUCTION_CHARS`
    (every entry point uses the one limit, and says it)."""
    if len(text) > MAX_INSTRUCTION_CHARS:
        from langchain_cogenesis.errors import InvalidInstruction

        raise InvalidInstruction(
            f"Invalid instruction: the {part} has {len(text):,} characters; the limit is "
            f"{MAX_INSTRUCTION_CHARS:,}."
        )


"""Longer instructions are refused: they would not fit the local model's window."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(value: str, what: str) -> str:
    """``value`` without control characters (newline and tab stay), stripped.

    Raises:
        ValueError: ``value`` holds lone surrogates: bytes that were not UTF-8 and
            were smuggled in by ``surrogateescape`` decoding.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"the {what} is not valid text: it holds bytes that are not UTF-8; "
            "decode it as UTF-8 first"
        ) from None
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


class UserProfile(BaseModel):
    """Who the user is and how they write (paper appendix A.1, "User Profile")."""

    model_config = ConfigDict(extra="allow")

    name: str = ""
    age: str = ""
    occupation: str = ""
    location: str = ""
    personal_traits: str = ""
    writing_style: str = ""

    def as_text(self) -> str:
        """Render the filled-in fields as ``Key: value`` lines."""
        fields = self.model_dump(exclude_none=True)
        return "\n".join(
            f"{key.replace('_', ' ').capitalize()}: {value}"
            for key, value in fields.items()
            if str(value).strip()
        )


class Writing(BaseModel):
    """One of the user's earlier writings."""

    title: str = ""
    text: str


class UserContext(BaseModel):
    """Everything private about one user. It never leaves the device."""

    user_id: str = Field(min_length=1, max_length=200)
    profile: UserProfile = Field(default_factory=UserProfile)
    private_details: list[str] = Field(default_factory=list)
    activity_logs: list[str] = Field(default_factory=list)
    writing_history: list[Writing] = Field(default_factory=list)

    @field_validator("user_id")
    @classmethod
    def _user_id_is_printable(cls, value: str) -> str:
        value = value.strip()
        if not value or not value.isprintable():
            raise ValueError("user_id must be a non-empty printable string")
        return value


class ContextAwareInstruction(BaseModel):
    """A writing instruction split into what may go to the cloud and what may not."""

    public_instruction: str
    private_instruction: str = ""
    kind: TaskKind = "context-aware"

    @field_validator("public_instruction")
    @classmethod
    def _public_is_usable(cls, value: str) -> str:
        value = clean_text(value, "public instruction")
        if not value:
            raise ValueError("the public instruction is empty")
        if len(value) > MAX_INSTRUCTION_CHARS:
            raise ValueError(
                f"the public instruction has {len(value):,} characters; "
                f"the limit is {MAX_INSTRUCTION_CHARS:,}"
            )
        return value

    @field_validator("private_instruction")
    @classmethod
    def _private_fits(cls, value: str) -> str:
        value = clean_text(value, "private instruction")
        if len(value) > MAX_INSTRUCTION_CHARS:
            raise ValueError(
                f"the private instruction has {len(value):,} characters; "
                f"the limit is {MAX_INSTRUCTION_CHARS:,}"
            )
        return value

    @property
    def full_instruction(self) -> str:
        """The whole task as the user would write it: ``general: personal``."""
        if not self.private_instruction:
            return self.public_instruction
        return f"{self.public_instruction}: {self.private_instruction}"


class ContextAwareTask(BaseModel):
    """A task of a dataset user, with the reference answer when one exists."""

    instruction: ContextAwareInstruction
    reference: str = ""


class CloudPayload(BaseModel):
    """Exactly what one request to the cloud carried, and what came back."""

    destination: str
    model: str
    purpose: str
    messages: list[dict[str, str]]
    max_tokens: int
    decision: str = "sent"
    """``sent``, ``redacted`` (private spans replaced) or ``sent_with_private_context``."""
    detector_hits: list[dict[str, Any]] = Field(default_factory=list)
    """Detector name and span of each hit in the original payload (never the text)."""
    sent_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    response: str = ""
    attempts: int = 1
    """How many times this same payload was sent (retries after transient failures)."""
    usage: dict[str, int] = Field(default_factory=dict)
    """Tokens the cloud counted (``input_tokens``, ``output_tokens``, ``total_tokens``),
    when it reports them."""


class Sketch(BaseModel):
    """The cloud model's outline for a public instruction (paper §3.2, eq. 2)."""

    text: str
    points: list[str] = Field(default_factory=list)

    @classmethod
    def from_text(cls, text: str) -> Sketch:
        """Parse a numbered list (``1. ...``, also after a ``[Skeleton]:`` label) into points."""
        points = [
            match.group(1).strip()
            for match in re.finditer(
                r"^\s*(?:\[[^\]\n]*\]:\s*)?\d+[.)]\s*(.+?)\s*$", text, flags=re.MULTILINE
            )
        ]
        return cls(text=text.strip(), points=points)


class WritingResult(BaseModel):
    """The answer to one instruction and the evidence of what left the device."""

    user_id: str
    mode: WritingMode
    instruction: ContextAwareInstruction
    answer: str
    sketch: Sketch | None = None
    context_used: list[str] = Field(default_factory=list)
    context_dropped: list[str] = Field(default_factory=list)
    """Retrieved chunks left out because they did not fit the local model's window
    (the least relevant ones); they stayed on the device like the rest."""
    cloud_payloads: list[CloudPayload] = Field(default_factory=list)
    cloud_skipped: str = ""
    """Why the cloud was not used although the mode would use it (policy local_only,
    or fusion that fell back to the sketch path)."""
    degraded: bool = False
    """The cloud failed (unreachable, timing out, erroring after retries) and the local
    model wrote the answer, or its rest, alone; ``degraded_reason`` says why."""
    degraded_reason: str = ""
    route: str = ""
    """For ``mode="auto"``: the route chosen, ``cloud``, ``sketch``, ``fusion`` or ``local``."""
    route_reason: str = ""
    """Why that route (detector names, never private text); docs/auto-router.md."""
    fusion: dict[str, Any] | None = None
    """For ``mode="fusion"``: cloud tokens, requests, where the prefix gate closed, and
    the per-token trace (token, weight ``w``, both models' top choices)."""
    local_usage: dict[str, int] = Field(default_factory=dict)
    """Tokens the local model read and wrote for the answer."""
    timings: dict[str, float] = Field(default_factory=dict)
