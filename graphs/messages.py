"""The chat messages a run sends: the request's instruction in the caller's conversation.

The prompts themselves are the paper's (``prompts.py``); this module puts a prompt
inside the caller's system prompt and earlier turns (:func:`with_conversation`),
builds the local writer's prompt (:func:`local_messages`) and fits the retrieved
private context into the local model's window (:func:`fit_context`).
"""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.documents import Document
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import ValidationError

from langchain_cogenesis import prompts
from langchain_cogenesis.errors import InvalidInstruction
from langchain_cogenesis.graphs.state import WritingInput, WritingState
from langchain_cogenesis.models.window import fit_to_window
from langchain_cogenesis.schema import ContextAwareInstruction


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
