"""ChatCoGenesis: the sketch pipeline behind the chat-model interface."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage

from langchain_cogenesis.errors import InvalidInstruction
from langchain_cogenesis.graphs import ChatCoGenesis
from tests.cloud_servers import RecordingServer
from tests.unit.test_sketch_graph import make_components


def model_for(server: RecordingServer, **kwargs: object) -> ChatCoGenesis:
    parts = make_components(server, answer="Dear neighbors, welcome to the feast.")
    return ChatCoGenesis(
        store=parts.store, local_model=parts.local_model, egress_guard=parts.egress_guard,
        **kwargs,
    )  # fmt: skip


def test_user_from_config_private_message_stays_local() -> None:
    with RecordingServer(reply="1. Welcome\n2. Thanks") as server:
        model = model_for(server)
        reply = model.invoke(
            [
                HumanMessage("Maya thanks Mr. Halvorsen", additional_kwargs={"private": True}),
                HumanMessage("Write a welcome speech for a harvest festival"),
            ],
            config={"configurable": {"user_id": "maya"}},
        )
        wire = server.all_bytes().decode()
    assert reply.content == "Dear neighbors, welcome to the feast."
    assert "Halvorsen" not in wire and "harvest festival" in wire
    metadata = reply.response_metadata
    assert metadata["user_id"] == "maya" and metadata["mode"] == "sketch"
    assert metadata["sketch"].startswith("1. Welcome")
    assert len(metadata["cloud_payloads"]) == 1


def test_one_instruction_is_split_on_the_device_and_stream_matches_invoke() -> None:
    with RecordingServer(reply="1. Welcome") as server:
        model = model_for(server, user_id="maya", stop=["feast"])
        text = "Write a welcome speech for a harvest festival: Maya thanks Mr. Halvorsen"
        whole = model.invoke(text).content
        chunks = list(model.stream(text))
        wire = server.all_bytes().decode()
    assert whole == "Dear neighbors, welcome to the "
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert "".join(str(c.content) for c in chunks) == whole
    assert chunks[-1].response_metadata["user_id"] == "maya"
    assert "Halvorsen" not in wire


def test_no_user_is_a_typed_error_and_nothing_is_sent() -> None:
    with RecordingServer() as server:
        model = model_for(server)
        with pytest.raises(InvalidInstruction, match="needs a user"):
            model.invoke("Write a speech")
        assert server.requests == []
