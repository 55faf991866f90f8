"""The auto router with real parts: Chroma, the llama.cpp local model, the stand-in cloud.

A recording proxy sits between the guard and the stand-in, so what reached the cloud
is read from the wire. One thread goes public, private, sensitive, then public again.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.errors import CloudResponseError
from langchain_cogenesis.graphs import (
    Components,
    build_auto_graph,
    result_from_state,
    run_sketch_graph,
)
from langchain_cogenesis.models import ChatLocalLlama, StandInCloud
from langchain_cogenesis.privacy import AuditLog, EgressGuard
from langchain_cogenesis.retrievers import PrivateStore
from langchain_cogenesis.schema import WritingResult
from tests.cloud_servers import RecordingServer

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]

PUBLIC = "Explain in two sentences how ocean tides work"
PRIVATE_PUBLIC_PART = "Write a welcome speech for a community garden's summer harvest festival"
PRIVATE_PART = "Maya thanks Mr. Halvorsen for the accessible raised beds"
HEALTH = (
    "Write a note to my manager: I was diagnosed with type 1 diabetes and need Friday off "
    "for an endocrinology appointment"
)


@pytest.fixture(scope="module")
def recorder(standin: StandInCloud) -> Iterator[RecordingServer]:
    with RecordingServer(upstream=standin.base_url) as server:
        yield server


@pytest.fixture(scope="module")
def parts(
    tmp_path_factory: pytest.TempPathFactory,
    demo_users: list[DatasetUser],
    recorder: RecordingServer,
    model_path: Path,
    standin: StandInCloud,
) -> Components:
    folder = tmp_path_factory.mktemp("auto-router")
    store = PrivateStore(folder / "store")
    store.add_user_context(demo_users[0].context)
    guard = EgressGuard(
        base_url=recorder.base_url,
        model=standin.model,
        send_max_tokens=True,
        audit_log=AuditLog(folder / "audit.sqlite3"),
    )
    return Components(
        store=store,
        local_model=ChatLocalLlama(model_path=model_path, max_tokens=6, seed=3),
        egress_guard=guard,
        k=1,
        sketch_max_tokens=8,
        answer_max_tokens=6,
    )


def turn(graph: Any, parts: Components, **request: Any) -> WritingResult:
    config: Any = {"configurable": {"thread_id": "conversation"}}
    return result_from_state(graph.invoke(request, config=config, context=parts))


def test_one_thread_public_private_sensitive_then_sticky(
    parts: Components, recorder: RecordingServer
) -> None:
    graph = build_auto_graph()
    user = "maya-okafor"

    public = turn(graph, parts, user_id=user, mode="auto", instruction=PUBLIC)
    assert public.route == "cloud", public.route_reason
    assert public.answer  # the stand-in answered
    [request] = recorder.chat_requests
    assert request["body"]["messages"][-1]["content"].endswith(PUBLIC)  # as it is

    private = turn(
        graph, parts, public_instruction=PRIVATE_PUBLIC_PART, private_instruction=PRIVATE_PART
    )
    assert private.route == "sketch" and "a private part" in private.route_reason
    assert private.sketch is not None and private.answer
    assert len(recorder.chat_requests) == 2
    assert "Halvorsen" not in recorder.all_bytes().decode()

    seen = len(recorder.raw_bodies)
    health = turn(graph, parts, instruction=HEALTH)
    assert health.route == "local" and "entity:HEALTH" in health.route_reason
    assert health.answer and health.cloud_payloads == []
    again = turn(graph, parts, instruction=PUBLIC)
    assert again.route == "local" and "turned sensitive earlier" in again.route_reason
    assert len(recorder.raw_bodies) == seen  # neither turn reached the cloud
    wire = recorder.all_bytes().decode()
    assert "diabetes" not in wire and "endocrinology" not in wire

    audit = parts.egress_guard.audit_log  # type: ignore[union-attr]
    assert audit is not None and audit.verify().ok
    # the turns kept local are recorded as local_only; the cloud routes' payloads are
    # audited when they are sent (the sketch and the public answer)
    routes = [
        (e.purpose.split(" ")[0], e.decision)
        for e in audit.entries()
        if e.purpose.startswith("route:")
    ]
    assert routes == [("route:local", "local_only"), ("route:local", "local_only")]
    assert [e.purpose for e in audit.entries() if e.decision == "sent"][:2] == [
        "answer",
        "sketch",
    ]

    # control: the same health request sent with its context does show on the wire
    leaky = replace(parts, allow_private_egress=True, answer_max_tokens=4)
    # the request is on the wire before the answer: an empty answer changes nothing
    with contextlib.suppress(CloudResponseError):
        run_sketch_graph(
            leaky,
            {
                "user_id": user,
                "mode": "cloud-private",
                "public_instruction": "Write a note to my manager",
                "private_instruction": HEALTH,
            },
        )
    assert "diabetes" in recorder.all_bytes().decode()


def test_the_benchmark_runs_and_its_recorder_sees_leaks(tmp_path: Path) -> None:
    out = tmp_path / "auto.json"
    done = subprocess.run(
        [sys.executable, "bench/auto_router.py", "--requests", "3", "--dev-items", "0",
         "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "auto routes" in done.stdout
    modes = json.loads(out.read_text())["requests"]["modes"]
    assert modes["cloud-private"]["unit_leak_rate"] == 1.0  # the control
    assert modes["local"]["unit_leak_rate"] == 0.0 and modes["local"]["public_kept"] == 0.0
    assert modes["auto"]["unit_leak_rate"] == 0.0
    assert modes["auto"]["public_kept_public_requests"] > 0.5
