"""PrivacyMiddleware covers the whole request of every model call an agent makes.

Adversarial: canaries, a name, a street address and a health fact sit in the system
prompt, the history, tool-call arguments, tool results and a summarization side
call. The agent's model is ``ChatOpenAI`` against a recording OpenAI-compatible
server on loopback; every byte it receives is checked. The controls show that the
same recorder sees the secrets when the middleware (or the side-call guard) is absent.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import SummarizationMiddleware
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver

from langchain_cogenesis.errors import PrivacyViolation
from langchain_cogenesis.graphs import PrivacyMiddleware
from langchain_cogenesis.graphs._message_text import message_texts
from langchain_cogenesis.graphs.agents import PrivacyMiddleware as ReExported
from langchain_cogenesis.models import ChatLocalLlama
from langchain_cogenesis.privacy import AuditLog
from tests.cloud_servers import RecordingServer

CANARY = "CANARY-QX7-LOCKER-4471"
NAME = "Elaine Brockhurst"
ADDRESS = "42 Larkspur Lane"
HEALTH = "lisinopril for her high blood pressure"
SECRETS = (CANARY, NAME, "Brockhurst", ADDRESS, "Larkspur", "lisinopril")

PLACEHOLDER = re.compile(r"\[[A-Z]+_[0-9a-f]+\]")
Script = Callable[[dict[str, Any]], dict[str, Any]]


# --- a scripted, recording cloud that can stream ------------------------------------


class _ScriptedHandler(BaseHTTPRequestHandler):
    server: ScriptedCloud
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.raw_bodies.append(raw)
        body = json.loads(raw)
        self.server.requests.append({"path": self.path, "body": body})
        message = self.server.chat_for(body)
        if body.get("stream"):
            return self._stream(message)
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        choice = {"index": 0, "message": message, "finish_reason": finish}
        reply = {"id": "chat", "object": "chat.completion", "created": 0, "model": "fake"}
        data = json.dumps({**reply, "choices": [choice]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, message: dict[str, Any]) -> None:
        # three characters a chunk: every placeholder is cut across chunks
        content = message.get("content") or ""
        deltas: list[dict[str, Any]] = [
            {"content": content[i : i + 3]} for i in range(0, len(content), 3)
        ]
        deltas += [
            {"tool_calls": [{**call, "index": index}]}
            for index, call in enumerate(message.get("tool_calls") or [])
        ]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for delta in deltas:
            self.server.streamed.append(delta)
            self.wfile.write(_event(delta, None))
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        self.wfile.write(_event({}, finish) + b"data: [DONE]\n\n")


def _event(delta: dict[str, Any], finish: str | None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    chunk = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time())}
    return f"data: {json.dumps({**chunk, 'model': 'fake', 'choices': [choice]})}\n\n".encode()


class ScriptedCloud(RecordingServer):
    """A recording OpenAI-compatible server whose replies a script writes."""

    def __init__(self, script: Script) -> None:
        super().__init__()
        self.RequestHandlerClass = _ScriptedHandler
        self.chat_for = script
        self.streamed: list[dict[str, Any]] = []

    def __enter__(self) -> ScriptedCloud:
        super().__enter__()
        return self

    def wire(self) -> str:
        return self.all_bytes().decode()


def leaked(wire: str) -> list[str]:
    return [secret for secret in SECRETS if secret.casefold() in wire.casefold()]


def placeholders(body: dict[str, Any]) -> list[str]:
    return PLACEHOLDER.findall(json.dumps(body["messages"]))


def tool_call(name: str, **args: Any) -> dict[str, Any]:
    call_id = f"call_{name}"
    return {"id": call_id, "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)}}  # fmt: skip


def parcel_script(body: dict[str, Any]) -> dict[str, Any]:
    """Send a parcel where the last one went (or where the user said), then report."""
    messages = body["messages"]
    if messages[-1]["role"] != "tool":
        earlier_calls = [m for m in messages if m.get("tool_calls")]
        seen = placeholders({"messages": earlier_calls[-1:]}) + placeholders(body)
        place = next((p for p in seen if p.startswith("[PLACE")), None)
        address = place or (ADDRESS if ADDRESS in json.dumps(messages) else "unknown")
        return {"role": "assistant", "content": None,
                "tool_calls": [tool_call("send_parcel", address=address)]}  # fmt: skip
    return {"role": "assistant", "content": f"Done. {messages[-1]['content']}"}


def cloud_model(cloud: RecordingServer, **kwargs: Any) -> ChatOpenAI:
    return ChatOpenAI(base_url=cloud.base_url, api_key="x", model="agent-model", **kwargs)  # type: ignore[arg-type]


def parcel_tool(received: list[str]) -> Any:
    @tool
    def send_parcel(address: str) -> str:
        """Send the user's parcel to an address."""
        received.append(address)
        return f"Parcel for {NAME} sent to {address}."

    return send_parcel


