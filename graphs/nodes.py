"""Nodes of the sketch graph: plain functions that return only what they change."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from langchain_core.documents import Document
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime
from pydantic import ValidationError

from langchain_cogenesis import prompts
from langchain_cogenesis.caches import BoundedCache
from langchain_cogenesis.config import Settings
from langchain_cogenesis.errors import (
    CloudError,
    CloudUnavailable,
    InvalidInstruction,
    LocalOnly,
    PrivacyViolation,
    UnknownUser,
)
from langchain_cogenesis.graphs.caller import served_caller, served_user
from langchain_cogenesis.graphs.state import Components, WritingInput, WritingState
from langchain_cogenesis.models.locality import check_runs_here
from langchain_cogenesis.models.window import fit_to_window
from langchain_cogenesis.privacy import CloudReply, PrivacyScanner, restore
from langchain_cogenesis.privacy.detectors import PrivateIndex
from langchain_cogenesis.privacy.paraphrase import (
    PARAPHRASE_THRESHOLD,
    StoredItemMatcher,
    StoredItems,
)
from langchain_cogenesis.privacy.splitter import general_part, split_request
from langchain_cogenesis.retrievers import LocalEmbeddings, PrivateStore
from langchain_cogenesis.schema import ContextAwareInstruction, check_length

MODES = ("sketch", "fusion", "local", "cloud-public", "cloud-private", "auto")
TRUSTED_PROMPT_TEXT = prompts.TRUSTED_TEXT
_NAME_LINE = re.compile(r"^Name:\s*(.+)$", re.MULTILINE)


DEFAULTS_MAX_AGE = 3600.0
"""Seconds default components are reused before they are built again."""
# per environment (data folder, Chroma URL, cloud URL): a few, each rebuilt hourly
_default_parts: BoundedCache[tuple[str, str, str], Components] = BoundedCache(
    max_size=4, max_age=DEFAULTS_MAX_AGE
)
_default_stores: BoundedCache[tuple[str, str], PrivateStore] = BoundedCache(
    max_size=4, max_age=DEFAULTS_MAX_AGE
)


def default_components() -> Components:
    """Components built from the environment, for runs that pass none (LangGraph Server).

    Built once per environment (data folder, Chroma URL, cloud URL) and reused.
    """
    settings = Settings.from_env()
    key = (str(settings.home), settings.chroma_url or "", settings.cloud_base_url or "")
    return _default_parts.get_or_create(key, _build_defaults)


def default_store() -> PrivateStore:
    """The store the environment names (``COGENESIS_HOME``, ``COGENESIS_CHROMA_URL``),
    opened once and shared by every caller that passes none."""
    settings = Settings.from_env()
    key = (str(settings.home), settings.chroma_url or "")
    return _default_stores.get_or_create(key, PrivateStore)


def _build_defaults() -> Components:
    from langchain_cogenesis.models import ChatLocalLlama
    from langchain_cogenesis.privacy import EgressGuard

    try:
        guard: EgressGuard | None = EgressGuard()
    except CloudUnavailable:
        guard = None
    return Components(store=default_store(), local_model=ChatLocalLlama(), egress_guard=guard)


def components(runtime: Runtime[Components] | None) -> Components:
    """The run's components; a context built from nothing takes the defaults."""
    parts = runtime.context if runtime is not None else None
    if parts is None or (parts.store is None and parts.local_model is None):
        defaults = default_components()
        if parts is None:
            return defaults
        return replace(
            parts,
            store=defaults.store,
            local_model=defaults.local_model,
            egress_guard=parts.egress_guard or defaults.egress_guard,
        )
    return parts


def private_index(store: PrivateStore, user_id: str) -> PrivateIndex:
    """Leak-detector index of everything stored for ``user_id``, kept with the store
    until the user's documents change (:meth:`PrivateStore.derived`)."""
    return store.derived(user_id, "leak-index", _build_index)


def _build_index(documents: list[Document]) -> PrivateIndex:
    names = [
        match.group(1).strip()
        for document in documents
        if document.metadata.get("kind") == "profile"
        for match in _NAME_LINE.finditer(document.page_content)
    ]
    return PrivateIndex.build([d.page_content for d in documents], names=names)


def stored_item_matcher(
    store: PrivateStore,
    user_id: str,
    *,
    public_text: str = "",
    threshold: float | None = PARAPHRASE_THRESHOLD,
) -> StoredItemMatcher | None:
    """The detector of ``user_id``'s stored facts in other words (privacy/paraphrase.py).

    ``None`` when ``threshold`` is ``None`` (``Components(stored_fact_threshold=None)``
    turns it off), when the store's embeddings do not run on this machine
    (only :class:`LocalEmbeddings` may see the clauses it checks) or hold no item. The
    item embeddings are computed once per user and kept with the store until the user's
    documents change.
    """
    embeddings = getattr(store, "embeddings", None)
    if threshold is None or not isinstance(embeddings, LocalEmbeddings):
        return None
    items = store.derived(
        user_id, "stored-items", lambda documents: StoredItems.from_documents(documents, embeddings)
    )
    if not len(items):
        return None
    return StoredItemMatcher(
        items,
        embeddings,
        threshold=threshold,
        public_text=public_text,
        trusted_texts=TRUSTED_PROMPT_TEXT,
    )


