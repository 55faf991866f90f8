"""Nodes of the sketch graph: plain functions that return only what they change.

What the nodes build on lives beside them: the run's components
(:mod:`~langchain_cogenesis.graphs.defaults`), its privacy scanner
(:mod:`~langchain_cogenesis.graphs.scanners`) and the messages it sends
(:mod:`~langchain_cogenesis.graphs.messages`).
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime
from pydantic import ValidationError

from langchain_cogenesis import prompts
from langchain_cogenesis.errors import (
    CloudError,
    CloudUnavailable,
    InvalidInstruction,
    LocalOnly,
    PrivacyViolation,
    UnknownUser,
)
from langchain_cogenesis.graphs.caller import served_caller, served_user
from langchain_cogenesis.graphs.defaults import components
from langchain_cogenesis.graphs.messages import (
    fit_context,
    instruction_of,
    local_messages,
    with_conversation,
)
from langchain_cogenesis.graphs.scanners import run_scanner, scanner_for
from langchain_cogenesis.graphs.state import Components, WritingState
from langchain_cogenesis.models.local import ChatLocalLlama
from langchain_cogenesis.models.locality import check_runs_here
from langchain_cogenesis.privacy import restore
from langchain_cogenesis.privacy.detection.splitter import general_part, split_request
from langchain_cogenesis.privacy.egress.guard import CloudReply
from langchain_cogenesis.schema import check_length

MODES = ("sketch", "fusion", "local", "cloud-public", "cloud-private", "auto")


def ask_cloud(
    state: WritingState, parts: Components, messages: list[BaseMessage], **kwargs: Any
) -> CloudReply:
    """One chat request through the guard, with this run's scanner, user and policy."""
    assert parts.egress_guard is not None  # checked in prepare
    return parts.egress_guard.chat(
        messages,
        scanner=scanner_for(state, parts),
        user_id=state["user_id"],
        policy=parts.policy,
        **kwargs,
    )


def _payload_record(payload: Any) -> dict[str, Any]:
    return dict(payload.model_dump(mode="json"))


def _split(state: WritingState, parts: Components, user_id: str) -> dict[str, Any]:
    """One ``instruction`` given: propose the public part on the device."""
    text = (state.get("instruction") or "").strip()
    if not text:
        raise InvalidInstruction(
            "Invalid instruction: the instruction is empty. Pass a non-empty instruction."
        )
    check_length(text)  # refused before it is scanned
    # nothing exempt but, for the stored-fact matcher, the paper's general part: it is
    # public as if given apart
    scanner = run_scanner(parts, user_id, stored_fact_public_text=general_part(text))
    try:
        split = split_request(
            text,
            scanner,
            local_model=parts.local_model if parts.split_with_local_model else None,
            kind=state.get("kind", "context-aware"),
        )
    except ValidationError as error:
        reason = error.errors()[0]["msg"].removeprefix("Value error, ")
        raise InvalidInstruction(f"Invalid instruction: {reason}.") from None
    return {
        "public_instruction": split.instruction.public_instruction,
        "private_instruction": split.instruction.private_instruction,
        # the rules keep the user's own words (private spans replaced): they may go out
        "public_from_user": split.method in ("colon", "clean", "redacted"),
        "redactions": split.redactions,  # to restore the placeholders in the reply
    }


