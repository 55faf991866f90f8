"""A chat call as a graph run, and the run's result as a chat reply.

:class:`~langchain_cogenesis.graphs.chat_model.ChatCoGenesis` turns the messages of a
call into the graph's input (:func:`writing_input`) and the graph's result into the
reply's metadata and usage (:func:`response_metadata`, :func:`usage_of`); the graph
run nests under the model's run (:func:`nested_callbacks`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import CallbackManager
from langchain_core.messages import BaseMessage
from langchain_core.messages.ai import UsageMetadata

from langchain_cogenesis.errors import InvalidInstruction
from langchain_cogenesis.graphs.state import WritingInput
from langchain_cogenesis.schema import WritingResult

PRIVATE = "private"
"""``additional_kwargs`` flag of a message that holds the private part of the request."""


def writing_input(
    messages: Sequence[BaseMessage], user_id: str, mode: str, *, release_thread: bool = False
) -> WritingInput:
    """The graph input of a call: the user, the instruction's parts (the last human
    message; messages flagged :data:`PRIVATE` are its private part), the caller's
    system prompt and earlier turns. ``release_thread``: in ``mode="auto"``, a thread
    that turned sensitive may use the cloud again."""
    private = [str(m.text) for m in messages if m.additional_kwargs.get(PRIVATE)]
    said = [m for m in messages if not m.additional_kwargs.get(PRIVATE)]
    last = max((i for i, m in enumerate(said) if m.type == "human"), default=None)
    if last is None:
        raise InvalidInstruction("ChatCoGenesis needs a human message with the instruction.")
    request: WritingInput = {"user_id": user_id, "mode": mode}  # type: ignore[typeddict-item]
    if private:
        request["public_instruction"] = str(said[last].text)
        request["private_instruction"] = "\n".join(private)
    else:
        request["instruction"] = str(said[last].text)
    system = "\n\n".join(str(m.text) for m in said if m.type == "system" and m.text)
    if system:
        request["system"] = system
    history = [
        {"role": "ai" if m.type == "ai" else "human", "content": str(m.text)}
        for m in said[:last]
        if m.type in ("human", "ai") and str(m.text).strip()
    ]
    if history:
        request["history"] = history  # type: ignore[typeddict-item]
    if release_thread:  # mode="auto": a sensitive thread may use the cloud
        request["release_thread"] = True  # type: ignore[typeddict-unknown-key]
    return request


def response_metadata(result: WritingResult, model_name: str | None) -> dict[str, Any]:
    """The reply's ``response_metadata``: the mode, what was sent to the cloud, why the
    cloud was skipped or the run degraded, the route, each model's token counts."""
    return {
        "model_name": model_name,
        "model_provider": "cogenesis",
        "mode": result.mode,
        "user_id": result.user_id,
        "cloud_payloads": [p.model_dump(mode="json") for p in result.cloud_payloads],
        "cloud_skipped": result.cloud_skipped,
        "degraded": result.degraded,
        "degraded_reason": result.degraded_reason,
        "route": result.route,
        "route_reason": result.route_reason,
        "sketch": result.sketch.text if result.sketch else "",
        "local_usage": dict(result.local_usage),
        "cloud_usage": _sum(payload.usage for payload in result.cloud_payloads),
    }


_COUNTS = ("input_tokens", "output_tokens", "total_tokens")


def _sum(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    total = dict.fromkeys(_COUNTS, 0)
    for each in counts:
        for key in _COUNTS:
            total[key] += int(each.get(key, 0))
    return total


def usage_of(result: WritingResult) -> UsageMetadata:
    """The tokens both models read and wrote for one reply (local and cloud added up;
    ``response_metadata`` keeps them apart as ``local_usage`` and ``cloud_usage``)."""
    both = _sum([result.local_usage, *(payload.usage for payload in result.cloud_payloads)])
    if not both["total_tokens"]:
        both["total_tokens"] = both["input_tokens"] + both["output_tokens"]
    return UsageMetadata(
        input_tokens=both["input_tokens"],
        output_tokens=both["output_tokens"],
        total_tokens=both["total_tokens"],
    )


def cut_at_stop(text: str, stop: Sequence[str] | None) -> str:
    """``text`` up to the first of the ``stop`` sequences in it."""
    hits = [text.find(s) for s in stop or () if s and s in text]
    return text[: min(hits)] if hits else text


def nested_callbacks(run_manager: Any, run_id: UUID) -> CallbackManager:
    """Callbacks for runs nested under the run ``run_id`` (LLM run managers have no
    ``get_child``)."""
    return CallbackManager(
        handlers=list(run_manager.inheritable_handlers),
        inheritable_handlers=list(run_manager.inheritable_handlers),
        parent_run_id=run_id,
        tags=list(run_manager.inheritable_tags),
        inheritable_tags=list(run_manager.inheritable_tags),
        metadata=dict(run_manager.inheritable_metadata),
        inheritable_metadata=dict(run_manager.inheritable_metadata),
    )


def call_arguments(config: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A call's keyword arguments with the user and thread its config names (an
    argument given explicitly wins)."""
    configurable = (config or {}).get("configurable", {}) if isinstance(config, dict) else {}
    if configurable.get("thread_id") and "thread_id" not in kwargs:  # mode="auto" threads
        kwargs = {**kwargs, "thread_id": str(configurable["thread_id"])}
    if configurable.get("user_id") and "user_id" not in kwargs:
        return {**kwargs, "user_id": str(configurable["user_id"])}
    return kwargs
