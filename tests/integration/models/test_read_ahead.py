"""Overlap on the real local model: reading the prompt ahead, up to where the sketch
goes, changes nothing in the greedy answer; the graph overlapped and in order give the
same answer on the real model and store."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.messages import BaseMessage

from langchain_cogenesis import prompts
from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.graphs.nodes import SKETCH_MARK
from langchain_cogenesis.models import ChatLocalLlama

pytestmark = pytest.mark.integration

N_CTX = 1024
SKETCH = "1. Greet the reader\n2. Give the date\n3. Ask them to come"
TASK = "Write a note inviting the neighbours to the harvest day."


def writer_prompt(user: DatasetUser, sketch: str) -> list[BaseMessage]:
    context = user.context
    documents = [Document(d, metadata={"kind": "private_detail"}) for d in context.private_details]
    documents += [Document(d, metadata={"kind": "activity_log"}) for d in context.activity_logs]
    return prompts.writer_messages("context-aware", TASK, documents[:5], sketch)


def from_empty(local_model: ChatLocalLlama, messages: list[BaseMessage]) -> str:
    model = local_model.shared()
    with model.lock:
        model.llama.n_tokens = 0
        model.owner = None
        return local_model.invoke(messages).text


@pytest.mark.parametrize("stream", [False, True])
def test_reading_ahead_leaves_the_greedy_answer_as_it_is(
    model_path: Path, demo_users: list[DatasetUser], stream: bool
) -> None:
    local = ChatLocalLlama(model_path=model_path, n_ctx=N_CTX, max_tokens=16, temperature=0.0)
    for user in demo_users[:2]:
        full = writer_prompt(user, SKETCH)
        expected = from_empty(local, full)
        model = local.shared()
        with model.lock:
            model.llama.n_tokens = 0
        read = local.read_ahead(writer_prompt(user, SKETCH_MARK), until=SKETCH_MARK)
        total = local.get_num_tokens_from_messages(full)
        assert 0 < read < total  # most of the prompt, not all of it: the sketch is missing
        assert local.read_ahead(writer_prompt(user, SKETCH_MARK), until=SKETCH_MARK) == 0
        if stream:
            answer = "".join(str(chunk.content) for chunk in local.stream(full))
        else:
            answer = local.invoke(full).text
        assert answer == expected


def test_nothing_is_read_when_the_mark_is_missing(model_path: Path) -> None:
    local = ChatLocalLlama(model_path=model_path, n_ctx=N_CTX, max_tokens=4, temperature=0.0)
    messages = prompts.writer_messages("context-aware", TASK, [], SKETCH)
    assert local.read_ahead(messages, until=SKETCH_MARK) == 0
