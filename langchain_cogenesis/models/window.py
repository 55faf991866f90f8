"""Fitting a prompt into a local model's window: the one rule every path uses.

The items that make a prompt long (retrieved chunks, private texts) arrive best first;
the least relevant are dropped first until the prompt and the answer's budget fit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from langchain_cogenesis.errors import LocalModelError

T = TypeVar("T")


def fit_to_window(
    items: Sequence[T],
    count_tokens: Callable[[list[T]], int] | None,
    window: int | None,
    answer_tokens: int,
    *,
    rest: str = "The instruction",
) -> tuple[list[T], list[T]]:
    """The ``items`` whose prompt fits ``window`` with ``answer_tokens`` to spare, and
    the dropped ones (in their order). Without a window or a counter, all are kept.

    Args:
        items: best first; ``count_tokens(kept)`` is the prompt's length with them.
        rest: what the prompt holds besides the items, for the error message.

    Raises:
        LocalModelError: the prompt does not fit even without any item.
    """
    kept = list(items)
    if window is None or count_tokens is None:
        return kept, []
    budget = window - answer_tokens
    dropped: list[T] = []
    while (used := count_tokens(kept)) > budget:
        if not kept:
            raise LocalModelError(
                f"{rest} alone come to {used:,} tokens, and the local model's window "
                f"of {window:,} keeps "
                f"{answer_tokens:,} for the answer. Shorten the instruction, lower the "
                "answer's max_tokens, or load the local model with a larger n_ctx."
            )
        dropped.insert(0, kept.pop())
    return kept, dropped
