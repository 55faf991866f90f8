"""200 generated users with canaries and PII, every mode, every cloud fault.

The cloud is a real HTTP server on 127.0.0.1 that records every request body; the
assertions are on those bytes. The unsafe baseline runs against the same recorder
and must show its leaks, which proves the recorder can see one.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from langchain_cogenesis.errors import CoGenesisError
from langchain_cogenesis.evaluation import generate_leak_cases, leaked
from langchain_cogenesis.graphs import run_sketch_graph
from langchain_cogenesis.privacy import AuditLog
from tests.cloud_servers import RecordingServer
from tests.leak_harness import components_for, mode_and_fault, request_for

pytestmark = pytest.mark.integration

CASES = generate_leak_cases(200, seed=7)


def test_no_canary_or_pii_reaches_the_cloud_in_any_mode_or_fault(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    leaks: dict[str, list[str]] = {}
    outcomes: Counter[str] = Counter()
    requests_seen = 0
    for number, case in enumerate(CASES):
        mode, behaviour = mode_and_fault(number)
        with RecordingServer(behaviour, reply="1. Opening 2. Body 3. Close") as server:
            server.delay = 0.6
            try:
                first_k = 4 if mode == "fusion-first-k" else None
                draft = 4 if mode == "fusion-draft" else 0
                parts = components_for(case, server, audit, first_k=first_k, fusion_draft=draft)
                result = run_sketch_graph(parts, request_for(case, mode))
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
    assert any(key.startswith("fusion-draft:ok") for key in outcomes)
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
        assert re.search(r"\[[A-Z]+_[0-9a-f]{4,}\]", wire)  # a typed, keyed placeholder


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