SYSTEM_PROMPT = f"You help Elaine with errands. Her locker code is {CANARY}; never share it."


def history() -> list[Any]:
    """Earlier turns, as an application that keeps its own history passes them."""
    return [
        HumanMessage(f"My neighbour {NAME} lives at {ADDRESS}. She takes {HEALTH}."),
        AIMessage(
            "", tool_calls=[{"id": "call_0", "name": "send_parcel", "args": {"address": ADDRESS}}]
        ),
        ToolMessage(
            f"Parcel for {NAME} sent to {ADDRESS}. Locker {CANARY}.", tool_call_id="call_0"
        ),
        AIMessage("Sent."),
        HumanMessage("Please send her another parcel, to the same place."),
    ]


def privacy(**kwargs: Any) -> PrivacyMiddleware:
    kwargs.setdefault("names", [NAME])
    kwargs.setdefault("canaries", [CANARY])
    kwargs.setdefault("private_texts", [f"{NAME} takes {HEALTH}."])
    return PrivacyMiddleware(**kwargs)


# --- the whole request ---------------------------------------------------------------


def test_control_without_the_middleware_the_cloud_sees_every_secret() -> None:
    received: list[str] = []
    with ScriptedCloud(parcel_script) as cloud:
        agent = create_agent(
            cloud_model(cloud), tools=[parcel_tool(received)], system_prompt=SYSTEM_PROMPT
        )
        agent.invoke({"messages": history()})
    assert sorted(leaked(cloud.wire())) == sorted(SECRETS)


def test_system_prompt_history_tool_args_and_tool_results_never_reach_the_cloud(
    tmp_path: Path,
) -> None:
    received: list[str] = []
    audit = AuditLog(tmp_path / "audit.sqlite3")
    guard = privacy(audit_log=audit)
    with ScriptedCloud(parcel_script) as cloud:
        agent = create_agent(
            cloud_model(cloud),
            tools=[parcel_tool(received)],
            system_prompt=SYSTEM_PROMPT,
            middleware=[guard],
        )
        state = agent.invoke({"messages": history()})
        bodies = [request["body"] for request in cloud.chat_requests]
    assert leaked(cloud.wire()) == []
    assert len(bodies) == 2
    first = bodies[0]["messages"]
    # the request kept its shape: every part is there, only private spans replaced
    assert first[0]["role"] == "system" and "locker code is [" in first[0]["content"]
    assert "[PLACE_" in json.dumps(first[2]["tool_calls"])  # the tool call's arguments
    # the tool result: the name typed PERSON (the sentence's first word may go too: the
    # tagger reads a capitalized opener as a name now and then, see docs/privacy.md)
    assert re.search(r"for \[PERSON_[0-9a-f]+\] sent to", first[3]["content"])
    assert first[1]["content"].startswith("My neighbour [PERSON_")
    # the tool ran on the device with the real address, not the placeholder
    assert received == [ADDRESS]
    final = state["messages"][-1]
    assert isinstance(final, AIMessage) and f"Parcel for {NAME} sent to {ADDRESS}" in final.text
    call = state["messages"][-3]
    assert isinstance(call, AIMessage) and call.tool_calls[0]["args"] == {"address": ADDRESS}
    assert guard.decisions == ["redacted", "redacted"]
    entries = audit.entries()
    assert [e.decision for e in entries] == ["redacted", "redacted"]
    assert {h["detector"] for h in entries[0].hits} >= {"canary", "pii:name", "pii:address"}
    assert all(e.payload and not leaked(e.payload) for e in entries)
    assert audit.verify().ok


