"""What a tracer is shown of a value seen inside a private entry point.

:func:`scrub` walks any value a callback or a tracing client receives (messages,
documents, generations, errors, dicts, pydantic models, dataclasses) and returns the
same shape with every string replaced by
:func:`~langchain_cogenesis.privacy.egress.decision.tracer_view` of it: public text (what
went to the cloud, or came back from it) as it is, anything else as a keyed digest.

Structure stays readable: dict keys, message types and roles, numbers and booleans,
ids, and the values of a few keys that only ever hold names chosen by code
(:data:`STRUCTURAL_KEYS`: the egress ``decision`` and ``purpose``, the LangGraph node,
the model name...), as long as such a value is one short token.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import traceback
from collections import OrderedDict
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

from langchain_core.documents import Document
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, Generation, LLMResult
from pydantic import BaseModel

from langchain_cogenesis.privacy.egress.decision import tracer_view

STRUCTURAL_KEYS: frozenset[str] = frozenset(
    {
        "lc",
        "type",
        "id",
        "role",
        "tool_call_id",
        "finish_reason",
        "stop_reason",
        "model",
        "model_name",
        "model_provider",
        "mode",
        "kind",
        "decision",
        "purpose",
        "destination",
        "detector",
        "detectors",
        "status",
        "policy",
        "combiner",
        "run_type",
        "_type",
        "checkpoint_ns",
        "langgraph_node",
        "langgraph_triggers",
        "langgraph_path",
        "langgraph_checkpoint_ns",
        "ls_provider",
        "ls_model_name",
        "ls_model_type",
        "ls_method",
        "cogenesis_purpose",
        "cogenesis_decision",
    }
)
"""Keys whose value is a name chosen by code, shown when it is one short token."""

_TOKEN = re.compile(r"^\S{1,200}$")
_SAFE_KEY = re.compile(r"^[A-Za-z_][\w.\-:]{0,63}$")
_MAX_DEPTH = 40


def scrub(value: Any, key: str | None = None, _depth: int = 0) -> Any:
    """``value`` with every string a tracer may not see replaced; same shape and types."""
    if value is None or isinstance(value, bool | int | float | UUID | datetime | date | timedelta):
        return value
    if isinstance(value, Enum):
        return value  # members are names chosen by code
    if isinstance(value, str):
        if key in STRUCTURAL_KEYS and _TOKEN.match(value):
            return value
        return tracer_view(value)
    if _depth > _MAX_DEPTH:
        return f"<{type(value).__name__}>"
    deeper = _depth + 1
    if isinstance(value, BaseMessage):
        return _scrub_message(value, deeper)
    if isinstance(value, Document):
        return Document(
            page_content=tracer_view(value.page_content),
            metadata=scrub(value.metadata, None, deeper),
            id=value.id,
        )
    if isinstance(value, LLMResult):
        return LLMResult(
            generations=[
                [_scrub_generation(g, deeper) for g in batch] for batch in value.generations
            ],
            llm_output=scrub(value.llm_output, None, deeper),
            run=value.run,
            type=value.type,
        )
    if isinstance(value, Generation):
        return _scrub_generation(value, deeper)
    if isinstance(value, BaseException):
        return scrub_error(value)
    if isinstance(value, Mapping):
        return {_scrub_key(k): scrub(v, _key_of(k), deeper) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [scrub(item, key, deeper) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        update = {name: scrub(getattr(value, name, None), name, deeper) for name in fields}
        return value.model_copy(update=update)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        try:
            return dataclasses.replace(
                value,
                **{
                    f.name: scrub(getattr(value, f.name), f.name, deeper)
                    for f in dataclasses.fields(value)
                    if f.init
                },
            )
        except (TypeError, ValueError):
            return f"<{type(value).__name__}>"
    return f"<{type(value).__name__}>"


def plain(value: Any, _depth: int = 0) -> Any:
    """``value`` as JSON-like data (dicts, lists, strings, numbers), strings untouched.

    A snapshot taken when a run is handed to the tracing client, scrubbed later.
    """
    if value is None or isinstance(
        value, str | bool | int | float | UUID | datetime | date | timedelta | Enum
    ):
        return value
    if _depth > _MAX_DEPTH:
        return f"<{type(value).__name__}>"
    deeper = _depth + 1
    if isinstance(value, Mapping):
        return {k if isinstance(k, str) else str(k): plain(v, deeper) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item, deeper) for item in value]
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    if isinstance(value, BaseModel):
        return plain(value.model_dump(), deeper)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name), deeper) for f in dataclasses.fields(value)}
    return f"<{type(value).__name__}>"


def scrub_serialized(serialized: Any) -> Any:
    """A runnable's ``serialized`` description: its class path and name stay, its
    arguments (a chat model's ``private_context``, say) and ``repr`` do not."""
    if not isinstance(serialized, Mapping):
        return scrub(serialized)
    shown = {
        _scrub_key(k): scrub(v, _key_of(k))
        for k, v in serialized.items()
        if k not in ("name", "graph")
    }
    if "name" in serialized:
        shown["name"] = _token_or_view(serialized["name"])
    return shown


def scrub_events(events: Any) -> Any:
    """A run's events: their names stay (``start``, ``new_token``, ``cogenesis_egress``)."""
    if not isinstance(events, list):
        return scrub(events)
    return [
        {**scrub(event), "name": _token_or_view(event.get("name"))}
        if isinstance(event, Mapping)
        else scrub(event)
        for event in events
    ]


# --- errors -----------------------------------------------------------------------

_SAFE_TEXTS: OrderedDict[str, None] = OrderedDict()
_safe_lock = threading.Lock()
_safe_classes: dict[type[BaseException], type[BaseException]] = {}


def error_text(error: BaseException) -> str:
    """What a tracer is shown of an error: its type, its message as a tracer sees it,
    and where it was raised (files, lines, functions; no source text, no locals, no
    chained errors, whose messages may quote private text)."""
    frames = traceback.extract_tb(error.__traceback__)
    where = "".join(f'  File "{f.filename}", line {f.lineno}, in {f.name}\n' for f in frames)
    name = f"{type(error).__module__}.{type(error).__qualname__}"
    text = f"{name}: {tracer_view(str(error))}\n" + (
        "Traceback (most recent call last):\n" + where if where else ""
    )
    with _safe_lock:
        _SAFE_TEXTS[text] = None
        while len(_SAFE_TEXTS) > 1024:
            _SAFE_TEXTS.popitem(last=False)
    return text


def is_error_text(text: str) -> bool:
    """Whether ``text`` was made by :func:`error_text` (so it is already scrubbed)."""
    with _safe_lock:
        return text in _SAFE_TEXTS


def scrub_error(error: BaseException) -> BaseException:
    """An error of the same type (``isinstance`` checks still hold) whose message is
    what a tracer may see, with no traceback, locals or chained errors."""
    message = tracer_view(str(error))
    try:
        clone = _safe_class(type(error)).__new__(_safe_class(type(error)))
        clone.args = (message,)
        for name, attribute in vars(error).items():
            setattr(clone, name, scrub(attribute, name))
    except Exception:
        clone = RuntimeError(f"{type(error).__name__}: {message}")
    clone.__traceback__ = None
    clone.__cause__ = None
    clone.__context__ = None
    clone.__suppress_context__ = True
    return clone


def _safe_class(cls: type[BaseException]) -> type[BaseException]:
    if cls not in _safe_classes:

        def text(self: BaseException) -> str:
            return str(self.args[0]) if self.args else ""

        def shown(self: BaseException) -> str:
            return f"{cls.__name__}({text(self)!r})"

        _safe_classes[cls] = type(
            cls.__name__,
            (cls,),
            {"__module__": cls.__module__, "__str__": text, "__repr__": shown},
        )
    return _safe_classes[cls]


# --- pieces -----------------------------------------------------------------------


def _scrub_message(message: BaseMessage, depth: int) -> BaseMessage:
    content: Any = message.content
    update: dict[str, Any] = {
        "content": tracer_view(content)
        if isinstance(content, str)
        else scrub(content, None, depth),
        "additional_kwargs": scrub(message.additional_kwargs, None, depth),
        "response_metadata": scrub(message.response_metadata, None, depth),
    }
    name = message.name
    if name:
        update["name"] = tracer_view(name)
    if isinstance(message, AIMessage):
        update["tool_calls"] = [
            {**call, "args": scrub(call["args"], None, depth)} for call in message.tool_calls
        ]
        update["invalid_tool_calls"] = scrub(message.invalid_tool_calls, None, depth)
    if isinstance(message, AIMessageChunk):
        update["tool_call_chunks"] = [
            {**chunk, "args": scrub(chunk.get("args"))} for chunk in message.tool_call_chunks
        ]
    if hasattr(message, "artifact"):
        update["artifact"] = scrub(getattr(message, "artifact", None), None, depth)
    return message.model_copy(update=update)


def _scrub_generation(generation: Generation, depth: int) -> Generation:
    update: dict[str, Any] = {
        "text": tracer_view(generation.text),
        "generation_info": scrub(generation.generation_info, None, depth),
    }
    if isinstance(generation, ChatGeneration):
        update["message"] = _scrub_message(generation.message, depth)
    return generation.model_copy(update=update)


def _scrub_key(key: Any) -> Any:
    if not isinstance(key, str) or _SAFE_KEY.match(key):
        return key
    return tracer_view(key)


def _key_of(key: Any) -> str | None:
    return key if isinstance(key, str) else None


def _token_or_view(value: Any) -> Any:
    if isinstance(value, str) and _TOKEN.match(value):
        return value
    return scrub(value)
