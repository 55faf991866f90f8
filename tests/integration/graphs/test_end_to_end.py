"""Sketch-based CoGenesis end to end: real Chroma, real llama.cpp, real stand-in server.

A recording proxy sits between the egress guard and the stand-in, so the assertions
about privacy are made on the bytes that really went over the wire.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.graphs import Components, build_sketch_graph, run_sketch_graph
from langchain_cogenesis.graphs.messages import local_messages
from langchain_cogenesis.models import ChatLocalLlama, StandInCloud
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.retrievers import PrivateStore
from langchain_cogenesis.schema import UserContext
from tests.cloud_servers import RecordingServer

pytestmark = pytest.mark.integration

CANARY = "canary-7f3a9c Zephyrine Quillfeather keeps the vault code 4417-2290"


@pytest.fixture()
def recorder(standin: StandInCloud) -> Iterator[RecordingServer]:
    with RecordingServer(upstream=standin.base_url) as server:
        yield server


@pytest.fixture()
def components(
    tmp_path: Path,
    demo_users: list[DatasetUser],
    recorder: RecordingServer,
    model_path: Path,
    standin: StandInCloud,
) -> Components:
    store = PrivateStore(tmp_path / "store")
    for user in demo_users:
        context = user.context
        if context.user_id == "maya-okafor":
            context = context.model_copy(
                update={"private_details": [*context.private_details, CANARY]}
            )
        store.add_user_context(context)
    return Components(
        store=store,
        local_model=ChatLocalLlama(model_path=model_path, max_tokens=48, seed=11),
        egress_guard=EgressGuard(
            base_url=recorder.base_url, model=standin.model, send_max_tokens=True
        ),
        k=4,
        sketch_max_tokens=64,
        answer_max_tokens=48,
    )


def private_strings(context: UserContext) -> list[str]:
    return [
        *context.private_details,
        *context.activity_logs,
        *(w.text for w in context.writing_history),
    ]


def test_sketch_mode_end_to_end_keeps_private_context_local(
    components: Components, recorder: RecordingServer, demo_users: list[DatasetUser]
) -> None:
    user = demo_users[0]
    task = user.tasks[0].instruction
    components.k = 30  # retrieve everything, the canary included
    request: Any = {
        "user_id": user.context.user_id,
        "public_instruction": task.public_instruction,
        "private_instruction": task.private_instruction + " Mention Zephyrine Quillfeather.",
        "mode": "sketch",
    }
    result = run_sketch_graph(components, request)

    assert result.answer.strip()
    assert result.sketch is not None and result.sketch.text
    assert any("Zephyrine" in text for text in result.context_used)  # the local side had it

    wire = recorder.all_bytes().decode("utf-8")
    assert len(recorder.chat_requests) == 1
    assert task.public_instruction in wire
    assert "Zephyrine" not in wire and "4417-2290" not in wire and "canary-7f3a9c" not in wire
    assert "Halvorsen" not in wire  # the private part of the instruction
    for private in private_strings(user.context):
        assert private not in wire
    # what the result says was sent is exactly what the server received
    [sent] = recorder.chat_requests
    assert [m["content"] for m in sent["body"]["messages"]] == [
        m["content"] for m in result.cloud_payloads[0].messages
    ]


def test_local_mode_sends_nothing(
    components: Components, recorder: RecordingServer, demo_users: list[DatasetUser]
) -> None:
    task = demo_users[1].tasks[0].instruction
    result = run_sketch_graph(
        components,
        {
            "user_id": "daniel-reyes",
            "public_instruction": task.public_instruction,
            "private_instruction": task.private_instruction,
            "mode": "local",
        },
    )
    assert result.answer.strip()
    assert recorder.requests == []


def test_cloud_private_upper_bound_really_sends_context_when_allowed(
    components: Components, recorder: RecordingServer, demo_users: list[DatasetUser]
) -> None:
    components.allow_private_egress = True
    task = demo_users[2].tasks[0].instruction
    result = run_sketch_graph(
        components,
        {
            "user_id": "lena-fischer",
            "public_instruction": task.public_instruction,
            "private_instruction": task.private_instruction,
            "mode": "cloud-private",
        },
    )
    wire = recorder.all_bytes().decode("utf-8")
    assert "Brightwater" in wire  # the recorder can see a leak: the test above can fail
    assert result.answer.strip()


def test_answer_streams_token_by_token_from_the_local_model(
    components: Components, demo_users: list[DatasetUser]
) -> None:
    graph = build_sketch_graph()
    config: Any = {"configurable": {"thread_id": "stream"}}
    task = demo_users[0].tasks[1].instruction
    tokens = [
        chunk.content
        for chunk, metadata in graph.stream(
            {
                "user_id": "maya-okafor",
                "public_instruction": task.public_instruction,
                "mode": "local",
            },
            config,
            context=components,
            stream_mode="messages",
        )
        if metadata["langgraph_node"] == "write"
    ]
    assert len(tokens) >= 5
    assert "".join(tokens).strip() == graph.get_state(config).values["answer"]


def test_context_beyond_the_local_window_is_trimmed_and_reported(
    components: Components, model_path: Path
) -> None:
    """A real 512-token window: the least relevant chunks are dropped, the run completes."""
    small = ChatLocalLlama(model_path=model_path, max_tokens=24, seed=2, n_ctx=512)
    components.local_model = small
    components.k = 12
    request: Any = {
        "user_id": "maya-okafor",
        "public_instruction": "Write a short note to the garden volunteers",
        "mode": "local",
    }
    result = run_sketch_graph(components, request)
    assert result.answer
    assert result.context_used and result.context_dropped
    everything = components.store.search("maya-okafor", result.instruction.full_instruction, k=12)
    ranked = [d.page_content for d in everything]
    assert ranked[: len(result.context_used)] == result.context_used  # the best ones stay
    assert set(result.context_dropped) == set(ranked[len(result.context_used) :])
    prompt = small.get_num_tokens_from_messages(
        local_messages({**request, "context": everything[: len(result.context_used)]})
    )
    assert prompt + 24 <= 512
