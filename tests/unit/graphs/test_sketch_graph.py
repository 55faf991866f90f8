"""The sketch graph's logic with an in-memory store, a fake local model and a scripted cloud."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from langchain_cogenesis.errors import (
    CloudUnavailable,
    InvalidInstruction,
    PrivacyViolation,
    UnknownUser,
)
from langchain_cogenesis.graphs import Components, build_sketch_graph, run_sketch_graph
from langchain_cogenesis.graphs.checkpointers import sqlite_checkpointer
from langchain_cogenesis.privacy import EgressGuard
from tests.cloud_servers import RecordingServer
from tests.leak_harness import MemoryStore

SECRET = "Maya owes 1,840 dollars on the garden's shared credit card after the irrigation repair"


def make_components(
    server: RecordingServer | None, answer: str = "Dear neighbors, welcome.", **kwargs: Any
) -> Components:
    store = MemoryStore(
        {
            "maya": [
                Document(SECRET, metadata={"kind": "private_detail"}),
                Document(
                    "Tomatoes taught me abundance.", metadata={"kind": "writing", "title": "T"}
                ),
            ]
        }
    )
    guard = EgressGuard(base_url=server.base_url, model="fake", max_retries=0) if server else None
    local_model = GenericFakeChatModel(messages=iter([AIMessage(answer)] * 5))
    return Components(store=store, local_model=local_model, egress_guard=guard, **kwargs)  # type: ignore[arg-type]


REQUEST: dict[str, Any] = {
    "user_id": "maya",
    "public_instruction": "Write a welcome speech for a harvest festival",
    "private_instruction": "Maya thanks Mr. Halvorsen for the raised beds",
}


def test_sketch_mode_sends_only_the_public_instruction() -> None:
    with RecordingServer(reply="1. Welcome 2. Thanks 3. Eat") as server:
        components = make_components(server)
        result = run_sketch_graph(components, {**REQUEST, "mode": "sketch"})
    assert result.answer == "Dear neighbors, welcome."
    assert result.sketch is not None and result.sketch.points == ["Welcome 2. Thanks 3. Eat"]
    [request] = server.chat_requests
    sent = request["body"]["messages"][0]["content"]
    assert sent.endswith("question. Write a welcome speech for a harvest festival")
    wire = server.all_bytes().decode()
    assert "Halvorsen" not in wire and "1,840" not in wire and "Tomatoes" not in wire
    assert [p.messages[0]["content"] for p in result.cloud_payloads] == [sent]
    assert set(result.timings) == {"prepare", "retrieve", "cloud_sketch", "local_generate"}
    # the local model saw the private context and the sketch
    assert result.context_used[0] == SECRET


def test_local_prompt_contains_context_and_sketch() -> None:
    captured: list[str] = []

    class Capturing(GenericFakeChatModel):
        def _generate(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
            captured.append("\n".join(m.text for m in messages))
            return super()._generate(messages, *args, **kwargs)

    with RecordingServer(reply="1. Welcome") as server:
        components = make_components(server)
        components.local_model = Capturing(messages=iter([AIMessage("ok")]))
        run_sketch_graph(components, {**REQUEST, "mode": "sketch"})
    [prompt] = captured
    assert SECRET in prompt
    assert "Mr. Halvorsen" in prompt
    assert "## Sketch" in prompt and "<<sketch>>\n1. Welcome\n<</sketch>>" in prompt


def test_local_mode_never_calls_the_cloud() -> None:
    with RecordingServer() as server:
        result = run_sketch_graph(make_components(server), {**REQUEST, "mode": "local"})
    assert server.requests == []
    assert result.cloud_payloads == [] and result.sketch is None
    assert result.answer


def test_local_mode_needs_no_cloud_at_all() -> None:
    result = run_sketch_graph(make_components(None), {**REQUEST, "mode": "local"})
    assert result.answer


def test_cloud_public_mode_skips_retrieval_and_sends_public_part() -> None:
    with RecordingServer(reply="A fine speech") as server:
        components = make_components(server)
        result = run_sketch_graph(
            components, {**REQUEST, "user_id": "nobody", "mode": "cloud-public"}
        )
    assert result.answer == "A fine speech"
    assert components.store.queries == []  # type: ignore[attr-defined]
    assert "Halvorsen" not in server.all_bytes().decode()


def test_cloud_private_mode_needs_explicit_permission() -> None:
    with RecordingServer() as server:
        with pytest.raises(PrivacyViolation, match="allow_private_egress"):
            run_sketch_graph(make_components(server), {**REQUEST, "mode": "cloud-private"})
        assert server.requests == []
        allowed = make_components(server, allow_private_egress=True)
        result = run_sketch_graph(allowed, {**REQUEST, "mode": "cloud-private"})
    # with permission, the private context does reach the cloud: the recorder sees it
    assert "1,840" in server.all_bytes().decode()
    assert result.cloud_payloads[0].purpose == "answer"


@pytest.mark.parametrize("public", ["", "   "])
def test_empty_instruction_is_a_typed_error(public: str) -> None:
    with RecordingServer() as server, pytest.raises(InvalidInstruction, match="empty"):
        run_sketch_graph(make_components(server), {**REQUEST, "public_instruction": public})
    assert server.requests == []


def test_unknown_user_and_unknown_mode() -> None:
    with RecordingServer() as server:
        with pytest.raises(UnknownUser, match="cogenesis ingest --user ghost"):
            run_sketch_graph(make_components(server), {**REQUEST, "user_id": "ghost"})
        with pytest.raises(InvalidInstruction, match="Unknown mode"):
            run_sketch_graph(make_components(server), {**REQUEST, "mode": "telepathy"})  # type: ignore[typeddict-item]
    assert server.requests == []


def test_sketch_mode_without_a_cloud_says_so() -> None:
    with pytest.raises(CloudUnavailable, match="mode='local'"):
        run_sketch_graph(make_components(None), {**REQUEST, "mode": "sketch"})


def test_down_cloud_fails_typed_and_sends_no_private_text() -> None:
    components = make_components(None, degrade_on_cloud_error=False)
    components.egress_guard = EgressGuard(
        base_url="http://127.0.0.1:9/v1", model="x", max_retries=0
    )
    with pytest.raises(CloudUnavailable) as raised:
        run_sketch_graph(components, {**REQUEST, "mode": "sketch"})
    assert "1,840" not in str(raised.value) and "Halvorsen" not in str(raised.value)


def test_answer_tokens_stream_from_the_write_node() -> None:
    with RecordingServer(reply="1. Welcome") as server:
        components = make_components(server, answer="Dear neighbors, welcome to the garden.")
        graph = build_sketch_graph()
        config: Any = {"configurable": {"thread_id": "t1"}}
        tokens = [
            chunk.content
            for chunk, metadata in graph.stream(
                {**REQUEST, "mode": "sketch"}, config, context=components, stream_mode="messages"
            )
            if metadata["langgraph_node"] == "write"
        ]
    assert len(tokens) > 3
    assert "".join(tokens) == "Dear neighbors, welcome to the garden."


def test_sqlite_checkpointer_keeps_the_finished_state(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.sqlite"
    with RecordingServer(reply="1. Welcome") as server:
        graph = build_sketch_graph(checkpointer=sqlite_checkpointer(path))
        config: Any = {"configurable": {"thread_id": "durable"}}
        run_sketch_graph(
            make_components(server), {**REQUEST, "mode": "sketch"}, graph=graph, config=config
        )
    reopened = build_sketch_graph(checkpointer=sqlite_checkpointer(path))
    state = reopened.get_state(config).values
    assert state["answer"] == "Dear neighbors, welcome."
    assert state["sketch"].startswith("1. Welcome")
    assert len(state["cloud_payloads"]) == 1


async def test_egress_decisions_are_tagged_in_the_run_trace() -> None:
    from langchain_cogenesis.graphs import build_sketch_graph

    with RecordingServer(reply="1. Welcome") as server:
        components = make_components(server)
        graph = build_sketch_graph()
        config = {"configurable": {"thread_id": "tagged"}}
        events = [
            event
            async for event in graph.astream_events(
                REQUEST, config=config, context=components, version="v2"
            )
        ]
    egress = [e["data"] for e in events if e["event"] == "on_custom_event"]
    assert egress == [
        {
            "destination": server.base_url,
            "purpose": "sketch",
            "decision": "sent",
            "detectors": [],
            "user_id": "maya",
            "attempt": 1,
        }
    ]
    cloud_calls = [
        e for e in events if e["event"] == "on_chat_model_start" and "cogenesis-egress" in e["tags"]
    ]
    assert len(cloud_calls) == 1
    assert cloud_calls[0]["metadata"]["cogenesis_decision"] == "sent"
    assert "cogenesis-egress:sent" in cloud_calls[0]["tags"]
    # the event carries the decision, never the payload
    assert "Halvorsen" not in str(egress)


def test_a_graph_compiled_without_a_checkpointer_runs_too() -> None:
    graph = build_sketch_graph(checkpointer=None)
    assert graph.checkpointer is None
    result = run_sketch_graph(make_components(None), {**REQUEST, "mode": "local"}, graph=graph)
    assert result.answer
