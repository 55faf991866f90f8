"""ChatCoGenesisFusion's own behaviour: what reaches the cloud, streaming, stops."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage

from langchain_cogenesis.errors import TokenizerMismatch
from langchain_cogenesis.fusion import ChatCoGenesisFusion
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.prompts import chat_text
from tests.cloud_servers import RecordingServer
from tests.fusion_fakes import ScriptScorer, echo_script

SCRIPT = [" Dear", " neighbors,", " welcome", " to", " the", " garden", " Halvorsen", " built"]
PRIVATE = "Arne Halvorsen built the raised beds in 1998 with 1,840 bricks"


def model_for(server: RecordingServer, **kwargs: object) -> ChatCoGenesisFusion:
    local = ScriptScorer(SCRIPT, extra=[" the", " Arne", " 1,840"])
    server.tokenizer = lambda text: local.tokenize(text, add_bos=True)
    server.logprobs_for = echo_script(local)
    guard = EgressGuard(base_url=server.base_url, model="fake", max_retries=0, audit_log=None)
    return ChatCoGenesisFusion(
        local_scorer=local, egress_guard=guard, private_context=[PRIVATE], **kwargs
    )


def completion_prompts(server: RecordingServer) -> list[str]:
    return [r["body"]["prompt"] for r in server.requests if r["path"].endswith("/completions")]


@pytest.mark.parametrize("draft", [0, 3])
def test_private_context_and_private_messages_stay_local(draft: int) -> None:
    with RecordingServer() as server:
        model = model_for(server, draft=draft)
        reply = model.invoke(
            [
                SystemMessage("You write short notes."),
                HumanMessage(
                    "My notes: Arne owes 1,840 bricks.", additional_kwargs={"private": True}
                ),
                HumanMessage("Write a welcome note."),
            ]
        )
        prompts = completion_prompts(server)
        wire = server.all_bytes().decode()
    assert reply.content == " Dear neighbors, welcome to the garden Halvorsen built"
    # the cloud prompt is the public turns only (in the scripted model's vocabulary)
    public = [
        SystemMessage("You write short notes."),
        HumanMessage("Write a welcome note."),
    ]
    expected = model.local_scorer().detokenize(model.local_scorer().tokenize(chat_text(public)))
    assert prompts and all(p.startswith(expected) for p in prompts), (expected, prompts[0])
    assert "Halvorsen" not in wire and "1,840" not in wire and "owes" not in wire
    metadata = reply.response_metadata
    assert metadata["cloud_stopped_at"] == 7  # the prefix with " Halvorsen" never left
    assert metadata["cloud_requests"] == len(prompts)
    assert (metadata["cloud_requests"] < 7) == (draft > 0)
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] == 8


def test_stream_gives_the_same_text_in_pieces_and_honours_stop() -> None:
    with RecordingServer() as server:
        model = model_for(server)
        whole = model.invoke("Write a welcome note.").content
        chunks = list(model.stream("Write a welcome note."))
        stopped = model.invoke("Write a welcome note.", stop=[" to"]).content
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert len([c for c in chunks if c.content]) >= 6
    assert "".join(str(c.content) for c in chunks) == whole
    assert chunks[-1].response_metadata["finish_reason"] == "stop"  # the script ends its turn
    assert stopped == " Dear neighbors, welcome"


async def test_async_calls_match_sync_calls() -> None:
    with RecordingServer() as server:
        model = model_for(server)
        whole = (await model.ainvoke("Write a welcome note.")).content
        parts = [str(c.content) async for c in model.astream("Write a welcome note.")]
    assert "".join(parts) == whole == " Dear neighbors, welcome to the garden Halvorsen built"


def test_a_different_tokenizer_is_a_typed_error() -> None:
    with RecordingServer() as server:
        model = model_for(server)
        server.tokenizer = lambda text: [1, 2, 3]
        with pytest.raises(TokenizerMismatch):
            model.invoke("Write a welcome note.")
        assert completion_prompts(server) == []


def test_structured_output_and_tools_are_refused_with_what_to_use() -> None:
    from pydantic import BaseModel

    from langchain_cogenesis.errors import StructuredOutputNotSupported, ToolsNotSupported

    class Note(BaseModel):
        text: str

    model = ChatCoGenesisFusion(local_scorer=ScriptScorer(SCRIPT))
    with pytest.raises(StructuredOutputNotSupported, match="ChatCoGenesis") as caught:
        model.with_structured_output(Note)
    assert isinstance(caught.value, NotImplementedError)  # what LangChain callers catch
    with pytest.raises(ToolsNotSupported, match="cogenesis_tool"):
        model.bind_tools([])
