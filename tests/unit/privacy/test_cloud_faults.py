"""Cloud faults injected by a misbehaving OpenAI-compatible server on 127.0.0.1.

Refused connections, timeouts, 429 with Retry-After, 500s, malformed JSON, answers
cut mid-way and answers without log-probabilities: bounded retries that resend the
same bytes, every attempt audited, then the local model writes alone (``degraded``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from langchain_cogenesis.errors import CloudError, CloudResponseError, CloudUnavailable
from langchain_cogenesis.fusion import MeanCombiner, fused_generate
from langchain_cogenesis.graphs import run_sketch_graph
from langchain_cogenesis.models.standin import free_port
from langchain_cogenesis.privacy import AuditLog, EgressGuard
from tests.cloud_servers import RecordingServer
from tests.fusion_fakes import ScriptScorer, echo_script
from tests.unit.graphs.test_fusion_graph import SCRIPT, fusion_components
from tests.unit.graphs.test_sketch_graph import REQUEST, SECRET, make_components

TRANSIENT = ["error500", "rate-limit", "garbage", "cut", "slow"]


def guard_for(url: str, tmp_path: Path, **kwargs: Any) -> EgressGuard:
    options: dict[str, Any] = {"timeout": 0.5, "backoff": 0.01, "max_retries": 2, **kwargs}
    return EgressGuard(
        base_url=url, model="fake", audit_log=AuditLog(tmp_path / "audit.sqlite3"), **options
    )


def sketch_request(guard: EgressGuard) -> str:
    reply = guard.chat([HumanMessage("Outline a harvest toast")], purpose="sketch", max_tokens=32)
    return reply.text


@pytest.mark.parametrize("fault", TRANSIENT)
def test_a_transient_fault_is_retried_with_the_same_bytes(fault: str, tmp_path: Path) -> None:
    with RecordingServer(fault, reply="1. Open 2. Close") as server:
        server.faults, server.delay = 1, 1.0
        guard = guard_for(server.base_url, tmp_path)
        assert sketch_request(guard).strip() == "1. Open 2. Close"
    assert len(server.raw_bodies) == 2
    assert server.raw_bodies[0] == server.raw_bodies[1]  # a retry never sends more
    entries = guard.audit_log.entries()  # type: ignore[union-attr]
    assert [entry.attempt for entry in entries] == [1, 2]
    assert entries[0].payload_sha256 == entries[1].payload_sha256
    assert guard.history[-1].attempts == 2
    assert guard.audit_log.verify().ok  # type: ignore[union-attr]


@pytest.mark.parametrize("fault", TRANSIENT)
def test_a_lasting_fault_fails_typed_after_bounded_attempts(fault: str, tmp_path: Path) -> None:
    with RecordingServer(fault) as server:
        server.delay = 1.0
        guard = guard_for(server.base_url, tmp_path)
        with pytest.raises(CloudError, match="gave up after 3 attempts") as raised:
            sketch_request(guard)
    assert raised.value.retryable is False
    assert len(server.raw_bodies) == 3 and len(set(server.raw_bodies)) == 1
    assert [e.attempt for e in guard.audit_log.entries()] == [1, 2, 3]  # type: ignore[union-attr]


def test_a_refused_connection_is_retried_then_reported(tmp_path: Path) -> None:
    guard = guard_for(f"http://127.0.0.1:{free_port()}/v1", tmp_path)
    with pytest.raises(CloudUnavailable, match="Cannot reach"):
        sketch_request(guard)
    assert [e.attempt for e in guard.audit_log.entries()] == [1, 2, 3]  # type: ignore[union-attr]


def test_retry_after_is_honoured(tmp_path: Path) -> None:
    with RecordingServer("rate-limit", reply="1. Open") as server:
        server.faults, server.retry_after = 1, "1"
        started = time.monotonic()
        sketch_request(guard_for(server.base_url, tmp_path))
        waited = time.monotonic() - started
    assert waited >= 1.0
    assert len(server.raw_bodies) == 2


def test_a_retry_after_beyond_the_limit_is_not_waited_for(tmp_path: Path) -> None:
    with RecordingServer("rate-limit") as server:
        server.retry_after = "3600"
        guard = guard_for(server.base_url, tmp_path, max_retry_after=30)
        started = time.monotonic()
        with pytest.raises(CloudResponseError, match="asked to wait 3600 s") as raised:
            sketch_request(guard)
        assert time.monotonic() - started < 5
    assert raised.value.retry_after == 3600
    assert len(server.raw_bodies) == 1


def test_client_errors_are_not_retried(tmp_path: Path) -> None:
    with RecordingServer("unauthorized") as server:
        guard = guard_for(server.base_url, tmp_path)
        with pytest.raises(CloudResponseError, match="HTTP 401") as raised:
            sketch_request(guard)
    assert raised.value.retryable is False
    assert len(server.raw_bodies) == 1


def test_completions_are_retried_like_chat(tmp_path: Path) -> None:
    with RecordingServer("error500") as server:
        server.faults = 2
        guard = guard_for(server.base_url, tmp_path)
        tops = guard.next_token_logprobs("Dear neighbors", top_k=3)
    assert tops == {" the": -2.3}
    assert len(server.raw_bodies) == 3 and len(set(server.raw_bodies)) == 1


# -- degradation in the graphs ---------------------------------------------------------


@pytest.mark.parametrize("fault", ["error500", "rate-limit", "garbage", "cut", "slow"])
def test_the_sketch_graph_degrades_to_local_writing(fault: str, tmp_path: Path) -> None:
    with RecordingServer(fault) as server:
        server.delay = 1.0
        components = make_components(
            server, answer="Dear neighbors, welcome.", degrade_on_cloud_error=True
        )
        components.egress_guard = guard_for(server.base_url, tmp_path)
        result = run_sketch_graph(components, {**REQUEST, "mode": "sketch"})
    assert result.answer == "Dear neighbors, welcome."
    assert result.degraded and "the cloud failed during sketch" in result.degraded_reason
    assert result.sketch is None
    assert SECRET not in result.degraded_reason and "Halvorsen" not in result.degraded_reason
    assert len(server.raw_bodies) == 3
    assert all(b"Halvorsen" not in body and b"1,840" not in body for body in server.raw_bodies)


def test_a_refused_connection_degrades_too(tmp_path: Path) -> None:
    components = make_components(None, degrade_on_cloud_error=True)
    components.egress_guard = guard_for(f"http://127.0.0.1:{free_port()}/v1", tmp_path)
    result = run_sketch_graph(components, {**REQUEST, "mode": "sketch"})
    assert result.degraded and "Cannot reach" in result.degraded_reason
    assert result.answer == "Dear neighbors, welcome."


def test_a_failing_cloud_is_an_error_unless_degrading_is_asked_for(tmp_path: Path) -> None:
    with RecordingServer("error500") as server:
        components = make_components(server)  # the default: never hidden
        with pytest.raises(CloudResponseError, match="HTTP 500"):
            run_sketch_graph(components, {**REQUEST, "mode": "sketch"})
    with RecordingServer("error500") as server:
        with pytest.raises(CloudResponseError, match="HTTP 500"):
            make_chat(server).invoke("Write a welcome speech for a harvest festival")
        reply = make_chat(server, degrade_on_cloud_error=True).invoke(
            "Write a welcome speech for a harvest festival"
        )
    assert reply.response_metadata["degraded"] is True


def make_chat(server: RecordingServer, **kwargs: Any) -> Any:
    from langchain_cogenesis.graphs import ChatCoGenesis

    parts = make_components(server)  # its guard sends once (max_retries=0)
    return ChatCoGenesis(store=parts.store, local_model=parts.local_model,
                         egress_guard=parts.egress_guard, user_id="maya", **kwargs)  # fmt: skip


def test_a_healthy_run_is_not_degraded() -> None:
    with RecordingServer(reply="1. Welcome") as server:
        result = run_sketch_graph(make_components(server), {**REQUEST, "mode": "sketch"})
    assert not result.degraded and result.degraded_reason == ""


def test_fusion_finishes_locally_when_the_cloud_fails_mid_answer(tmp_path: Path) -> None:
    with RecordingServer() as server:
        components = fusion_components(server)
        components.degrade_on_cloud_error = True
        components.egress_guard = guard_for(server.base_url, tmp_path, max_retries=1)
        healthy = 3

        def fail_after_healthy(prompt: str, echo: bool, k: int) -> Any:
            if len([r for r in server.requests if "prompt" in r["body"]]) >= healthy:
                server.behaviour = "error500"  # from the next request on
            return echo_script(components.local_scorer)(prompt, echo, k)

        server.logprobs_for = fail_after_healthy
        result = run_sketch_graph(components, {**REQUEST, "mode": "fusion"})
    assert result.answer == " ".join(word.strip() for word in SCRIPT)
    assert result.degraded and "after 3 fused token(s)" in result.degraded_reason
    assert result.fusion is not None and result.fusion["cloud_tokens"] == 3
    assert "HTTP 500" in result.fusion["cloud_error"]


def test_the_router_writes_locally_when_the_cloud_is_down(tmp_path: Path) -> None:
    with RecordingServer("error500") as server:
        components = fusion_components(server)
        components.degrade_on_cloud_error = True
        components.egress_guard = guard_for(server.base_url, tmp_path, max_retries=1)
        result = run_sketch_graph(components, {**REQUEST, "mode": "fusion"})
    assert result.degraded
    assert result.answer  # written on the device


def test_missing_logprobs_mid_answer_end_the_clouds_part() -> None:
    local = ScriptScorer(SCRIPT)
    answers = iter([True, True, False])

    class Flaky:
        name = "cloud"

        def vocab_size(self) -> int:
            return local.vocab_size()

        def tokenize(self, text: str, *, add_bos: bool = False) -> list[int]:
            return local.tokenize(text, add_bos=add_bos)

        def detokenize(self, ids: Any) -> str:
            return local.detokenize(ids)

        def next_top_k(self, ids: Any, k: int) -> Any:
            from langchain_cogenesis.errors import CloudLogprobsUnavailable

            if not next(answers, False):
                raise CloudLogprobsUnavailable("no log-probabilities in this answer")
            return local.next_top_k(ids, k)

    prompt = local.tokenize("Write <start_of_turn>model", add_bos=True)
    result = fused_generate(
        local, Flaky(), prompt, prompt, MeanCombiner(), max_tokens=20, stop_ids=[3]
    )
    assert result.cloud_tokens == 2
    assert "CloudLogprobsUnavailable" in result.cloud_error
    assert result.text == "".join(SCRIPT)
