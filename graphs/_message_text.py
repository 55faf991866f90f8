"""A chat request as ``(role, text)`` pairs, and back.

The texts of a list of messages that a provider would be sent (content and content
blocks, names, tool-call arguments, raw ``additional_kwargs``), in one fixed order, so
that :class:`~langchain_cogenesis.graphs.middleware.PrivacyMiddleware` decides on them
as one payload and puts the outbound texts back where they came from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

TextMap = Callable[[str, str], str]
"""``(role, text) -> text``: applied to every text of a request in one fixed order."""

_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}
_TEXT_KEYS = ("text", "reasoning", "thinking")
_ARG_KEYS = ("args", "input")


def _map_value(value: Any, role: str, fn: TextMap) -> Any:
    """Tool-call arguments with ``fn`` applied to every string (and number) in them."""
    if isinstance(value, str):
        return fn(role, value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
        mapped = fn(role, text)  # an account number may be an int
        return value if mapped == text else mapped
    if isinstance(value, dict):
        return {key: _map_value(item, role, fn) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_map_value(item, role, fn) for item in value)
    return value


def _map_content(content: Any, role: str, fn: TextMap) -> Any:
    if isinstance(content, str):
        return fn(role, content)
    blocks = []
    for block in content:
        if isinstance(block, str):
            block = fn(role, block)
        elif isinstance(block, dict):
            block = dict(block)
            for key in _TEXT_KEYS:
                if isinstance(block.get(key), str):
                    block[key] = fn(role, block[key])
            for key in _ARG_KEYS:
                if key in block:
                    block[key] = _map_value(block[key], f"{role} tool call", fn)
        blocks.append(block)
    return blocks


def map_message_texts(message: BaseMessage, fn: TextMap) -> BaseMessage:
    """``message`` with ``fn`` applied to every text that a provider would be sent.

    The content (text and content blocks), the message's name, the arguments of its
    tool calls (parsed and raw) and the raw ``additional_kwargs`` that OpenAI-style
    clients send. Image and file blocks are passed as they are: no detector reads them.
    """
    role = _ROLES.get(message.type, message.type)
    update: dict[str, Any] = {"content": _map_content(message.content, role, fn)}
    if message.name:
        name = fn(f"{role} name", message.name)
        # a placeholder is not a valid name for most providers: a private name is dropped
        update["name"] = message.name if name == message.name else None
    if message.additional_kwargs:
        update["additional_kwargs"] = _map_value(message.additional_kwargs, role, fn)
    if isinstance(message, AIMessage):
        update["tool_calls"] = [
            {**call, "args": _map_value(call["args"], f"{role} tool call", fn)}
            for call in message.tool_calls
        ]
        update["invalid_tool_calls"] = [
            {**call, "args": _map_value(call.get("args"), f"{role} tool call", fn)}
            for call in message.invalid_tool_calls
        ]
    return message.model_copy(update=update)


def message_texts(messages: Sequence[BaseMessage]) -> list[tuple[str, str]]:
    """Every text of ``messages`` that would leave, as ``(role, text)`` pairs."""
    pairs: list[tuple[str, str]] = []

    def collect(role: str, text: str) -> str:
        pairs.append((role, text))
        return text

    for message in messages:
        map_message_texts(message, collect)
    return pairs


def with_texts(messages: Sequence[BaseMessage], texts: Sequence[str]) -> list[BaseMessage]:
    """``messages`` with their texts replaced by ``texts``, in :func:`message_texts` order."""
    replacements = iter(texts)
    return [map_message_texts(m, lambda _role, _text: next(replacements)) for m in messages]