def test_restored_values_do_not_go_back_out_on_the_next_turn() -> None:
    received: list[str] = []
    guard = privacy()
    with ScriptedCloud(parcel_script) as cloud:
        agent = create_agent(
            cloud_model(cloud),
            tools=[parcel_tool(received)],
            middleware=[guard],
            checkpointer=InMemorySaver(),
        )
        thread: RunnableConfig = {"configurable": {"thread_id": "elaine"}}
        first = f"Send a parcel to {NAME} at {ADDRESS}, please."
        state = agent.invoke({"messages": [HumanMessage(first)]}, thread)
        assert ADDRESS in state["messages"][-1].text  # restored into the history, on the device
        turn_one = len(cloud.chat_requests)
        agent.invoke({"messages": [HumanMessage("Thanks! Send one more the same way.")]}, thread)
        second_turn = [r["body"] for r in cloud.chat_requests[turn_one:]]
    assert received == [ADDRESS, ADDRESS]
    assert second_turn and leaked(json.dumps(second_turn)) == []
    # the restored reply of turn one went out again as placeholders, not as values
    history_sent = second_turn[0]["messages"]
    assert any("[PLACE_" in str(m.get("content")) for m in history_sent if m["role"] == "assistant")
    assert leaked(cloud.wire()) == []


# --- policies, per detector type -----------------------------------------------------


def test_block_raises_and_sends_nothing(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    guard = privacy(policy={"canary": "block", "*": "redact"}, audit_log=audit)
    with ScriptedCloud(parcel_script) as cloud:
        agent = create_agent(cloud_model(cloud), tools=[], middleware=[guard])
        with pytest.raises(PrivacyViolation, match="canary") as error:
            agent.invoke({"messages": [HumanMessage(f"My locker code is {CANARY}.")]})
        assert cloud.requests == []  # nothing sent
        assert CANARY not in str(error.value)
        # a name alone is only redacted under the same rule
        agent.invoke({"messages": [HumanMessage(f"Write a birthday note to {NAME}.")]})
        assert len(cloud.chat_requests) == 1 and leaked(cloud.wire()) == []
    assert guard.decisions == ["blocked", "redacted"]
    blocked = audit.entries()[0]
    assert blocked.decision == "blocked" and blocked.payload is None  # the text is not kept


def test_local_policy_per_detector_type_keeps_health_on_the_device() -> None:
    local = GenericFakeChatModel(messages=iter([AIMessage("Noted, on your device.")]))
    guard = PrivacyMiddleware(  # no store: facts typed into the request are found unaided
        policy={"entity:HEALTH": "local_only", "*": "redact"},
        local_model=local,
    )
    with ScriptedCloud(lambda body: {"role": "assistant", "content": "Hello."}) as cloud:
        agent = create_agent(cloud_model(cloud), tools=[], middleware=[guard])
        health = "Remind me: my sister takes lisinopril for her blood pressure."
        state = agent.invoke({"messages": [HumanMessage(health)]})
        assert cloud.requests == []
        assert state["messages"][-1].text == "Noted, on your device."
        agent.invoke({"messages": [HumanMessage(f"Write a thank-you card to {NAME}.")]})
        assert len(cloud.chat_requests) == 1 and "[PERSON_" in cloud.wire()
        assert leaked(cloud.wire()) == []
    assert guard.decisions == ["local_only", "redacted"]


def test_the_middleware_speaks_the_guards_policy_words() -> None:
    # one vocabulary: the guard's policy names, and nothing else
    for word in ("forward", "local", "kept_local"):
        with pytest.raises(ValueError, match="one of block, redact, local_only"):
            PrivacyMiddleware(policy=word)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="local_only"):
            PrivacyMiddleware(policy={"canary": word})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="local_model"):
        PrivacyMiddleware(policy={"canary": "local_only"})
    assert ReExported is PrivacyMiddleware


