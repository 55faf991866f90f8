"""One door acts on every decision: the same consequences on every path.

The guard, the agent middleware, both fusion paths (the graph's and
``ChatCoGenesisFusion``) and the auto router each used to act on a decision by hand,
and the copies drifted. Each test here puts one payload through two or more paths
and holds that they act alike: the same route for ``local_only``, the same audit row
for the same payload, the same restoration of a redacted fused answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage

from langchain_cogenesis.errors import LocalOnly, PrivacyViolation
from langchain_cogenesis.fusion import ChatCoGenesisFusion
from langchain_cogenesis.fusion.preparation import CLOUD_SKIPPED_LOCAL_ONLY
from langchain_cogenesis.graphs import PrivacyMiddleware, run_sketch_graph
from langchain_cogenesis.privacy import AuditLog, EgressGuard, PrivacyScanner
from langchain_cogenesis.privacy.egress.decision import EgressDecision
from langchain_cogenesis.privacy.egress.door import Door
from tests.cloud_servers import RecordingServer
from tests.fusion_fakes import ScriptScorer, echo_script
from tests.unit.graphs.test_fusion_graph import SCRIPT, fusion_components
from tests.unit.graphs.test_sketch_graph import REQUEST

EMAIL = "maya@example.org"
LEAKY = f"Write a welcome note and copy {EMAIL}"


def fusion_model(server: RecordingServer, policy: str, **kwargs: object) -> ChatCoGenesisFusion:
    local = ScriptScorer(SCRIPT, extra=[" the"])
    server.tokenizer = lambda text: local.tokenize(text, add_bos=True)
    server.logprobs_for = echo_script(local)
    guard = EgressGuard(
        base_url=server.base_url, model="fake", max_retries=0, audit_log=None, policy=policy
    )
    return ChatCoGenesisFusion(local_scorer=local, egress_guard=guard, **kwargs)


def test_local_only_decodes_locally_on_both_fusion_paths() -> None:
    """It used to raise in the chat model and drop the cloud in the graph."""
    with RecordingServer() as server:
        reply = fusion_model(server, "local_only").invoke(LEAKY)
        chat_requests = list(server.requests)
    with RecordingServer() as server:
        parts = fusion_components(server, policy="local_only")
        result = run_sketch_graph(parts, {**REQUEST, "public_instruction": LEAKY, "mode": "fusion"})
        graph_requests = list(server.requests)
    assert chat_requests == [] and graph_requests == []  # not even a tokenizer probe
    assert reply.response_metadata["cloud_skipped"] == CLOUD_SKIPPED_LOCAL_ONLY
    assert result.cloud_skipped == CLOUD_SKIPPED_LOCAL_ONLY
    assert reply.response_metadata["cloud_requests"] == 0 and reply.content
    assert result.fusion is not None and result.fusion["cloud_requests"] == 0


def test_block_raises_on_both_fusion_paths() -> None:
    with RecordingServer() as server:
        with pytest.raises(PrivacyViolation) as chat_error:
            fusion_model(server, "block").invoke(LEAKY)
        parts = fusion_components(server, policy="block")
        with pytest.raises(PrivacyViolation) as graph_error:
            run_sketch_graph(parts, {**REQUEST, "public_instruction": LEAKY, "mode": "fusion"})
        assert server.requests == []
    assert not isinstance(chat_error.value, LocalOnly)
    assert not isinstance(graph_error.value, LocalOnly)
    assert EMAIL not in str(chat_error.value) + str(graph_error.value)


def test_a_redacted_fused_answer_is_restored_by_the_chat_model_as_by_the_graph() -> None:
    """The chat model used to send the redacted messages and return the placeholders."""
    with RecordingServer() as server:
        local = ScriptScorer([" Dear", " neighbors,"], extra=[" the"])
        server.tokenizer = lambda text: local.tokenize(text, add_bos=True)
        server.logprobs_for = echo_script(local)
        guard = EgressGuard(base_url=server.base_url, model="fake", max_retries=0, audit_log=None)
        model = ChatCoGenesisFusion(local_scorer=local, egress_guard=guard, max_tokens=3)
        # the scripted local model writes the placeholder the redaction made
        public = model.door().decide(
            [("human", LEAKY)], PrivacyScanner(), purpose="probe-of-the-test"
        )
        (placeholder,) = public.redactions
        local.words.append(" " + placeholder)
        local.index[" " + placeholder] = len(local.words) - 1
        local.script.append(local.index[" " + placeholder])
        reply = model.invoke(LEAKY)
        streamed = "".join(str(chunk.content) for chunk in model.stream(LEAKY))
        wire = server.all_bytes().decode()
    assert EMAIL not in wire and placeholder in wire
    assert reply.content == f" Dear neighbors, {EMAIL}" == streamed


def test_the_guard_and_the_middleware_audit_one_payload_alike(tmp_path: Path) -> None:
    """Same payload, same policy: the same decision and the same hits in the row
    (the middleware used to word its decisions and its hits its own way)."""
    audit = AuditLog(tmp_path / "audit.sqlite3")
    with RecordingServer(reply="ok") as server:
        guard = EgressGuard(base_url=server.base_url, model="fake", max_retries=0, audit_log=audit)
        guard.chat([HumanMessage(LEAKY)], purpose="same", max_tokens=4, user_id="maya")
    local = GenericFakeChatModel(messages=iter([AIMessage("kept")]))
    middleware = PrivacyMiddleware(audit_log=audit, zero_knowledge=True, local_model=local)
    middleware.screen([("human", LEAKY)], purpose="same")
    by_guard, by_middleware = audit.entries()
    assert by_guard.decision == by_middleware.decision == "redacted"
    assert middleware.decisions == ["redacted"]
    assert by_guard.hits == by_middleware.hits and by_guard.hits
    assert by_guard.payload == by_middleware.payload and EMAIL not in (by_guard.payload or "")


def test_local_only_is_one_word_on_every_path(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    local = GenericFakeChatModel(messages=iter([AIMessage("kept on the device")]))
    middleware = PrivacyMiddleware(
        audit_log=audit, zero_knowledge=True, local_model=local, policy="local_only"
    )
    decision = middleware.screen([("human", LEAKY)])
    assert decision.route == "local" and middleware.local_for(decision) is local
    with RecordingServer() as server:
        guard = EgressGuard(
            base_url=server.base_url, audit_log=audit, policy="local_only", max_retries=0
        )
        with pytest.raises(LocalOnly):  # the guard has no local model: the caller goes local
            guard.chat([HumanMessage(LEAKY)], purpose="sketch", max_tokens=4)
        assert server.requests == []
    assert [entry.decision for entry in audit.entries()] == ["local_only", "local_only"]
    assert middleware.decisions == ["local_only"]


def test_the_door_records_refusals_once_and_sendings_per_attempt(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    door = Door("https://cloud.example/v1", audit, "block")
    with pytest.raises(PrivacyViolation):
        door.decide([("human", LEAKY)], PrivacyScanner(), purpose="refused", user_id="u")
    clean = door.decide([("human", "Write a welcome note")], PrivacyScanner(), purpose="ok")
    assert audit.entries()[-1].purpose == "refused"  # a clean decision is not a sending
    door.send(clean, user_id="u", purpose="ok", attempt=1)
    door.send(clean, user_id="u", purpose="ok", attempt=2)
    rows = audit.entries()
    assert [(row.purpose, row.decision, row.attempt) for row in rows] == [
        ("refused", "blocked", 1),
        ("ok", "sent", 1),
        ("ok", "sent", 2),
    ]
    assert rows[0].payload is None and rows[1].payload == "<human>\nWrite a welcome note"
    refused = EgressDecision("blocked", [("human", LEAKY)])
    with pytest.raises(AssertionError):
        door.send(refused, user_id="u", purpose="never")
