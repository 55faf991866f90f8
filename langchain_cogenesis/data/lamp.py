"""LaMP's personalized e-mail (Avocado, LaMP-6) and paper-abstract (LaMP-5) data, as in §4.1.

LaMP publishes ``{split}_questions.json`` (a list of ``{"id", "input", "profile"}``)
and ``{split}_outputs.json`` (``{"task", "golds": [{"id", "output"}]}``). LaMP asks for
a subject from an e-mail body and for a title from an abstract; the paper turns the
tasks around (appendix A.2): write the e-mail body for a subject, the abstract for a
title, with the user's earlier e-mails or abstracts as context. Its processing:
targets of 64 (e-mails) or 128 (abstracts) to 1,024 characters; profile items ranked
by embedding similarity (the paper uses e5-mistral; here the local MiniLM model); the
filtered train split cut 9:1 into train and dev; LaMP's dev split used as the test set.
The paper's second step, keeping the samples whose style embeddings are closest to
their profile, needs a style-embedding model that is not available offline; it is
left out. The files are at https://lamp-benchmark.github.io/download.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_cogenesis.data.rows import DatasetRow, Split
from langchain_cogenesis.errors import SourceFileError
from langchain_cogenesis.schema import (
    ContextAwareInstruction,
    ContextAwareTask,
    TaskKind,
    UserContext,
    Writing,
)

Ranker = Callable[[str, Sequence[str]], list[int]]
"""(query, texts) → indices of ``texts``, most similar first."""

TASKS: dict[str, tuple[TaskKind, int]] = {"LaMP_6": ("email", 64), "LaMP_5": ("paper", 128)}
MAX_CHARS = 1024


def embedding_ranker() -> Ranker:
    """Rank by cosine similarity of the local MiniLM embeddings (no download)."""
    import numpy as np

    from langchain_cogenesis.retrievers import LocalEmbeddings

    embeddings = LocalEmbeddings()

    def rank(query: str, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        q = np.array(embeddings.embed_query(query))
        docs = np.array(embeddings.embed_documents(list(texts)))
        scores = docs @ q / (np.linalg.norm(docs, axis=1) * np.linalg.norm(q) + 1e-12)
        return [int(i) for i in np.argsort(-scores)]

    return rank


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceFileError(
            f"{path} is missing. Get LaMP's files from https://lamp-benchmark.github.io/download."
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise SourceFileError(f"{path} is not a readable LaMP JSON file: {error}") from None


def _target_of(question: str) -> str:
    """LaMP's input is ``Generate a ... for the following ...: <text>``; the text."""
    _, colon, text = question.partition(": ")
    return text.strip() if colon else question.strip()


def load_lamp_split(
    folder: Path | str,
    split: str,
    *,
    rank: Ranker | None = None,
    history: int = 5,
) -> list[DatasetRow]:
    """One LaMP split (``train`` or ``dev``) as rows, filtered as the paper does."""
    folder = Path(folder)
    questions = _read(folder / f"{split}_questions.json")
    outputs = _read(folder / f"{split}_outputs.json")
    try:
        kind, min_chars = TASKS[outputs["task"]]
        golds = {str(gold["id"]): str(gold["output"]) for gold in outputs["golds"]}
    except (KeyError, TypeError) as error:
        raise SourceFileError(
            f"{folder / f'{split}_outputs.json'}: expected a LaMP_5 or LaMP_6 outputs file "
            f"({error!r})."
        ) from None
    rows = []
    for number, item in enumerate(questions):
        try:
            qid, question, profile = str(item["id"]), str(item["input"]), item["profile"]
            subject = golds[qid]
            target = _target_of(question)
            texts = [str(p["text"] if kind == "email" else p["abstract"]) for p in profile]
            titles = [str(p.get("title", "")) for p in profile]
        except (KeyError, TypeError) as error:
            raise SourceFileError(
                f"{folder / f'{split}_questions.json'}, item {number}: {error!r}"
            ) from None
        if not min_chars <= len(target) <= MAX_CHARS:
            continue
        order = rank(subject, texts) if rank is not None else list(range(len(texts)))
        chosen = [i for i in order if len(texts[i]) <= MAX_CHARS][:history]
        rows.append(
            DatasetRow(
                context=UserContext(
                    user_id=f"lamp-{kind}-{qid}",
                    writing_history=[Writing(title=titles[i], text=texts[i]) for i in chosen],
                ),
                tasks=[
                    ContextAwareTask(
                        instruction=ContextAwareInstruction(public_instruction=subject, kind=kind),
                        reference=target,
                    )
                ],
            )
        )
    return rows


def load_lamp(
    folder: Path | str, *, rank: Ranker | None = None, seed: int = 0, history: int = 5
) -> list[DatasetRow]:
    """Train (9 parts), dev (1 part) from LaMP's train split; test from its dev split."""
    train = load_lamp_split(folder, "train", rank=rank, history=history)
    test = load_lamp_split(folder, "dev", rank=rank, history=history)
    random.Random(seed).shuffle(train)
    cut = len(train) - max(1, len(train) // 10) if len(train) > 1 else len(train)
    rows: list[DatasetRow] = []
    for index, row in enumerate(train):
        split: Split = "train" if index < cut else "dev"
        rows.append(row.model_copy(update={"split": split}))
    rows += [row.model_copy(update={"split": "test"}) for row in test]
    return rows
