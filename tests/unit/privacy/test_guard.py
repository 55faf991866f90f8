"""The egress guard against scripted OpenAI-compatible servers on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from langchain_cogenesis.errors import CloudResponseError, CloudUnavailable, PrivacyViolation
from langchain_cogenesis.models.standin import free_port
from langchain_cogenesis.privacy import EgressGuard, PrivacyScanner
from langchain_cogenesis.privacy.egress.gate import find_private_overlap
from tests.cloud_servers import RecordingServer

PRIVATE = "Maya owes 1,840 dollars on the garden's shared credit card after the spring repair."


def test_overlap_finds_private_spans() -> None:
    payload = "Please write: maya owes 1,840 dollars on the garden's shared credit card soon"
    hits = find_private_overlap(payload, [PRIVATE])
    assert "840" in hits and any(len(hit.split()) == 5 for hit in hits)
    assert find_private_overlap("Write a toast for a garden party", [PRIVATE]) == []
    assert find_private_overlap("ask Dr. Halvorsen", ["Call Halvorsen"]) == ["Halvorsen"]


def test_guard_sends_records_and_returns_the_reply() -> None:
    with RecordingServer(reply="1. Open 2. Close") as server:
        guard = EgressGuard(base_url=server.base_url, model="fake", max_retries=0, audit_log=None)
        messages = [SystemMessage("Be brief."), HumanMessage("Outline a toast.")]
        text, payload, _ = guard.chat(messages, purpose="sketch", max_tokens=50)
    assert text.strip() == "1. Open 2. Close"
    assert payload.response == text
    assert payload.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "human", "content": "Outline a toast."},
    ]
    assert guard.history == [payload]
    sent = server.chat_requests[0]["body"]
    assert [m["content"] for m in sent["messages"]] == ["Be brief.", "Outline a toast."]
    assert sent["max_completion_tokens"] == 50
    assert "max_tokens" not in sent


def test_block_policy_refuses_private_payload_and_sends_nothing() -> None:
    with RecordingServer() as server:
        guard = EgressGuard(base_url=server.base_url, model="fake", max_retries=0, audit_log=None)
        leaky = [HumanMessage(f"Write a letter. Context: {PRIVATE}")]
        with pytest.raises(PrivacyViolation) as raised:
            guard.chat(
                leaky,
                purpose="sketch",
                max_tokens=20,
                scanner=PrivacyScanner([PRIVATE]),
                policy="block",
            )
    assert server.requests == []
    assert guard.history == []
    assert "1,840" not in str(raised.value)


def test_output_bound_holds_against_a_server_that_ignores_it() -> None:
    with RecordingServer("endless") as server:
        guard = EgressGuard(base_url=server.base_url, model="fake", max_retries=0, audit_log=None)
        text, _, _ = guard.chat([HumanMessage("Go on forever")], purpose="sketch", max_tokens=40)
        body = server.chat_requests[0]["body"]
    assert text.count("word") == 40
    # the connection was closed: the server stopped long before its 100,000 chunks
    assert server.chunks_sent < 5_000
    assert "max_tokens" not in body


def test_legacy_max_tokens_is_sent_on_request() -> None:
    with RecordingServer() as server:
        guard = EgressGuard(
            base_url=server.base_url, model="fake", send_max_tokens=True, audit_log=None
        )
        guard.chat([HumanMessage("hi")], purpose="sketch", max_tokens=33)
    body = json.loads(server.raw_bodies[0])
    assert body["max_tokens"] == 33 and body["max_completion_tokens"] == 33


def test_unreachable_cloud_is_a_typed_error() -> None:
    guard = EgressGuard(
        base_url=f"http://127.0.0.1:{free_port()}/v1", model="x", max_retries=0, audit_log=None
    )
    with pytest.raises(CloudUnavailable, match="Cannot reach"):
        guard.chat([HumanMessage("hi")], purpose="sketch", max_tokens=5)


@pytest.mark.parametrize("behaviour", ["error500", "garbage"])
def test_misbehaving_cloud_is_a_typed_error(behaviour: str) -> None:
    with RecordingServer(behaviour) as server:
        guard = EgressGuard(base_url=server.base_url, model="fake", max_retries=0, audit_log=None)
        with pytest.raises(CloudResponseError) as raised:
            guard.chat(
                [HumanMessage("hi")],
                purpose="sketch",
                max_tokens=5,
                scanner=PrivacyScanner([PRIVATE]),
            )
    assert "1,840" not in str(raised.value)


def test_missing_endpoint_configuration_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COGENESIS_CLOUD_BASE_URL", raising=False)
    with pytest.raises(CloudUnavailable, match="COGENESIS_CLOUD_BASE_URL"):
        EgressGuard()