def test_every_text_of_a_message_is_scanned() -> None:
    message = AIMessage(
        [{"type": "text", "text": "see"}],
        name="helper",
        tool_calls=[{"id": "1", "name": "pay", "args": {"to": {"iban": "DE1"}, "amount": 1840}}],
    )
    assert message_texts([message]) == [
        ("assistant", "see"),
        ("assistant name", "helper"),
        ("assistant tool call", "DE1"),
        ("assistant tool call", "1840"),
    ]


# --- streaming -----------------------------------------------------------------------


def test_streamed_chunks_are_restored_even_where_a_placeholder_is_cut() -> None:
    received: list[str] = []
    guard = privacy()
    with ScriptedCloud(parcel_script) as cloud:
        agent = create_agent(cloud_model(cloud), tools=[parcel_tool(received)], middleware=[guard])
        texts = []
        stream: Any = agent.stream(
            {"messages": [HumanMessage(f"Send {NAME} a parcel at {ADDRESS}, please.")]},
            stream_mode="messages",
        )
        for chunk, metadata in stream:
            if isinstance(chunk, AIMessageChunk) and metadata["langgraph_node"] == "model":
                texts.append(chunk.text)
        streamed_by_cloud = "".join(d.get("content", "") for d in cloud.streamed)
    assert all(request["body"].get("stream") for request in cloud.chat_requests)
    assert "[PLACE_" in streamed_by_cloud and leaked(cloud.wire()) == []
    answer = "".join(texts)
    assert f"Parcel for {NAME} sent to {ADDRESS}." in answer
    assert not any("[" in text for text in texts)  # not even a placeholder's first part
    assert received == [ADDRESS]


def test_async_agent_is_guarded_the_same_way() -> None:
    received: list[str] = []
    guard = privacy()
    with ScriptedCloud(parcel_script) as cloud:
        agent = create_agent(
            cloud_model(cloud), tools=[parcel_tool(received)], system_prompt=SYSTEM_PROMPT,
            middleware=[guard],
        )  # fmt: skip
        state = asyncio.run(agent.ainvoke({"messages": history()}))
    assert leaked(cloud.wire()) == [] and received == [ADDRESS]
    assert ADDRESS in state["messages"][-1].text
    assert guard.decisions == ["redacted", "redacted"]


# --- a side call of other middleware: summarization ------------------------------------


def summary_script(body: dict[str, Any]) -> dict[str, Any]:
    """Summarize by naming the person it was told about (as a placeholder, or raw)."""
    prompt = body["messages"][-1]["content"]
    found = [p for p in PLACEHOLDER.findall(prompt) if p.startswith("[PERSON_")]
    about = found[-1] if found else prompt[-200:]  # the conversation comes last
    return {"role": "assistant", "content": f"The user asked about {about}."}


def summarizing_agent(guard: PrivacyMiddleware | None, agent_cloud: Any, summary_cloud: Any) -> Any:
    summary_model: Any = cloud_model(summary_cloud)
    if guard is not None:
        summary_model = guard.guarded_model(summary_model, purpose="summarization")
    summarize = SummarizationMiddleware(
        model=summary_model, trigger=("messages", 4), keep=("messages", 2)
    )
    middleware: list[Any] = [summarize, guard] if guard else [summarize]
    return create_agent(cloud_model(agent_cloud), tools=[], middleware=middleware)


def long_history() -> list[Any]:
    return [
        HumanMessage(f"{NAME} at {ADDRESS} asked me to keep locker {CANARY} safe."),
        AIMessage("Understood."),
        HumanMessage(f"She takes {HEALTH}."),
        AIMessage("Noted."),
        HumanMessage("Draft a short hello to my neighbours."),
    ]


