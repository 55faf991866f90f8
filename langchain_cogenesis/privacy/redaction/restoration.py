"""Restoring placeholders in LangChain messages, on the device.

The agent middleware and the graph nodes get the cloud's reply as messages, whole
or streamed, and may pass tool-call arguments on to local tools. Everything here
puts the values of a redaction (:mod:`~langchain_cogenesis.privacy.redaction.placeholders`) back
into them:

- :func:`restore_message` for a whole message: its content (text or content
  blocks), and for AI messages the arguments of ``tool_calls``,
  ``invalid_tool_calls``, ``tool_call_chunks`` and the raw OpenAI
  ``additional_kwargs["tool_calls"]``; where the arguments are JSON text, a value
  goes back JSON-escaped, so the arguments stay valid JSON;
- :class:`MessageStreamRestorer` for a stream of ``AIMessageChunk``: text and
  tool-call argument chunks, a placeholder split across chunks included;
- :func:`restore_value` for plain data (tool arguments, tool results);
- :class:`RestoredValueDetector` for the next turn: a value restored into the
  history goes out again as its placeholder, never verbatim;
- :class:`RestoredValues`, the values a conversation restored, shared by every
  scanner that screens a request of that conversation (the agent middleware's and
  the guard of a :func:`~langchain_cogenesis.graphs.cogenesis_tool` it runs).

Invoke:
    .. code-block:: python

        verdict = decide(messages_as_pairs, scanner)
        reply = model.invoke(redacted_messages)
        reply = restore_message(reply, verdict.redactions)
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage

from langchain_cogenesis.privacy.detection.detectors import Hit, rare_tokens, tokens
from langchain_cogenesis.privacy.redaction.placeholders import (
    GENERIC_TYPE,
    PLACEHOLDER_PATTERN,
    StreamRestorer,
    TextRestorer,
    json_string_escape,
)

_JSON_KEYS = frozenset({"args", "arguments"})
"""Keys whose string values are JSON text (tool-call arguments), restored JSON-escaped."""


def restore_value(value: Any, mapping: Mapping[str, str]) -> Any:
    """``value`` (a string, or lists and dicts of them, as in tool-call arguments) restored."""
    return _restore_tree(
        value, TextRestorer(mapping, None), TextRestorer(mapping, json_string_escape)
    )


def _restore_tree(value: Any, plain: TextRestorer, in_json: TextRestorer, key: str = "") -> Any:
    if isinstance(value, str):
        return (in_json if key in _JSON_KEYS else plain).sub(value)
    if isinstance(value, dict):
        return {k: _restore_tree(v, plain, in_json, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_restore_tree(item, plain, in_json) for item in value)
    return value


def restore_message(message: BaseMessage, mapping: Mapping[str, str]) -> BaseMessage:
    """A copy of ``message`` with placeholders restored in its content and tool calls.

    Restores the content (text or content blocks) and, for AI messages, the
    arguments of ``tool_calls``, ``invalid_tool_calls``, ``tool_call_chunks`` and the
    raw OpenAI ``additional_kwargs["tool_calls"]``. For a stream of chunks use
    :class:`MessageStreamRestorer`: one chunk may end inside a placeholder.
    """
    if not mapping:
        return message
    plain, in_json = TextRestorer(mapping, None), TextRestorer(mapping, json_string_escape)
    update: dict[str, Any] = {"content": _restore_tree(message.content, plain, in_json)}
    if message.additional_kwargs:
        update["additional_kwargs"] = _restore_tree(message.additional_kwargs, plain, in_json)
    if isinstance(message, AIMessage):
        for field in ("tool_calls", "invalid_tool_calls"):
            update[field] = _restore_tree(getattr(message, field), plain, in_json)
    if isinstance(message, AIMessageChunk):
        update["tool_call_chunks"] = _restore_tree(message.tool_call_chunks, plain, in_json)
    return message.model_copy(update=update)


class MessageStreamRestorer:
    """Restores a stream of ``AIMessageChunk``: text and tool-call argument chunks.

    Each text stream (the content, or each content block by index) and each tool
    call's argument stream (by ``index``) gets its own :class:`StreamRestorer`, the
    arguments JSON-escaped. Call :meth:`flush` at the end: it returns the chunk
    with whatever was held back, or ``None``.

    Stream:
        .. code-block:: python

            restorer = MessageStreamRestorer(decision.redactions)
            for chunk in model.stream(messages):
                yield restorer.feed(chunk)
            if (last := restorer.flush()) is not None:
                yield last
    """

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self.mapping = dict(mapping)
        self._text: dict[Any, StreamRestorer] = {}
        self._args: dict[Any, StreamRestorer] = {}

    def _text_restorer(self, key: Any) -> StreamRestorer:
        return self._text.setdefault(key, StreamRestorer(self.mapping))

    def feed(self, chunk: AIMessageChunk) -> AIMessageChunk:
        """``chunk`` with what it completes restored and a possible placeholder held."""
        if not self.mapping:
            return chunk
        content: Any = chunk.content
        if isinstance(content, str):
            content = self._text_restorer(None).feed(content)
        else:
            content = [self._block(block) for block in content]
        tool_call_chunks = []
        for call in chunk.tool_call_chunks:
            args = call.get("args")
            if args:
                key = call.get("index") if call.get("index") is not None else call.get("id")
                restorer = self._args.setdefault(
                    key, StreamRestorer(self.mapping, encode=json_string_escape)
                )
                call = {**call, "args": restorer.feed(args)}
            tool_call_chunks.append(call)
        # built anew, not copied: the chunk's tool_calls are parsed from its arguments
        fields = chunk.model_dump(exclude={"tool_calls", "invalid_tool_calls", "type"})
        return AIMessageChunk(
            **{
                **fields,
                "content": content,
                "tool_call_chunks": tool_call_chunks,
                "additional_kwargs": restore_value(chunk.additional_kwargs, self.mapping),
            }
        )

    def _block(self, block: str | dict[str, Any]) -> str | dict[str, Any]:
        if isinstance(block, str):
            return self._text_restorer(None).feed(block)
        if isinstance(block.get("text"), str):
            restorer = self._text_restorer(("block", block.get("index")))
            return {**block, "text": restorer.feed(block["text"])}
        return dict(restore_value(block, self.mapping))

    def flush(self) -> AIMessageChunk | None:
        """The chunk with the text held back at the end of the stream, if any."""
        text = ""
        blocks: list[str | dict[str, Any]] = []
        for key, restorer in self._text.items():
            rest = restorer.flush()
            if rest and key is None:
                text = rest
            elif rest:
                blocks.append({"type": "text", "text": rest, "index": key[1]})
        content: str | list[str | dict[str, Any]] = (
            [*([text] if text else []), *blocks] if blocks else text
        )
        calls = [
            {"index": key, "args": rest, "id": None, "name": None, "type": "tool_call_chunk"}
            for key, restorer in self._args.items()
            if (rest := restorer.flush())
        ]
        if not content and not calls:
            return None
        return AIMessageChunk(content=content, tool_call_chunks=calls)  # type: ignore[arg-type]


# --- the next turn -----------------------------------------------------------------


class RestoredValueDetector:
    """Values restored earlier in a conversation, found again in an outbound text.

    Add it to the scanner of every later turn (``scanner.detectors.append(...)``): a
    restored value then goes out again as its placeholder, even where no other
    detector would flag it. Its hits are named ``restored:<TYPE>``, the type of the
    placeholder the value had, so the value gets the same placeholder again.

    The rare tokens of a value (names, identifiers, numbers: what
    :func:`~langchain_cogenesis.privacy.detection.detectors.rare_tokens` finds) are found on their
    own too: a tool's answer that writes "Parkinson's" or "Okafor" in other words than
    the restored value does not carry them out.
    """

    name = "restored"

    def __init__(self, redactions: Mapping[str, str], *, min_chars: int = 3) -> None:
        self.kinds: dict[str, str] = {}
        for placeholder, value in redactions.items():
            match = PLACEHOLDER_PATTERN.fullmatch(placeholder)
            if len(value.strip()) >= min_chars:
                self.kinds.setdefault(value, match[1] if match else GENERIC_TYPE)
        values = sorted(self.kinds, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(re.escape(v) for v in values), re.IGNORECASE) if values else None
        )
        self._folded = {value.casefold(): kind for value, kind in self.kinds.items()}
        self._rare: dict[str, str] = {}
        for value, kind in self.kinds.items():
            for token in rare_tokens(value):
                self._rare.setdefault(token, kind)

    def find(self, text: str) -> list[Hit]:
        """Every occurrence (case-insensitive) of a restored value or one of its rare tokens."""
        if self._pattern is None:
            return []
        whole = [
            Hit(
                match.start(),
                match.end(),
                f"restored:{self._folded.get(match.group().casefold(), GENERIC_TYPE)}",
                match.group(),
            )
            for match in self._pattern.finditer(text)
        ]
        parts = [
            Hit(start, end, f"restored:{self._rare[word]}", text[start:end])
            for word, start, end in tokens(text)
            if word in self._rare
        ]
        return whole + parts


class RestoredValues:
    """The values restored on the device in one conversation: they never leave again.

    An agent's :class:`~langchain_cogenesis.graphs.PrivacyMiddleware` remembers here
    every value it puts back into a reply; it hands this object to the tools and
    models that send requests of their own in that conversation (a
    :func:`~langchain_cogenesis.graphs.cogenesis_tool`, a
    :class:`~langchain_cogenesis.graphs.ChatCoGenesis` with ``restored_values=``),
    whose scanners then find those values too. It is shared by passing it, never
    through module state: two agents have two of them.

    Bounded: past ``limit`` values, the oldest are forgotten first.

    Instantiate:
        .. code-block:: python

            restored = RestoredValues()
            restored.remember({"[HEALTH_3f9a]": "early-stage Parkinson's disease"})
            scanner.detectors.extend(restored.detectors())
    """

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()
        self._detector: RestoredValueDetector | None = None

    def remember(self, redactions: Mapping[str, str]) -> None:
        """Add a redaction's placeholder → value pairs (the values now on the device)."""
        if not redactions:
            return
        with self._lock:
            self._values.update(redactions)
            while len(self._values) > self.limit:
                self._values.pop(next(iter(self._values)))
            self._detector = None

    def mapping(self) -> dict[str, str]:
        """A copy of the placeholder → value pairs remembered so far."""
        with self._lock:
            return dict(self._values)

    def detectors(self) -> list[RestoredValueDetector]:
        """The detector of these values for a scanner: none while nothing is remembered."""
        with self._lock:
            if not self._values:
                return []
            if self._detector is None:  # rebuilt only when a value was added
                self._detector = RestoredValueDetector(self._values)
            return [self._detector]

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def __repr__(self) -> str:  # never the values: a repr ends up in logs and traces
        return f"RestoredValues({len(self)} values)"
