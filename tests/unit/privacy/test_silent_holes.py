"""No silent holes: unknown users fail loudly, restored values never leave again, audit rows
say what was caught.

Adversarial, through LangChain's public API as an application calls it:
``create_agent(model, tools=[cogenesis_tool(...)], middleware=[PrivacyMiddleware(...)])``.
The agent's model and the tool's sketch model are recording OpenAI-compatible servers on
loopback; every byte they receive is checked. The user types a health fact and a money
worry; the middleware redacts both, the agent's model asks the tool to write with the
placeholders, the middleware restores them on the device, and the tool's own sketch
request (then the next turn) must not carry them out. The controls show the recorders
see the values when that protection is off.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.documents import Document
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import Field

from langchain_cogenesis import ChatCoGenesisFusion
from langchain_cogenesis.errors import ConfigurationError, LocalOnly, UnknownUser
from langchain_cogenesis.graphs import (
    ChatCoGenesis,
    Components,
    PrivacyMiddleware,
    cogenesis_tool,
    run_sketch_graph,
)
from langchain_cogenesis.privacy import AuditLog, EgressGuard, PrivacyScanner
from langchain_cogenesis.privacy.detection.detectors import Hit
from langchain_cogenesis.privacy.egress.audit import AuditEntry
from langchain_cogenesis.privacy.redaction.restoration import RestoredValues
from langchain_cogenesis.retrievers import PrivateContextRetriever, PrivateStore
from tests.cli_runner import cli_environment, run_in_process
from tests.cloud_servers import RecordingServer
from tests.fusion_fakes import ScriptScorer
from tests.integration.store_worker import HashEmbeddings
from tests.leak_harness import MemoryStore

USER = "maya-okafor"
MISSPELLED = "maya_okafor"
HEALTH = "early-stage Parkinson's disease"
RENT = "three months behind on rent"
STORED = "Maya owes 1,840 dollars on the garden's shared credit card"
SECRETS = ("Parkinson", "early-stage", "behind on rent", "1,840")
USER_TURN = f"I have {HEALTH}, and I am {RENT}. Write a short thank-you note to my neighbour."
NOTE = f"Thank you for the soup! Living with {HEALTH} is easier with a neighbour like you."
PLACEHOLDER = re.compile(r"\[[A-Z]+_[0-9a-f]+\]")


class PhraseDetector:
    """An application's own detector (a local model's, say) that finds one phrase.

    No detector of the tool's own scanner finds it: only the middleware knows it.
    """

    name = "entity:MONEY"

    def __init__(self, phrase: str) -> None:
        self.pattern = re.compile(re.escape(phrase), re.IGNORECASE)

    def find(self, text: str) -> list[Hit]:
        return [Hit(m.start(), m.end(), self.name, m.group()) for m in self.pattern.finditer(text)]


class RecordingLocal(GenericFakeChatModel):
    """The writer's local model: always the note; remembers every prompt it read."""

    prompts: list[str] = Field(default_factory=list)

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.prompts.append("\n".join(str(m.text) for m in messages))
        return super()._generate(messages, *args, **kwargs)


def agent_script(body: dict[str, Any]) -> dict[str, Any]:
    """The agent's cloud model: hands every placeholder it was shown to the tool."""
    messages = body["messages"]
    if messages[-1]["role"] == "tool":
        return {"role": "assistant", "content": "Your note is ready."}
    shown = list(dict.fromkeys(PLACEHOLDER.findall(json.dumps(messages))))
    instruction = " / ".join([*shown, "Write a short thank-you note"])
    arguments = json.dumps({"instruction": instruction})
    call = {"id": f"call_{len(messages)}", "type": "function",
            "function": {"name": "write_privately", "arguments": arguments}}  # fmt: skip
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def memory_store() -> MemoryStore:
    return MemoryStore({USER: [Document(STORED, metadata={"kind": "private_detail"})]})


def writer_for(
    sketch: RecordingServer, store: Any, audit: AuditLog | None = None, **kwargs: Any
) -> ChatCoGenesis:
    local = RecordingLocal(messages=iter([AIMessage(NOTE)] * 20))
    guard = EgressGuard(base_url=sketch.base_url, model="fake", max_retries=0, audit_log=audit)
    return ChatCoGenesis(store=store, local_model=local, egress_guard=guard, **kwargs)


def agent_model(cloud: RecordingServer) -> ChatOpenAI:
    return ChatOpenAI(base_url=cloud.base_url, api_key="x", model="agent-model")  # type: ignore[arg-type]