def prepare(state: WritingState, runtime: Runtime[Components]) -> dict[str, Any]:
    """Validate the request (and split a one-part instruction) before anything runs.

    A run that LangGraph Server started for an authenticated caller runs for the
    caller's own user id (:func:`served_user`).
    """
    started = time.perf_counter()
    for part in ("instruction", "public_instruction", "private_instruction"):
        check_length(str(state.get(part) or ""), part.replace("_", " "))  # before any lookup
    user_id = (state.get("user_id") or "").strip()
    caller = served_caller(get_config().get("configurable") or {})
    if caller is not None:
        user_id = served_user(caller, user_id, runtime.context if runtime else None)
    parts = components(runtime)
    mode = state.get("mode", "sketch")
    if mode not in MODES:
        raise InvalidInstruction(f"Unknown mode {mode!r}; choose one of {', '.join(MODES)}.")
    if not user_id:
        raise InvalidInstruction("A user_id is required: whose private context to use.")
    if mode != "cloud-public" and not parts.store.has_user(user_id):
        raise UnknownUser(user_id)
    if mode == "cloud-private" and not parts.allow_private_egress:
        raise PrivacyViolation(
            "mode='cloud-private' sends the user's private context to the cloud. It "
            "runs only with allow_private_egress=True; nothing was sent."
        )
    if mode != "cloud-public":  # the local model: on this device, and loadable, before
        # it reads private context and before the cloud is asked anything
        check_runs_here(parts.local_model, allow_remote=parts.allow_remote_local_model)
        check = getattr(parts.local_model, "check_model_file", None)
        if callable(check):
            check()
    in_process_fusion = mode == "fusion" and parts.cloud_scorer is not None
    # auto routes to the local model when no cloud is configured (graphs/auto.py)
    if mode not in ("local", "auto") and parts.egress_guard is None and not in_process_fusion:
        raise CloudUnavailable(
            f"mode={mode!r} needs a cloud model and none is configured. Set "
            "COGENESIS_CLOUD_BASE_URL or use mode='local'."
        )
    update: dict[str, Any] = {"public_from_user": True}
    if state.get("instruction") and not state.get("public_instruction"):
        update = _split(state, parts, user_id)
    instruction = instruction_of({**state, **update})  # type: ignore[typeddict-item]
    return {
        **update,
        "user_id": user_id,
        "mode": mode,
        "public_instruction": instruction.public_instruction,
        "private_instruction": instruction.private_instruction,
        "kind": instruction.kind,
        "cloud_payloads": [],
        "cloud_skipped": "",
        "degraded_reason": "",
        "redactions": update.get("redactions", {}),
        "timings": {"prepare": time.perf_counter() - started},
    }


def retrieve(state: WritingState, runtime: Runtime[Components]) -> dict[str, Any]:
    """Fetch the user's private context from the local store.

    Overlapped with the sketch (``mode="sketch"``, ``Components.overlap``), this node
    runs while the cloud writes the sketch, and then has the local model read the part
    of its prompt that comes before the sketch (:func:`read_ahead`).
    """
    started = time.perf_counter()
    parts = components(runtime)
    query = instruction_of(state).full_instruction
    context = parts.store.search(state["user_id"], query, k=parts.k)
    timings = {"retrieve": time.perf_counter() - started}
    if overlapped(state, parts):
        read_started = time.perf_counter()
        if read_ahead({**state, "context": context}, parts.local_model):
            timings["local_read_ahead"] = time.perf_counter() - read_started
    return {"context": context, "timings": timings}


SKETCH_MARK = "cogenesis-sketch-goes-here"
"""Where the sketch goes in the local prompt, while the sketch is not there yet."""


def overlapped(state: WritingState, parts: Components) -> bool:
    """Whether this run asks for the sketch while it retrieves and reads ahead."""
    return state["mode"] == "sketch" and parts.overlap


def read_ahead(state: WritingState, local_model: Any) -> bool:
    """Let the local model read its prompt up to where the sketch will go, so that only
    the sketch and the task are left to read once the sketch is there. A model without
    ``read_ahead`` (any LangChain chat model may be the local one) is left alone.
    The answer does not depend on it: it only fills the model's cache."""
    method = getattr(local_model, "read_ahead", None)
    if not callable(method):
        return False
    messages = local_messages({**state, "sketch": SKETCH_MARK})
    return bool(method(messages, until=SKETCH_MARK))


def sketch(state: WritingState, runtime: Runtime[Components]) -> dict[str, Any]:
    """Ask the cloud for an outline of the public instruction only (paper §3.2, eq. 2)."""
    started = time.perf_counter()
    parts = components(runtime)
    kind = state.get("kind", "context-aware")
    messages = with_conversation(
        state,
        prompts.sketch_prompt(kind).format_messages(
            question=prompts.sketch_question(kind, state["public_instruction"])
        ),
    )
    try:
        reply = ask_cloud(
            state,
            parts,
            messages,
            purpose="sketch",
            max_tokens=parts.sketch_max_tokens,
            stop=prompts.SKETCH_STOP,
        )
    except LocalOnly as refusal:
        return {
            "sketch": "",
            "cloud_skipped": str(refusal),
            "timings": {"cloud_sketch": time.perf_counter() - started},
        }
    except CloudError as failure:
        if not parts.degrade_on_cloud_error:
            raise
        return {
            "sketch": "",
            "degraded_reason": degraded_reason("sketch", failure),
            "timings": {"cloud_sketch": time.perf_counter() - started},
        }
    return {
        # placeholders the cloud echoed are filled in again, here on the device
        "sketch": restore(reply.text.strip(), {**state.get("redactions", {}), **reply.redactions}),
        "redactions": {**state.get("redactions", {}), **reply.redactions},
        "cloud_payloads": [_payload_record(reply.payload)],
        "timings": {"cloud_sketch": time.perf_counter() - started},
    }


