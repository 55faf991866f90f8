"""Training examples for the local model, with prompts built exactly as at inference.

Each example is what the graph's ``write`` step would show the local model for a
dataset task (Table 7's with-context prompt over the chunks the private store
retrieves for the instruction, plus the cloud's sketch in the sketch variant), and
the task's reference answer as the target (paper §3.2, eq. 3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langchain_cogenesis import prompts
from langchain_cogenesis.data.dataset import DatasetRow
from langchain_cogenesis.schema import ContextAwareInstruction

if TYPE_CHECKING:
    from langchain_cogenesis.models.templates import ChatTemplate
    from langchain_cogenesis.privacy import EgressGuard
    from langchain_cogenesis.retrievers import PrivateStore


@dataclass(frozen=True)
class TrainingExample:
    """One prompt (in the local model's chat format) and the answer to learn."""

    user_id: str
    split: str
    prompt: str
    response: str
    """The reference answer, closed with the model's end-of-turn marker, which it must learn."""


def sketch_key(user_id: str, instruction: ContextAwareInstruction) -> str:
    """Where a task's sketch is kept in a sketch map."""
    return f"{user_id}\x1f{instruction.public_instruction}"


def build_examples(
    rows: Sequence[DatasetRow],
    store: PrivateStore,
    *,
    k: int = 4,
    sketches: Mapping[str, str] | None = None,
    template: ChatTemplate | None = None,
) -> list[TrainingExample]:
    """One example per task with a reference; users missing from ``store`` are ingested.

    Args:
        store: the private store retrieval runs against (as at inference).
        k: chunks retrieved per instruction, as ``Components.k``.
        sketches: for the sketch variant, each task's sketch by :func:`sketch_key`
            (see :func:`ask_sketches`); tasks without one get the plain prompt.
        template: the chat template of the model being trained
            (``chat_template_for(base_model_path)``); default the bundled model's.
            Prompts are rendered in it and each answer ends with its end of turn.
    """
    from langchain_cogenesis.models.templates import default_chat_template

    template = template or default_chat_template()
    examples = []
    for row in rows:
        user_id = row.context.user_id
        if not store.has_user(user_id):
            store.add_user_context(row.context)
        for task in row.tasks:
            if not task.reference.strip():
                continue
            instruction = task.instruction
            context = store.search(user_id, instruction.full_instruction, k=k)
            sketch = (sketches or {}).get(sketch_key(user_id, instruction), "")
            messages = prompts.writer_messages(
                instruction.kind, instruction.full_instruction, context, sketch
            )
            examples.append(
                TrainingExample(
                    user_id=user_id,
                    split=row.split,
                    prompt=prompts.chat_text(messages, template),
                    response=task.reference.strip() + template.turn_end,
                )
            )
    return examples


def ask_sketches(
    rows: Sequence[DatasetRow], guard: EgressGuard, *, max_tokens: int = 256
) -> dict[str, str]:
    """The cloud's sketch of every task's public instruction, through the guard.

    Only public instructions leave; each user's private context is the scanner's
    reference, as in the graph.
    """
    from langchain_cogenesis.privacy import PrivacyScanner
    from langchain_cogenesis.privacy.detection.detectors import PrivateIndex
    from langchain_cogenesis.retrievers.loaders import user_context_documents

    sketches: dict[str, str] = {}
    for row in rows:
        documents = user_context_documents(row.context)
        index = PrivateIndex.build(
            [d.page_content for d in documents],
            names=[row.context.profile.name] if row.context.profile.name else [],
        )
        for task in row.tasks:
            instruction = task.instruction
            scanner = PrivacyScanner(
                [instruction.private_instruction],
                index=index,
                public_text=instruction.public_instruction,
                trusted_texts=prompts.TRUSTED_TEXT,
            )
            messages = prompts.sketch_prompt(instruction.kind).format_messages(
                question=prompts.sketch_question(instruction.kind, instruction.public_instruction)
            )
            reply = guard.chat(
                messages,
                purpose="sketch",
                max_tokens=max_tokens,
                scanner=scanner,
                user_id=row.context.user_id,
                stop=prompts.SKETCH_STOP,
            )
            sketches[sketch_key(row.context.user_id, instruction)] = reply.text.strip()
    return sketches
