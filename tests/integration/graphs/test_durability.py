"""Durable runs: a process killed with SIGKILL after the sketch step resumes from SQLite.

The cloud's sketch is kept in the checkpoint, so the resumed run does not ask the
cloud again: requests are counted at a recording proxy in front of the stand-in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.errors import UnknownThread
from langchain_cogenesis.graphs import Components, build_sketch_graph, resume_sketch_graph
from langchain_cogenesis.graphs.checkpointers import sqlite_checkpointer
from langchain_cogenesis.models import ChatLocalLlama, StandInCloud
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.retrievers import PrivateStore
from tests.cloud_servers import RecordingServer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def test_a_run_killed_after_the_sketch_resumes_without_the_cloud(
    tmp_path: Path, demo_users: list[DatasetUser], standin: StandInCloud, model_path: Path
) -> None:
    store_path, checkpoints = tmp_path / "store", tmp_path / "threads.sqlite3"
    PrivateStore(store_path).add_user_context(demo_users[0].context)
    with RecordingServer(upstream=standin.base_url) as recorder:
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.durable_worker",
             str(store_path), str(checkpoints), recorder.base_url, "thread-1"],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert worker.stdout is not None
        lines = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and "writing" not in lines:
            line = worker.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
        assert lines[-1:] == ["writing"], lines
        assert "done sketch" in lines
        os.kill(worker.pid, signal.SIGKILL)  # mid-write, after the sketch's checkpoint
        assert worker.wait(timeout=30) == -signal.SIGKILL
        assert len(recorder.chat_requests) == 1

        graph = build_sketch_graph(checkpointer=sqlite_checkpointer(checkpoints))
        components = Components(
            store=PrivateStore(store_path),
            local_model=ChatLocalLlama(model_path=model_path, max_tokens=32, seed=3),
            egress_guard=EgressGuard(base_url=recorder.base_url, model=standin.model),
        )
        result = resume_sketch_graph(components, "thread-1", graph=graph)
        assert len(recorder.chat_requests) == 1  # the cloud was not asked again
    assert result.answer
    assert result.sketch is not None and result.sketch.text
    assert result.sketch.text == result.cloud_payloads[0].response.strip()  # from the checkpoint
    assert [p.purpose for p in result.cloud_payloads] == ["sketch"]
    # resuming a finished run returns its result without running anything
    again = resume_sketch_graph(components, "thread-1", graph=graph)
    assert again.answer == result.answer
    with pytest.raises(UnknownThread, match="thread-2"):
        resume_sketch_graph(components, "thread-2", graph=graph)