def privacy_for(store: Any, audit: AuditLog | None = None, **kwargs: Any) -> PrivacyMiddleware:
    return PrivacyMiddleware(
        store=store, user_id=USER, detectors=[PhraseDetector(RENT)], audit_log=audit, **kwargs
    )


def leaked(*servers: RecordingServer) -> list[str]:
    wire = b"\n".join(server.all_bytes() for server in servers).decode()
    # JSON escapes the apostrophe of "Parkinson's" differently per client: check words
    return [secret for secret in SECRETS if secret.casefold() in wire.casefold()]


def two_turns(agent: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    thread: RunnableConfig = {"configurable": {"thread_id": "maya"}}
    first = agent.invoke({"messages": [HumanMessage(USER_TURN)]}, thread)
    second = agent.invoke({"messages": [HumanMessage("Thanks! One more, the same way.")]}, thread)
    return first, second


def detectors_of(entry: AuditEntry) -> set[str]:
    return {hit["detector"] for hit in entry.hits}


# --- restored values never leave again ---------------------------------------------------


def test_control_a_tool_that_is_not_given_the_restored_values_sends_them() -> None:
    """The application's own tool around ChatCoGenesis, without ``restored_values``: the
    middleware still guards the agent's model, but the tool's sketch request carries
    what the middleware restored on the device."""
    store = memory_store()
    with RecordingServer() as agent_cloud, RecordingServer(reply="1. Thanks") as sketch:
        writer = writer_for(sketch, store)
        privacy = privacy_for(store)

        @tool
        def write_privately(instruction: str) -> str:
            """Write a personalized text for the user."""
            return str(writer.invoke(instruction, user_id=USER).content)

        agent_cloud.chat_for = agent_script
        agent = create_agent(
            agent_model(agent_cloud),
            tools=[write_privately],
            middleware=[privacy],
            checkpointer=InMemorySaver(),
        )
        two_turns(agent)
    assert leaked(agent_cloud) == []  # the agent's own model calls are guarded
    assert {"Parkinson", "behind on rent"} <= set(leaked(sketch))  # the hole, when open


def test_restored_values_never_leave_through_the_tool_or_the_next_turn(tmp_path: Path) -> None:
    store = memory_store()
    audit = AuditLog(tmp_path / "audit.sqlite3")
    with RecordingServer() as agent_cloud, RecordingServer(reply="1. Thanks") as sketch:
        writer = writer_for(sketch, store, audit)
        privacy = privacy_for(store, audit)
        agent_cloud.chat_for = agent_script
        agent = create_agent(
            agent_model(agent_cloud),
            tools=[cogenesis_tool(writer, privacy=privacy, return_direct=False)],
            middleware=[privacy],
            checkpointer=InMemorySaver(),
        )
        first, second = two_turns(agent)
        sketch_bodies = [request["body"] for request in sketch.chat_requests]
    assert leaked(agent_cloud, sketch) == []
    # the tool ran twice (once a turn), each time with the real values, on the device
    assert len(sketch_bodies) == 2
    calls = [m for m in second["messages"] if isinstance(m, AIMessage) and m.tool_calls]
    assert len(calls) == 2 and all(HEALTH in c.tool_calls[0]["args"]["instruction"] for c in calls)
    local_prompts = writer.local_model.prompts  # type: ignore[attr-defined]
    assert len(local_prompts) >= 2 and all(HEALTH in prompt for prompt in local_prompts)
    # ...and its sketch request carried them as typed placeholders
    for body in sketch_bodies:
        sent = json.dumps(body["messages"])
        assert "[HEALTH_" in sent and "[MONEY_" in sent
    # every audit row names what was caught; none that redacted says "hits: none"
    entries = audit.entries()
    sketch_rows = [e for e in entries if e.destination == sketch.base_url]
    agent_rows = [e for e in entries if e.destination == "agent-model"]
    assert [e.decision for e in sketch_rows] == ["redacted", "redacted"]
    assert all({"restored:HEALTH", "restored:MONEY"} <= detectors_of(e) for e in sketch_rows)
    assert agent_rows and all(e.decision == "redacted" and e.hits for e in agent_rows)
    # the second turn's history holds the restored tool-call arguments: found as restored
    assert any(d.startswith("restored:") for e in agent_rows[2:] for d in detectors_of(e))
    assert all(e.payload and not [s for s in SECRETS if s in e.payload] for e in entries)
    assert audit.verify().ok
    assert first["messages"][-1].text == "Your note is ready."


def test_a_hand_made_tool_is_protected_when_given_the_restored_values() -> None:
    store = memory_store()
    with RecordingServer() as agent_cloud, RecordingServer(reply="1. Thanks") as sketch:
        privacy = privacy_for(store)
        writer = writer_for(sketch, store, restored_values=privacy.restored_values)

        @tool
        def write_privately(instruction: str) -> str:
            """Write a personalized text for the user."""
            return str(writer.invoke(instruction, user_id=USER).content)

        agent_cloud.chat_for = agent_script
        agent = create_agent(
            agent_model(agent_cloud),
            tools=[write_privately],
            middleware=[privacy],
            checkpointer=InMemorySaver(),
        )
        two_turns(agent)
        assert len(sketch.chat_requests) == 2
    assert leaked(agent_cloud, sketch) == []


def test_a_cogenesis_tool_not_wired_to_the_middleware_is_refused_before_anything_is_sent() -> None:
    store = memory_store()
    with RecordingServer() as agent_cloud, RecordingServer(reply="1. Thanks") as sketch:
        writer = writer_for(sketch, store)
        agent_cloud.chat_for = agent_script
        agent = create_agent(
            agent_model(agent_cloud),
            tools=[cogenesis_tool(writer, user_id=USER)],
            middleware=[privacy_for(store)],
        )
        with pytest.raises(ConfigurationError, match=r"cogenesis_tool\(writer, privacy="):
            agent.invoke({"messages": [HumanMessage(USER_TURN)]})
        assert agent_cloud.requests == [] and sketch.requests == []


# --- an unknown user is a typed error on every entry point -------------------------------


def check_unknown_user_message(error: UnknownUser) -> None:
    message = str(error)
    assert MISSPELLED in message and "cogenesis users list" in message
    assert USER not in message  # the known users are never listed
    assert not [secret for secret in SECRETS if secret in message]


def test_privacy_middleware_refuses_a_misspelled_user_id_at_construction() -> None:
    with pytest.raises(UnknownUser) as error:
        PrivacyMiddleware(store=memory_store(), user_id=MISSPELLED)
    check_unknown_user_message(error.value)
    assert "zero_knowledge=True" in str(error.value)  # the explicit opt-in, named
    with pytest.raises(ConfigurationError, match="user_id"):
        PrivacyMiddleware(store=memory_store())  # a store that would protect nothing


def test_privacy_middleware_refuses_a_user_erased_later_before_anything_is_sent() -> None:
    store = memory_store()
    privacy = PrivacyMiddleware(store=store, user_id=USER)
    del store.stored[USER]
    with RecordingServer() as agent_cloud:
        agent_cloud.chat_for = agent_script
        agent = create_agent(agent_model(agent_cloud), tools=[], middleware=[privacy])
        with pytest.raises(UnknownUser):
            agent.invoke({"messages": [HumanMessage(USER_TURN)]})
        assert agent_cloud.requests == []


def test_zero_knowledge_is_an_explicit_opt_in_with_entity_detection_only(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    privacy = PrivacyMiddleware(
        store=memory_store(), user_id="new-user", zero_knowledge=True, audit_log=audit
    )
    PrivacyMiddleware(store=memory_store(), zero_knowledge=True)  # no user at all: allowed
    with RecordingServer() as agent_cloud:
        agent_cloud.chat_for = lambda body: {"role": "assistant", "content": "Noted."}
        agent = create_agent(agent_model(agent_cloud), tools=[], middleware=[privacy])
        agent.invoke({"messages": [HumanMessage(f"I have {HEALTH}. Write a thank-you note.")]})
        assert len(agent_cloud.chat_requests) == 1
    assert "Parkinson" not in agent_cloud.all_bytes().decode()
    [entry] = audit.entries()
    assert entry.decision == "redacted" and "entity:HEALTH" in detectors_of(entry)
    assert entry.user_id == "new-user"


def test_every_other_entry_point_refuses_a_misspelled_user_id(tmp_path: Path) -> None:
    store = memory_store()
    with RecordingServer(reply="1. Thanks") as sketch:
        writer = writer_for(sketch, store)
        with pytest.raises(UnknownUser) as error:
            cogenesis_tool(writer, user_id=MISSPELLED)
        check_unknown_user_message(error.value)
        lenient = PrivacyMiddleware(store=store, user_id=MISSPELLED, zero_knowledge=True)
        with pytest.raises(UnknownUser):  # the writer needs the user's stored context
            cogenesis_tool(writer, privacy=lenient)
        with pytest.raises(UnknownUser):
            writer.invoke(
                "Write a thank-you note", config={"configurable": {"user_id": MISSPELLED}}
            )
        parts = Components(store=store, local_model=writer.local_model, egress_guard=None)
        with pytest.raises(UnknownUser):
            run_sketch_graph(parts, {"user_id": MISSPELLED, "instruction": "Write a note"})
        assert sketch.requests == []


def test_cli_write_refuses_a_misspelled_user_id(tmp_path: Path) -> None:
    home = tmp_path / "home"
    PrivateStore(home / "store", embeddings=HashEmbeddings()).add_documents(
        USER, [Document(STORED)]
    )
    done = run_in_process(
        "write", "--user", MISSPELLED, "--mode", "local", "Write a note", env=cli_environment(home)
    )
    assert done.returncode == 2
    assert f"No private context is stored for user {MISSPELLED!r}" in done.stderr
    assert "1,840" not in done.stderr + done.stdout


# --- against the real Chroma store ---------------------------------------------------------


def test_real_chroma_store_unknown_user_on_the_middleware_and_fusion(tmp_path: Path) -> None:
    store = PrivateStore(tmp_path / "store", embeddings=HashEmbeddings())
    store.add_documents(USER, [Document(STORED, metadata={"kind": "private_detail"})])
    with pytest.raises(UnknownUser) as error:
        PrivacyMiddleware(store=store, user_id=MISSPELLED)
    check_unknown_user_message(error.value)
    # the right id: the store's facts are found in what the agent would send
    privacy = PrivacyMiddleware(store=store, user_id=USER)
    assert {hit.detector for hit in privacy.scanner().scan(f"Remind me: {STORED}.")}
    with RecordingServer() as cloud:
        fusion = ChatCoGenesisFusion(
            local_scorer=ScriptScorer([" Dear", " neighbour"]),
            egress_guard=EgressGuard(base_url=cloud.base_url, model="fake", audit_log=None),
            retriever=PrivateContextRetriever(store=store, user_id=MISSPELLED),
            max_tokens=4,
        )
        with pytest.raises(UnknownUser):
            fusion.invoke("Write a thank-you note.")
        assert cloud.requests == []


# --- audit rows name what was caught ---------------------------------------------------


def test_a_payload_redacted_before_the_guard_is_not_audited_as_hits_none(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    with RecordingServer(reply="1. Hello") as cloud:
        guard = EgressGuard(base_url=cloud.base_url, model="fake", audit_log=audit)
        reply = guard.chat(
            [HumanMessage("Write a birthday card for [PERSON_3f9a] from [PLACE_0c41].")],
            purpose="sketch",
            max_tokens=8,
            scanner=PrivacyScanner(detect_entities=False),
        )
    [entry] = audit.entries()
    assert entry.decision == "sent"
    assert detectors_of(entry) == {"placeholder:PERSON", "placeholder:PLACE"}
    assert {hit["detector"] for hit in reply.payload.detector_hits} == detectors_of(entry)


def test_a_restored_value_keeps_the_policy_of_its_type(tmp_path: Path) -> None:
    """``{"entity:HEALTH": "local_only"}`` keeps a restored health fact on the device
    too, in words no entity rule reads as health ("have ... / Write ...")."""
    audit = AuditLog(tmp_path / "audit.sqlite3")
    restored = RestoredValues()
    restored.remember({"[HEALTH_5aee]": f"have {HEALTH}"})
    with RecordingServer(reply="1. Hello") as cloud:
        guard = EgressGuard(base_url=cloud.base_url, model="fake", audit_log=audit)
        with pytest.raises(LocalOnly):
            guard.with_detectors(restored.detectors()).chat(
                [HumanMessage(f"have {HEALTH} / Write a short thank-you note")],
                purpose="sketch",
                max_tokens=8,
                policy={"entity:HEALTH": "local_only", "*": "redact"},
            )
        assert cloud.requests == []
        guard.chat([HumanMessage("Write a short thank-you note")], purpose="sketch", max_tokens=8)
        assert guard.extra_detectors == ()  # the view left the guard as it was
    kept, sent = audit.entries()
    assert kept.decision == "local_only" and "restored:HEALTH" in detectors_of(kept)
    assert sent.decision == "sent" and sent.hits == []
