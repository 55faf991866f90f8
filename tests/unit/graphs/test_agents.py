"""CoGenesis in an existing agent: the agent's own (cloud) model never reads private context."""

from __future__ import annotations

import json
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_openai import ChatOpenAI

from langchain_cogenesis.graphs import ChatCoGenesis, PrivacyMiddleware, cogenesis_tool
from langchain_cogenesis.privacy import AuditLog
from tests.cloud_servers import RecordingServer
from tests.unit.graphs.test_sketch_graph import SECRET, make_components

PERSONAL = f"Dear neighbors, a confession: {SECRET}."


def agent_model_reply(body: dict[str, Any]) -> dict[str, Any]:
    """The agent's cloud model: call the tool first, then repeat what the tool said."""
    tool_results = [m for m in body["messages"] if m["role"] == "tool"]
    if not tool_results:
        arguments = json.dumps({"instruction": "Write a welcome speech for a harvest festival"})
        call = {"id": "call_1", "type": "function",
                "function": {"name": "write_privately", "arguments": arguments}}  # fmt: skip
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    return {"role": "assistant", "content": "Here is your speech: " + tool_results[-1]["content"]}


def setup(agent_server: RecordingServer, sketch_server: RecordingServer) -> tuple[Any, Any]:
    agent_server.chat_for = agent_model_reply
    parts = make_components(sketch_server, answer=PERSONAL)
    writer = ChatCoGenesis(
        store=parts.store, local_model=parts.local_model, egress_guard=parts.egress_guard
    )
    agent_model = ChatOpenAI(base_url=agent_server.base_url, api_key="x", model="agent-model")  # type: ignore[arg-type]
    return writer, agent_model


def agent_wire(server: RecordingServer) -> str:
    return server.all_bytes().decode()


def test_the_tool_returns_directly_so_the_agent_model_never_reads_it() -> None:
    with RecordingServer() as agent_server, RecordingServer(reply="1. Hello") as sketch_server:
        writer, agent_model = setup(agent_server, sketch_server)
        agent = create_agent(agent_model, tools=[cogenesis_tool(writer, user_id="maya")])
        state = agent.invoke({"messages": [{"role": "user", "content": "Write my speech"}]})
        wire, sketch_wire = agent_wire(agent_server), agent_wire(sketch_server)
    assert state["messages"][-1].content == PERSONAL  # the user gets the personal text
    assert len(agent_server.chat_requests) == 1
    assert "1,840" not in wire and "credit card" not in wire
    assert "1,840" not in sketch_wire and "harvest festival" in sketch_wire


def test_middleware_redacts_private_context_and_restores_it_locally(tmp_path: Any) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    with RecordingServer() as agent_server, RecordingServer(reply="1. Hello") as sketch_server:
        writer, agent_model = setup(agent_server, sketch_server)
        guard = PrivacyMiddleware(store=writer.store, user_id="maya", audit_log=audit)
        tool = cogenesis_tool(writer, privacy=guard, return_direct=False)
        agent = create_agent(agent_model, tools=[tool], middleware=[guard])
        state = agent.invoke({"messages": [{"role": "user", "content": "Write my speech"}]})
        wire = agent_wire(agent_server)
    assert len(agent_server.chat_requests) == 2
    assert "1,840" not in wire and "[PRIVATE_" in wire  # a keyed placeholder
    final = state["messages"][-1]
    assert isinstance(final, AIMessage) and "1,840" in str(final.content)  # restored here
    assert guard.decisions == ["sent", "redacted"]
    assert [e.decision for e in audit.entries()] == ["sent", "redacted"]
    assert all("1,840" not in (e.payload or "") for e in audit.entries())


def test_middleware_can_keep_the_call_on_the_device() -> None:
    local = GenericFakeChatModel(messages=iter([AIMessage("Done, on your device.")]))
    with RecordingServer() as agent_server, RecordingServer(reply="1. Hello") as sketch_server:
        writer, agent_model = setup(agent_server, sketch_server)
        guard = PrivacyMiddleware(store=writer.store, user_id="maya", policy="local_only",
                                  local_model=local)  # fmt: skip
        tool = cogenesis_tool(writer, privacy=guard, return_direct=False)
        agent = create_agent(agent_model, tools=[tool], middleware=[guard])
        state = agent.invoke({"messages": [{"role": "user", "content": "Write my speech"}]})
    assert len(agent_server.chat_requests) == 1  # the second call stayed local
    assert state["messages"][-1].content == "Done, on your device."
    assert guard.decisions == ["sent", "local_only"]