def with_stored_items(
    scanner: PrivacyScanner, parts: Components, user_id: str, public_text: str = ""
) -> PrivacyScanner:
    """``scanner`` with the user's :func:`stored_item_matcher` appended (when there is one)."""
    threshold = parts.stored_fact_threshold
    matcher = stored_item_matcher(
        parts.store, user_id, public_text=public_text, threshold=threshold
    )
    if matcher is not None:
        scanner.detectors.append(matcher)
    return scanner


def scanner_for(state: WritingState, parts: Components) -> PrivacyScanner:
    """The leak scanner of this run: the user's store, the private part, canaries."""
    user_id = state["user_id"]
    known = parts.store.has_user(user_id)
    public_text = state["public_instruction"] if state.get("public_from_user", True) else ""
    scanner = PrivacyScanner(
        [state.get("private_instruction", "")],
        index=private_index(parts.store, user_id) if known else None,
        canaries=parts.canaries,
        public_text=public_text,
        trusted_texts=TRUSTED_PROMPT_TEXT,
        entity_detector=parts.entity_detector,
    )
    return with_stored_items(scanner, parts, user_id, public_text) if known else scanner


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


def instruction_of(state: WritingInput) -> ContextAwareInstruction:
    """The validated instruction in ``state``."""
    try:
        return ContextAwareInstruction(
            public_instruction=state.get("public_instruction", ""),
            private_instruction=state.get("private_instruction", ""),
            kind=state.get("kind", "context-aware"),
        )
    except ValidationError as error:
        reason = error.errors()[0]["msg"].removeprefix("Value error, ")
        raise InvalidInstruction(
            f"Invalid instruction: {reason}. Pass a non-empty public instruction "
            "(what may go to the cloud) and, optionally, a private part."
        ) from None


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
    index = private_index(parts.store, user_id) if parts.store.has_user(user_id) else None
    scanner = PrivacyScanner(
        index=index, canaries=parts.canaries, entity_detector=parts.entity_detector
    )
    if index is not None:  # the paper's general part is public as if given apart
        with_stored_items(scanner, parts, user_id, general_part(text))
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
    """Fetch the user's private context from the local store."""
    started = time.perf_counter()
    parts = components(runtime)
    query = instruction_of(state).full_instruction
    context = parts.store.search(state["user_id"], query, k=parts.k)
    return {"context": context, "timings": {"retrieve": time.perf_counter() - started}}


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


def with_conversation(state: WritingInput, messages: list[BaseMessage]) -> list[BaseMessage]:
    """``messages`` (a prompt ending in the request) inside the caller's conversation:
    the caller's system prompt joins the prompt's own system message (one system
    message: some chat templates take no second one), and the earlier turns come
    before the request."""
    system = (state.get("system") or "").strip()
    history: list[BaseMessage] = [
        AIMessage(turn["content"]) if turn.get("role") == "ai" else HumanMessage(turn["content"])
        for turn in state.get("history") or []
        if str(turn.get("content") or "").strip()
    ]
    if not system and not history:
        return messages
    head, request = messages[:-1], messages[-1:]
    if system:
        if head and head[0].type == "system":
            head = [SystemMessage(f"{head[0].text}\n\n{system}"), *head[1:]]
        else:
            head = [SystemMessage(system), *head]
    return [*head, *history, *request]


def local_messages(state: WritingState) -> list[BaseMessage]:
    """Table 7's with-context prompt, plus the spotlighted sketch when there is one,
    in the caller's conversation (:func:`with_conversation`)."""
    return with_conversation(
        state,
        prompts.writer_messages(
            state.get("kind", "context-aware"),
            instruction_of(state).full_instruction,
            state.get("context", []),
            state.get("sketch", ""),
        ),
    )


def fit_context(
    state: WritingState,
    count_tokens: Callable[[list[BaseMessage]], int] | None,
    window: int | None,
    answer_tokens: int,
) -> tuple[list[Document], list[Document]]:
    """The retrieved chunks that fit the local model's window, and those dropped.

    Chunks arrive best first, so the least relevant go first until the prompt and
    ``answer_tokens`` fit in ``window``. Without a window or a counter, all are kept.

    Raises:
        LocalModelError: instruction and sketch alone do not fit.
    """
    if count_tokens is None:
        return list(state.get("context", [])), []
    counter = count_tokens
    return fit_to_window(
        state.get("context", []),
        lambda kept: counter(local_messages({**state, "context": kept})),
        window,
        answer_tokens,
        rest="The instruction" + (" and sketch" if state.get("sketch") else ""),
    )


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
    reply = parts.local_model.invoke(local_messages({**state, "context": context}))
    update: dict[str, Any] = {
        "answer": prompts.clean_answer(reply.text),
        "timings": {"local_generate": time.perf_counter() - started},
        "local_usage": token_counts(reply),
    }
    if dropped:
        update["context"] = context
        update["context_dropped"] = dropped
    return update


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


def route_after_prepare(state: WritingState) -> str:
    """``cloud-public`` needs no private context; every other mode retrieves it."""
    return "cloud_answer" if state["mode"] == "cloud-public" else "retrieve"


def route_after_retrieve(state: WritingState) -> str:
    """Sketch first, fuse, write locally, or let the cloud answer with context."""
    return {
        "sketch": "sketch",
        "fusion": "fuse",
        "local": "write",
        "cloud-private": "cloud_answer",
    }[state["mode"]]