def degraded_reason(step: str, failure: CloudError) -> str:
    """Why a run went on without the cloud (the error's text carries no private data)."""
    return f"the cloud failed during {step}, so the local model wrote alone: {failure}"


def _window_of(model: Any) -> tuple[Any, int | None, int]:
    """How to count a local chat model's prompt tokens, its window and answer bound."""
    window = getattr(model, "n_ctx", None)
    if not isinstance(window, int):
        return None, None, 0
    return model.get_num_tokens_from_messages, window, int(getattr(model, "max_tokens", 0) or 0)


def write(state: WritingState, runtime: Runtime[Components]) -> dict[str, Any]:
    """The local model writes the answer from instruction, private context and sketch.

    Private context beyond the local model's window is trimmed, least relevant
    first; ``context_dropped`` lists what was left out. The local model is called
    without tools: nothing in a sketch can make it act.
    """
    started = time.perf_counter()
    parts = components(runtime)
    context, dropped = fit_context(state, *_window_of(parts.local_model))
    reply = parts.local_model.invoke(
        local_messages({**state, "context": context}), **per_user(parts.local_model, state)
    )
    update: dict[str, Any] = {
        "answer": prompts.clean_answer(reply.text),
        "timings": {"local_generate": time.perf_counter() - started},
        "local_usage": token_counts(reply),
    }
    if dropped:
        update["context"] = context
        update["context_dropped"] = dropped
    return update


def per_user(local_model: Any, state: WritingState) -> dict[str, Any]:
    """``user_id`` for a :class:`ChatLocalLlama`, which keeps the user's prompt prefix
    between requests (another chat model would send it on to its API: nothing)."""
    return {"user_id": state["user_id"]} if isinstance(local_model, ChatLocalLlama) else {}


def token_counts(reply: BaseMessage) -> dict[str, float]:
    """The input, output and total tokens a reply's model reported (none: empty)."""
    usage = getattr(reply, "usage_metadata", None) or {}
    return {
        key: usage[key] for key in ("input_tokens", "output_tokens", "total_tokens") if key in usage
    }


def cloud_answer(state: WritingState, runtime: Runtime[Components]) -> dict[str, Any]:
    """The cloud answers alone: public instruction only, or with context when allowed."""
    started = time.perf_counter()
    parts = components(runtime)
    kind = state.get("kind", "context-aware")
    with_context = state["mode"] == "cloud-private"
    if with_context:
        messages = local_messages(state)
    else:
        messages = with_conversation(
            state,
            prompts.without_context_prompt(kind).format_messages(task=state["public_instruction"]),
        )
    try:
        reply = ask_cloud(
            state,
            parts,
            messages,
            purpose="answer",
            max_tokens=parts.answer_max_tokens,
            allow_private=with_context and parts.allow_private_egress,
        )
    except LocalOnly as refusal:
        local = parts.local_model.invoke(messages)
        return {
            "answer": local.text.strip(),
            "cloud_skipped": str(refusal),
            "timings": {"local_generate": time.perf_counter() - started},
        }
    return {
        "answer": restore(reply.text.strip(), {**state.get("redactions", {}), **reply.redactions}),
        "redactions": {**state.get("redactions", {}), **reply.redactions},
        "cloud_payloads": [_payload_record(reply.payload)],
        "timings": {"cloud_answer": time.perf_counter() - started},
    }


def route_after_prepare(state: WritingState, runtime: Runtime[Components]) -> str | list[str]:
    """``cloud-public`` needs no private context; every other mode retrieves it. The
    sketch does not need it either: overlapped, it is asked for at the same time."""
    if state["mode"] == "cloud-public":
        return "cloud_answer"
    return ["retrieve", "sketch"] if overlapped(state, components(runtime)) else "retrieve"


def route_after_retrieve(state: WritingState, runtime: Runtime[Components]) -> str:
    """Sketch first, fuse, write locally, or let the cloud answer with context (an
    overlapped sketch is on its way already: write once it is there)."""
    if overlapped(state, components(runtime)):
        return "write"
    return {
        "sketch": "sketch",
        "fusion": "fuse",
        "local": "write",
        "cloud-private": "cloud_answer",
    }[state["mode"]]
