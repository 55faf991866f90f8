"""The auto router's rule and its sticky thread, with an in-memory store, a fake local
model and a recording cloud."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from langchain_cogenesis.graphs import Components, build_auto_graph, result_from_state
from langchain_cogenesis.graphs.auto import FIRST_PERSON, choose_route, route_rule
from langchain_cogenesis.privacy import AuditLog, EgressGuard
from langchain_cogenesis.privacy.detection.detectors import Hit
from langchain_cogenesis.privacy.egress.decision import KEEP_SENSITIVE_LOCAL
from tests.cloud_servers import RecordingServer
from tests.fusion_fakes import ScriptScorer
from tests.leak_harness import MemoryStore

STORED = "Maya chairs the Larkspur allotment committee and bakes rye bread for the volunteers"
PUBLIC = "Explain how ocean tides work"
HEALTH = "Write a note to my manager: I was diagnosed with type 1 diabetes and need Friday off"


def hit(detector: str) -> Hit:
    return Hit(0, 4, detector, "text")


# --- the rule ---------------------------------------------------------------------------


def test_no_signal_is_public_and_goes_to_the_cloud() -> None:
    choice = choose_route([], private_part=False, first_person=False)
    assert choice.route == "cloud" and "public-only" in choice.reason
    assert choice.thread_sensitive == ""


@pytest.mark.parametrize("detector", sorted(KEEP_SENSITIVE_LOCAL))
def test_each_sensitive_detector_keeps_the_request_local(detector: str) -> None:
    choice = choose_route(
        [hit("entity:PERSON"), hit(detector)], private_part=True, first_person=True
    )
    assert choice.route == "local"
    assert detector in choice.reason and choice.thread_sensitive == detector


@pytest.mark.parametrize(
    ("signals", "named"),
    [
        ({"private_part": True, "first_person": False}, "a private part"),
        ({"private_part": False, "first_person": True}, "a first-person reference"),
    ],
)
def test_private_part_or_first_person_needs_private_context(
    signals: dict[str, bool], named: str
) -> None:
    choice = choose_route([], **signals)
    assert choice.route == "sketch" and named in choice.reason


@pytest.mark.parametrize("detector", ["ngram", "rare_token", "pii:name", "canary", "entity:PERSON"])
def test_a_store_or_entity_hit_needs_private_context(detector: str) -> None:
    choice = choose_route([hit(detector)], private_part=False, first_person=False)
    assert choice.route == "sketch" and detector in choice.reason
    fused = choose_route([hit(detector)], private_part=False, first_person=False, fusion_ready=True)
    assert fused.route == "fusion"


def test_a_sensitive_thread_stays_local_until_released() -> None:
    sticky = choose_route(
        [], private_part=False, first_person=False, thread_sensitive="entity:HEALTH"
    )
    assert sticky.route == "local" and "release_thread=True" in sticky.reason
    assert sticky.thread_sensitive == "entity:HEALTH"
    released = choose_route(
        [], private_part=False, first_person=False, thread_sensitive="entity:HEALTH",
        release_thread=True,
    )  # fmt: skip
    assert released.route == "cloud" and "released" in released.reason
    assert released.thread_sensitive == ""
    # a release does not let a sensitive request out
    again = choose_route(
        [hit("entity:MONEY")], private_part=False, first_person=False,
        thread_sensitive="entity:HEALTH", release_thread=True,
    )  # fmt: skip
    assert again.route == "local" and again.thread_sensitive == "entity:MONEY"


def test_no_cloud_means_local_and_the_run_policy_changes_what_stays_local() -> None:
    offline = choose_route([], private_part=False, first_person=False, cloud_available=False)
    assert offline.route == "local"
    # keeping sensitive requests local is a policy rule: the run's policy lays the
    # detectors it names over it, in the guard's words
    strict_rule = route_rule({"entity:PERSON": "local_only", "*": "redact"})
    strict = choose_route(
        [hit("entity:PERSON")], private_part=False, first_person=False, rule=strict_rule
    )
    assert strict.route == "local" and strict.thread_sensitive == "entity:PERSON"
    lenient_rule = route_rule({"entity:MONEY": "redact"})
    lenient = choose_route(
        [hit("entity:MONEY")], private_part=False, first_person=False, rule=lenient_rule
    )
    assert lenient.route == "sketch"
    # a single policy (or "*") is for payloads: the sensitive rule stays
    for policy in ("redact", "block", {"*": "redact"}):
        assert route_rule(policy) == KEEP_SENSITIVE_LOCAL  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="policy must be one of"):
        route_rule({"entity:MONEY": "local"})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Write a toast for my sister's wedding", True),
        ("I need a cover letter", True),
        ("Help us plan our garden", True),
        ("Write a poem about the US constitution", False),
        ("Explain how tides work", False),
        ("Summarize Imagine by John Lennon", False),
    ],
)
def test_first_person_reference(text: str, first: bool) -> None:
    assert bool(FIRST_PERSON.search(text)) is first


# --- the graph --------------------------------------------------------------------------


def components(server: RecordingServer | None, audit: AuditLog | None, **kwargs: Any) -> Components:
    store = MemoryStore({"maya": [Document(STORED, metadata={"kind": "private_detail"})]})
    guard = (
        EgressGuard(base_url=server.base_url, model="fake", max_retries=0, audit_log=audit)
        if server
        else None
    )
    local = GenericFakeChatModel(messages=iter([AIMessage("A local answer.")] * 20))
    return Components(store=store, local_model=local, egress_guard=guard, **kwargs)  # type: ignore[arg-type]


def turn(graph: Any, parts: Components, thread: str, **request: Any) -> Any:
    config: Any = {"configurable": {"thread_id": thread}}
    state = graph.invoke(request, config=config, context=parts)
    return result_from_state(state)


def test_routes_and_audit_rows_over_a_thread(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    graph = build_auto_graph()
    with RecordingServer(reply="Tides follow the moon.") as server:
        parts = components(server, audit)
        public = turn(graph, parts, "t", user_id="maya", mode="auto", instruction=PUBLIC)
        assert public.route == "cloud" and public.answer == "Tides follow the moon."
        # the request reached the cloud as it is
        assert server.chat_requests[-1]["body"]["messages"][-1]["content"].endswith(PUBLIC)
        sent_before = len(server.raw_bodies)

        health = turn(graph, parts, "t", instruction=HEALTH)
        assert health.route == "local" and "entity:HEALTH" in health.route_reason
        assert health.answer == "A local answer." and health.cloud_payloads == []
        assert len(server.raw_bodies) == sent_before  # nothing of it left

        sticky = turn(graph, parts, "t", instruction=PUBLIC)
        assert sticky.route == "local" and "turned sensitive earlier" in sticky.route_reason
        assert len(server.raw_bodies) == sent_before

        released = turn(graph, parts, "t", instruction=PUBLIC, release_thread=True)
        assert released.route == "cloud" and "released" in released.route_reason
        assert len(server.raw_bodies) == sent_before + 1
        assert len(released.cloud_payloads) == 1  # this turn's, not the thread's

        # another thread of the same graph is not sensitive
        other = turn(graph, parts, "other", user_id="maya", mode="auto", instruction=PUBLIC)
        assert other.route == "cloud"

    wire = server.all_bytes().decode()
    assert "diabetes" not in wire and "Friday" not in wire
    routes = [e for e in audit.entries() if e.purpose.startswith("route:")]
    # the door records the turns kept local; a cloud route's payloads are audited
    # when sent (no routing row of their own, and one policy vocabulary)
    assert [(e.purpose.split(" ")[0], e.decision) for e in routes] == [
        ("route:local", "local_only"),
        ("route:local", "local_only"),
    ]
    assert "entity:HEALTH" in routes[0].purpose
    assert all(e.payload is None for e in routes)  # a decision row keeps no text
    sent = [e for e in audit.entries() if e.decision == "sent"]
    assert len(sent) == 3 and all(PUBLIC in (e.payload or "") for e in sent)
    assert audit.verify().ok


def test_private_context_goes_to_the_sketch_path_without_private_text() -> None:
    graph = build_auto_graph()
    with RecordingServer(reply="1. Thanks 2. Bread") as server:
        parts = components(server, None)
        result = turn(
            graph, parts, "s", user_id="maya", mode="auto",
            public_instruction="Write a thank-you note for the allotment volunteers",
            private_instruction="Maya bakes rye bread for them every Saturday",
        )  # fmt: skip
    assert result.route == "sketch" and "a private part" in result.route_reason
    assert result.sketch is not None and result.answer == "A local answer."
    wire = server.all_bytes().decode()
    assert "rye" not in wire and "Saturday" not in wire
    assert len(server.chat_requests) == 1


def test_a_store_reference_alone_needs_private_context() -> None:
    with RecordingServer() as server:
        result = turn(
            build_auto_graph(), components(server, None), "r", user_id="maya", mode="auto",
            public_instruction="Write a flyer for the Larkspur allotment committee",
        )  # fmt: skip
    assert result.route == "sketch"
    assert "rare_token" in result.route_reason or "ngram" in result.route_reason


def test_fusion_route_falls_back_to_sketch_on_a_tokenizer_mismatch() -> None:
    local = ScriptScorer([" Thanks", " all"])
    with RecordingServer(reply="1. Thanks") as server:
        server.tokenizer = lambda text: [7] * (len(text.split()) + 3)  # not the local one
        result = turn(
            build_auto_graph(), components(server, None, local_scorer=local), "f",
            user_id="maya", mode="auto", instruction="Write a thank-you note to my volunteers",
        )  # fmt: skip
    assert result.route == "fusion"
    assert "fell back to the sketch path" in result.cloud_skipped
    assert result.sketch is not None


def test_without_a_cloud_every_request_stays_local() -> None:
    result = turn(
        build_auto_graph(), components(None, None), "n", user_id="maya", mode="auto",
        instruction=PUBLIC,
    )  # fmt: skip
    assert result.route == "local" and "no cloud" in result.route_reason
    assert result.answer == "A local answer."


def test_a_new_turn_splits_its_own_instruction() -> None:
    graph = build_auto_graph()
    with RecordingServer(reply="Sure.") as server:
        parts = components(server, None)
        first = turn(
            graph, parts, "split", user_id="maya", mode="auto",
            public_instruction="Write a flyer", private_instruction="Maya bakes rye bread",
        )  # fmt: skip
        second = turn(graph, parts, "split", instruction=PUBLIC)
    assert first.instruction.private_instruction == "Maya bakes rye bread"
    assert second.instruction.public_instruction == PUBLIC
    assert second.instruction.private_instruction == ""
    assert second.route == "cloud" and second.sketch is None and second.context_used == []


def test_the_sticky_mark_survives_a_durable_checkpointer(tmp_path: Path) -> None:
    from langchain_cogenesis.graphs.checkpointers import sqlite_checkpointer

    path = tmp_path / "threads.sqlite3"
    with RecordingServer(reply="Ok.") as server:
        parts = components(server, None)
        turn(build_auto_graph(sqlite_checkpointer(path)), parts, "d", user_id="maya",
             mode="auto", instruction=HEALTH)  # fmt: skip
        # a new process would build a new graph on the same file
        later = turn(build_auto_graph(sqlite_checkpointer(path)), parts, "d", instruction=PUBLIC)
    assert later.route == "local" and "turned sensitive earlier" in later.route_reason
    assert server.raw_bodies == []


def test_chat_model_keeps_a_thread_local_with_a_checkpointer() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    from langchain_cogenesis.graphs import ChatCoGenesis

    with RecordingServer(reply="Tides follow the moon.") as server:
        parts = components(server, None)
        model = ChatCoGenesis(
            store=parts.store, local_model=parts.local_model, egress_guard=parts.egress_guard,
            mode="auto", checkpointer=InMemorySaver(), user_id="maya",
        )  # fmt: skip
        thread: Any = {"configurable": {"thread_id": "chat"}}
        health = model.invoke(HEALTH, config=thread)
        sticky = model.invoke(PUBLIC, config=thread)
        elsewhere = model.invoke(PUBLIC, config={"configurable": {"thread_id": "fresh"}})
        released = model.invoke(PUBLIC, config=thread, release_thread=True)
    assert health.response_metadata["route"] == "local"
    assert sticky.response_metadata["route"] == "local"
    assert "turned sensitive earlier" in sticky.response_metadata["route_reason"]
    assert elsewhere.response_metadata["route"] == "cloud"
    assert released.response_metadata["route"] == "cloud"
    assert released.content == "Tides follow the moon."
    assert "diabetes" not in server.all_bytes().decode()


def test_the_graph_runs_auto_whatever_mode_the_input_names() -> None:
    with RecordingServer(reply="Tides follow the moon.") as server:
        parts = components(server, None, allow_private_egress=True)
        result = turn(
            build_auto_graph(), parts, "m", user_id="maya", mode="cloud-private",
            public_instruction="Write a flyer", private_instruction="Maya bakes rye bread",
        )  # fmt: skip
    assert result.mode == "auto" and result.route == "sketch"
    assert "rye" not in server.all_bytes().decode()
