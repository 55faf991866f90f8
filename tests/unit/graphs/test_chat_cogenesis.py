"""ChatCoGenesis: the sketch pipeline behind the chat-model interface."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage

from langchain_cogenesis.errors import InvalidInstruction
from langchain_cogenesis.graphs import ChatCoGenesis
from tests.cloud_servers import RecordingServer
from tests.unit.graphs.test_sketch_graph import make_components


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


def test_system_prompt_and_history_reach_both_sides_private_facts_stay_local() -> None:
    from langchain_core.language_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, BaseMessage
    from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

    seen: list[list[BaseMessage]] = []

    class RecordingLocal(GenericFakeChatModel):
        def _generate(self, messages: list[BaseMessage], *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
            seen.append(list(messages))
            return super()._generate(messages, *args, **kwargs)  # type: ignore[arg-type]

    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "Always answer in French."),
            MessagesPlaceholder("history"),
            ("human", "{request}"),
        ]
    )
    history = [
        HumanMessage("We are planning the harvest festival on the green."),
        AIMessage("Lovely, the green suits a festival."),
        # a private fact from the store, said earlier in the conversation
        HumanMessage("Remember Maya owes 1,840 dollars on the garden's shared credit card."),
        AIMessage("Noted."),
    ]
    with RecordingServer(reply="1. Bienvenue\n2. Merci") as server:
        parts = make_components(server)
        local = RecordingLocal(messages=iter([AIMessage("Chers voisins, bienvenue.")] * 3))
        model = ChatCoGenesis(store=parts.store, local_model=local, egress_guard=parts.egress_guard)
        chain = prompt | model
        reply = chain.invoke(
            {"history": history, "request": "Write a welcome speech for the festival"},
            config={"configurable": {"user_id": "maya"}},
        )
        [request] = server.chat_requests
    assert reply.content == "Chers voisins, bienvenue."
    # the local model read the system prompt and every earlier turn, then the request
    [local_prompt] = seen
    assert local_prompt[0].type == "system" and "Always answer in French." in local_prompt[0].text
    texts = [m.text for m in local_prompt]
    assert all(turn.text in texts for turn in history)
    assert "Write a welcome speech for the festival" in texts[-1]
    # the cloud's sketch request carries them too, screened message by message
    sent = request["body"]["messages"]
    assert sent[0]["role"] == "system" and "Always answer in French." in sent[0]["content"]
    wire = json.dumps(sent)
    assert "planning the harvest festival on the green" in wire
    assert "Lovely, the green suits a festival." in wire
    assert "1,840" not in wire and "credit card" not in wire  # the private fact: redacted
    assert "Remember" in wire  # in a message that went, with the fact taken out
    assert "Write a welcome speech for the festival" in sent[-1]["content"]


def test_without_system_or_history_the_requests_are_the_papers() -> None:
    with RecordingServer(reply="1. Welcome") as server:
        model = model_for(server, user_id="maya")
        model.invoke("Write a welcome speech for a harvest festival")
        [request] = server.chat_requests
    assert [m["role"] for m in request["body"]["messages"]] == ["user"]


def test_usage_adds_both_models_and_callbacks_see_no_error_for_a_good_run() -> None:
    from typing import Any

    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.language_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    class CountingLocal(GenericFakeChatModel):
        def _generate(self, messages: Any, *args: Any, **kwargs: Any) -> ChatResult:
            usage = {"input_tokens": 120, "output_tokens": 9, "total_tokens": 129}
            message = AIMessage("Dear neighbors, welcome.", usage_metadata=usage)  # type: ignore[arg-type]
            return ChatResult(generations=[ChatGeneration(message=message)])

    class Errors(BaseCallbackHandler):
        def __init__(self) -> None:
            self.errors: list[BaseException] = []
            self.ends = 0

        def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
            self.errors.append(error)

        def on_llm_end(self, response: Any, **kwargs: Any) -> None:
            self.ends += 1

    with RecordingServer(reply="1. Welcome 2. Thanks") as server:
        parts = make_components(server)
        # the sketch's bound is its length: the stream ends at the bound, with its finish
        model = ChatCoGenesis(store=parts.store, local_model=CountingLocal(messages=iter([])),
                              egress_guard=parts.egress_guard, user_id="maya",
                              sketch_max_tokens=4)  # fmt: skip
        seen = Errors()
        reply = model.invoke("Write a welcome speech for a harvest festival",
                             config={"callbacks": [seen]})  # fmt: skip
    cloud = reply.response_metadata["cloud_usage"]
    assert cloud["output_tokens"] == 4 and cloud["input_tokens"] > 0
    assert reply.response_metadata["local_usage"] == {
        "input_tokens": 120, "output_tokens": 9, "total_tokens": 129}  # fmt: skip
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["output_tokens"] == 9 + 4
    assert reply.usage_metadata["input_tokens"] == 120 + cloud["input_tokens"]
    # the model's run, the cloud's child run and the local model's run all end well
    assert seen.errors == [] and seen.ends >= 3