def test_control_an_unguarded_summary_model_receives_the_history() -> None:
    reply = {"role": "assistant", "content": "Hello, neighbours!"}
    with ScriptedCloud(summary_script) as summary_cloud, ScriptedCloud(lambda b: reply) as cloud:
        summarizing_agent(None, cloud, summary_cloud).invoke({"messages": long_history()})
    assert len(summary_cloud.chat_requests) == 1
    assert set(leaked(summary_cloud.wire())) >= {CANARY, NAME, ADDRESS}


def test_summarization_side_call_is_guarded_and_its_summary_restored(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    guard = privacy(audit_log=audit)
    reply = {"role": "assistant", "content": "Hello, neighbours!"}
    with ScriptedCloud(summary_script) as summary_cloud, ScriptedCloud(lambda b: reply) as cloud:
        agent = summarizing_agent(guard, cloud, summary_cloud)
        state = agent.invoke({"messages": long_history()})
    assert len(summary_cloud.chat_requests) == 1 and len(cloud.chat_requests) == 1
    assert leaked(summary_cloud.wire()) == [] and leaked(cloud.wire()) == []
    assert "[PERSON_" in summary_cloud.wire() or "[PRIVATE_" in summary_cloud.wire()
    # the summary, kept in the history on the device, has the real value back ...
    summary = state["messages"][0]
    assert "summary" in summary.text and not PLACEHOLDER.search(summary.text)
    assert f"The user asked about {NAME}." in summary.text
    # ... and went out redacted again in the agent's own call
    assert "The user asked about [" in cloud.wire()
    assert [e.purpose for e in audit.entries()] == ["summarization", "agent-model-call"]
    assert [e.decision for e in audit.entries()] == ["redacted", "redacted"]


def test_a_summary_of_health_facts_is_written_on_the_device() -> None:
    local = GenericFakeChatModel(messages=iter([AIMessage("They talked about medicines.")]))
    guard = privacy(policy={"entity:HEALTH": "local_only", "*": "redact"}, local_model=local)
    reply = {"role": "assistant", "content": "Hello, neighbours!"}
    with ScriptedCloud(summary_script) as summary_cloud, ScriptedCloud(lambda b: reply) as cloud:
        state = summarizing_agent(guard, cloud, summary_cloud).invoke({"messages": long_history()})
    assert summary_cloud.requests == []  # the history held a health fact: summarized locally
    assert "They talked about medicines." in state["messages"][0].text
    assert len(cloud.chat_requests) == 1 and leaked(cloud.wire()) == []
    assert guard.decisions == ["local_only", "sent"]


# --- against the real models -----------------------------------------------------------


@pytest.mark.integration
def test_real_cloud_and_local_model_private_text_stays_off_the_wire(
    standin: Any, model_path: Path
) -> None:
    """The agent's model is the llama.cpp stand-in cloud (behind a recorder); health
    facts go to the real local model."""
    local = ChatLocalLlama(model_path=model_path, max_tokens=16, seed=3)
    guard = privacy(policy={"entity:HEALTH": "local_only", "*": "redact"}, local_model=local)
    with RecordingServer(upstream=standin.base_url) as proxy:
        # llama_cpp.server ignores max_completion_tokens (what max_tokens becomes on the
        # wire): the limit goes in the body's own max_tokens, or it writes to n_ctx
        cloud = ChatOpenAI(
            base_url=proxy.base_url,
            api_key="x",  # type: ignore[arg-type]
            model="standin",
            extra_body={"max_tokens": 24},
        )
        agent = create_agent(cloud, tools=[], system_prompt=SYSTEM_PROMPT, middleware=[guard])
        invite = agent.invoke(
            {"messages": [HumanMessage(f"Write one line inviting {NAME} of {ADDRESS} to tea.")]}
        )
        reminder = agent.invoke(
            {"messages": [HumanMessage("Remind me: my sister takes lisinopril for her heart.")]}
        )
        wire = proxy.all_bytes().decode()
    assert guard.decisions == ["redacted", "local_only"]
    assert len(proxy.chat_requests) == 1 and leaked(wire) == []
    assert "[PERSON_" in wire and invite["messages"][-1].text.strip()
    assert reminder["messages"][-1].text.strip()  # written on the device
