"""Reuse per user on the real local model (Gemma 3 270M in llama.cpp): a user's stable
prompt prefix is loaded, not read again, after another user's request; greedy answers
are the same as without reuse; states stay bounded and go with erasure."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessageChunk, BaseMessage

from langchain_cogenesis import prompts
from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.models import ChatLocalLlama
from langchain_cogenesis.models.loader import forget_user_states

pytestmark = pytest.mark.integration

N_CTX = 1024  # a loaded model of its own: other tests' calls do not move its context
SKETCHES = (
    "1. Greet the reader\n2. Give the date\n3. Ask them to come",
    "- Thank them\n- Sign off",
)
TASKS = ("Write a note inviting the neighbours to the harvest day.", "Thank the volunteers.")


def writer_prompt(user: DatasetUser, number: int) -> list[BaseMessage]:
    context = user.context
    documents = [Document(d, metadata={"kind": "private_detail"}) for d in context.private_details]
    documents += [Document(d, metadata={"kind": "activity_log"}) for d in context.activity_logs]
    return prompts.writer_messages(
        "context-aware", TASKS[number % 2], documents[:5], SKETCHES[number % 2]
    )


def cache_read(message: BaseMessage) -> int:
    usage = getattr(message, "usage_metadata", None) or {}
    return int((usage.get("input_token_details") or {}).get("cache_read", 0))


def read_everything(local_model: ChatLocalLlama, messages: list[BaseMessage]) -> str:
    """The answer from an empty context, without reuse: what reuse must not change."""
    model = local_model.shared()
    with model.lock:
        model.llama.n_tokens = 0
        model.owner = None
        return local_model.invoke(messages).text


@pytest.fixture()
def local_model(model_path: Path) -> ChatLocalLlama:
    chat = ChatLocalLlama(model_path=model_path, n_ctx=N_CTX, max_tokens=10, temperature=0.0)
    chat.shared().prefix_cache.clear()
    return chat


def test_second_request_loads_the_users_prefix_and_answers_the_same(
    local_model: ChatLocalLlama, demo_users: list[DatasetUser]
) -> None:
    ana, ben = demo_users[0], demo_users[1]
    cache = local_model.shared().prefix_cache
    first = local_model.invoke(writer_prompt(ana, 0), user_id="ana")
    assert cache_read(first) == 0 and "ana" in cache
    local_model.invoke(writer_prompt(ben, 0), user_id="ben")  # moves the context away
    second = local_model.invoke(writer_prompt(ana, 1), user_id="ana")

    saved = cache.get("ana")
    assert saved is not None and cache_read(second) == len(saved.tokens) > 100
    text = local_model.shared().llama.detokenize(list(saved.tokens)).decode()
    assert ana.context.private_details[0] in text  # the profile is in the kept part
    assert TASKS[1] not in text and SKETCHES[1] not in text  # the request is not
    assert text.endswith("<<sketch>>\n")  # it ends where the two requests part

    assert first.text == read_everything(local_model, writer_prompt(ana, 0))
    assert second.text == read_everything(local_model, writer_prompt(ana, 1))


def test_streaming_with_reuse_gives_the_same_answer(
    local_model: ChatLocalLlama, demo_users: list[DatasetUser]
) -> None:
    ana, ben = demo_users[0], demo_users[1]
    local_model.invoke(writer_prompt(ana, 0), user_id="ana")
    local_model.invoke(writer_prompt(ben, 0), user_id="ben")
    chunks = list(local_model.stream(writer_prompt(ana, 1), user_id="ana"))
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert isinstance(merged, AIMessageChunk) and cache_read(merged) > 100
    assert merged.text == read_everything(local_model, writer_prompt(ana, 1))


def test_without_a_user_nothing_is_kept(
    local_model: ChatLocalLlama, demo_users: list[DatasetUser]
) -> None:
    reply = local_model.invoke(writer_prompt(demo_users[0], 0))
    assert len(local_model.shared().prefix_cache) == 0 and cache_read(reply) == 0
    off = local_model.model_copy(update={"prefix_cache_bytes": 0})
    off.invoke(writer_prompt(demo_users[0], 0), user_id="ana")
    assert len(local_model.shared().prefix_cache) == 0


def test_states_stay_within_their_bound(
    local_model: ChatLocalLlama, demo_users: list[DatasetUser]
) -> None:
    cache = local_model.shared().prefix_cache
    messages = writer_prompt(demo_users[0], 0)  # one prompt, three users: states of one size
    local_model.invoke(messages, user_id="ana")
    one = cache.nbytes
    bounded = local_model.model_copy(update={"prefix_cache_bytes": int(one * 1.5)})
    for user_id in ("ben", "cleo"):
        bounded.invoke(messages, user_id=user_id)
        assert cache.nbytes <= one * 1.5
    assert list(cache._entries) == ["cleo"]  # the least recently used went first


def test_erasure_drops_the_users_state_and_the_context_holding_it(
    local_model: ChatLocalLlama, demo_users: list[DatasetUser]
) -> None:
    ana, ben = demo_users[0], demo_users[1]
    local_model.invoke(writer_prompt(ben, 0), user_id="ben")
    local_model.invoke(writer_prompt(ana, 0), user_id="ana")
    model = local_model.shared()
    # at least this model's; another model loaded in this process (by an earlier test
    # of the same worker) may hold a state of "ana" too, and goes with it
    assert forget_user_states("ana") >= 1
    assert "ana" not in model.prefix_cache and "ben" in model.prefix_cache
    assert model.llama.n_tokens == 0  # the context held ana's prompt: emptied
    again = local_model.invoke(writer_prompt(ana, 1), user_id="ana")
    assert cache_read(again) == 0
    assert again.text == read_everything(local_model, writer_prompt(ana, 1))
