"""200 generated users with canaries and PII, every mode, every cloud fault.

The cloud is a real HTTP server on 127.0.0.1 that records every request body; the
assertions are on those bytes. The unsafe baseline runs against the same recorder
and must show its leaks, which proves the recorder can see one.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from langchain_cogenesis.errors import CoGenesisError
from langchain_cogenesis.evaluation import LeakCase, generate_leak_cases, leaked
from langchain_cogenesis.graphs import Components, run_sketch_graph
from langchain_cogenesis.privacy import AuditLog, EgressGuard
from langchain_cogenesis.retrievers import user_context_documents
from tests.cloud_servers import RecordingServer
from tests.fusion_fakes import ScriptScorer, leaking_script
from tests.unit.test_sketch_graph import MemoryStore

pytestmark = pytest.mark.integration

CASES = generate_leak_cases(200, seed=7)
MODES = ("sketch", "cloud-public", "local", "split", "fusion", "fusion-first-k")
BEHAVIOURS = ("ok", "ok", "error500", "garbage", "slow", "flaky", "ok")


def components_for(
    case: LeakCase, server: RecordingServer, audit: AuditLog | None, **kwargs: Any
) -> Components:
    store = MemoryStore({case.user.user_id: user_context_documents(case.user)})
    slow = server.behaviour == "slow"
    guard = EgressGuard(
        base_url=server.base_url,
        model="fake",
        timeout=0.2 if slow else 10,
        max_retries=0 if slow else 1,
        audit_log=audit,
    )
    local_model = GenericFakeChatModel(messages=iter([AIMessage("A generic draft.")] * 4))
    # for fusion: a local model that writes every secret into its answer
    local_scorer = ScriptScorer(leaking_script(case.secrets))
    server.tokenizer = lambda text: local_scorer.tokenize(text, add_bos=True)
    kwargs.setdefault("local_scorer", local_scorer)
    return Components(
        store=store,
        local_model=local_model,
        egress_guard=guard,
        k=5,
        canaries=(case.canary,),
        **kwargs,
    )  # type: ignore[arg-type]


def request_for(case: LeakCase, mode: str) -> Any:
    if mode.startswith("fusion"):
        mode = "fusion"
    if mode == "split":
        return {
            "user_id": case.user.user_id,
            "instruction": f"{case.public_instruction}: {case.private_instruction}",
            "mode": "sketch",
        }
    return {
        "user_id": case.user.user_id,
        "public_instruction": case.public_instruction,
        "private_instruction": case.private_instruction,
        "mode": mode,
    }


def test_no_canary_or_pii_reaches_the_cloud_in_any_mode_or_fault(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    leaks: dict[str, list[str]] = {}
    outcomes: Counter[str] = Counter()
    requests_seen = 0
    for number, case in enumerate(CASES):
        # the shift makes every mode meet sloppy cases (every third) and every fault
        mode = MODES[(number + number // len(MODES)) % len(MODES)]
        behaviour = BEHAVIOURS[number % len(BEHAVIOURS)]
        with RecordingServer(behaviour, reply="1. Opening 2. Body 3. Close") as server:
            server.delay = 0.6
            try:
                first_k = 4 if mode == "fusion-first-k" else None
                result = run_sketch_graph(
                    components_for(case, server, audit, first_k=first_k), request_for(case, mode)
                )
                payloads = result.cloud_payloads
                outcomes[f"{mode}:ok:{payloads[0].decision if payloads else 'local'}"] += 1
            except CoGenesisError as error:
                outcomes[f"{mode}:{type(error).__name__}"] += 1
                assert not leaked(case, str(error)), error  # errors carry no private data
            wire = server.all_bytes().decode("utf-8")
            requests_seen += len(server.requests)
        found = leaked(case, wire)
        if found:
            leaks[case.case_id] = found
    assert leaks == {}
    # the cases really exercised the cloud, redaction, and every fault
    assert requests_seen > 120
    assert any(key.endswith(":redacted") for key in outcomes)
    for error in ("CloudResponseError", "CloudUnavailable"):
        assert any(key.endswith(error) for key in outcomes), outcomes
    assert any(key.startswith("local:ok") for key in outcomes)
    assert any(key.startswith("fusion:ok") for key in outcomes)
    assert any(key.startswith("fusion-first-k:ok") for key in outcomes)
    # every attempt that reached the guard is in the audit log, and the chain holds
    assert len(audit.entries()) >= requests_seen // 2
    assert audit.verify().ok


def test_sloppy_public_instructions_are_redacted_not_sent() -> None:
    sloppy = [case for case in CASES if case.sloppy][:30]
    assert len(sloppy) == 30
    for case in sloppy:
        with RecordingServer(reply="1. Opening") as server:
            components = components_for(case, server, None)  # type: ignore[arg-type]
            result = run_sketch_graph(components, request_for(case, "sketch"))
            wire = server.all_bytes().decode("utf-8")
        assert leaked(case, wire) == []
        assert result.cloud_payloads[0].decision == "redacted", case.public_instruction
        assert "[PRIVATE_1]" in wire


def test_unsafe_baseline_leaks_every_case_to_the_same_recorder(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    leaking = 0
    for case in CASES[:50]:
        with RecordingServer(reply="A full answer") as server:
            components = components_for(case, server, audit, allow_private_egress=True)
            run_sketch_graph(components, request_for(case, "cloud-private"))
            wire = server.all_bytes().decode("utf-8")
        leaking += bool(leaked(case, wire))
    assert leaking == 50  # leak rate 100%: the recorder sees what the guard prevents
    assert {e.decision for e in audit.entries()} == {"sent_with_private_context"}
