"""Scale-out for real: worker processes sharing a PostgreSQL checkpointer and a Chroma server.

One PostgreSQL (pgserver, from the server extra) and one `chroma run` serve the whole
module. A worker killed with SIGKILL mid-run leaves its thread to the other worker,
which finishes it without asking the cloud again for the sketch it already has
(requests are counted at a recording OpenAI-compatible server); concurrent writers
to the Chroma server lose nothing. The local model inside the workers is a fake that
writes at once: where a run's state lives is the point, not the writing.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document

from langchain_cogenesis.graphs import Components, build_sketch_graph
from langchain_cogenesis.graphs.checkpointers import (
    async_postgres_checkpointer,
    postgres_checkpointer,
)
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.privacy.detection.entities import EntityDetector
from langchain_cogenesis.retrievers import PrivateStore
from langchain_cogenesis.retrievers.server import chroma_server
from tests.cloud_servers import RecordingServer
from tests.integration.scale_worker import EchoWriter, ingest, note
from tests.integration.store_worker import HashEmbeddings

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
SKETCH = "1. Welcome the plot holders\n2. Name the day and the place\n3. Thank the helpers"
INSTRUCTION = "Write a short note for the allotment's open day"
PRIVATE = {
    "ada-quince": "Ada keeps the key to shed 9 under the blue pot",
    "ben-ostrava": "Ben's rhubarb bed sits on the old well cover",
}


def marked(prompt: str) -> str:
    """The local prompt marks the sketch's spaces with ``^`` (datamarking); undone."""
    return prompt.replace("^", " ")


@pytest.fixture(scope="module")
def postgres_uri() -> Iterator[str]:
    from pgserver.postgres_server import get_server

    # not under pytest's tmp folder: pgserver runs PostgreSQL as its own user when
    # started by root, and that user cannot enter pytest's private folders
    with tempfile.TemporaryDirectory(prefix="cogenesis-pg-") as data:
        server = get_server(data, cleanup_mode="stop")
        try:
            yield str(server.get_uri())
        finally:
            server.cleanup()


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with chroma_server(tmp_path_factory.mktemp("chroma")) as url:
        yield url


@pytest.fixture(scope="module")
def cloud() -> Iterator[RecordingServer]:
    with RecordingServer(reply=SKETCH) as server:
        yield server


class Worker:
    """A `scale_worker serve` process; its JSON lines are read on a thread of their own."""

    def __init__(self, name: str, postgres_uri: str, chroma_url: str, cloud_url: str) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.scale_worker",
             postgres_uri, chroma_url, cloud_url, name],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def send(self, request: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()

    def until(self, key: str, timeout: float = 120) -> list[dict[str, Any]]:
        """Every line up to and including the first one with ``key``."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while not seen or key not in seen[-1]:
            try:
                seen.append(self.lines.get(timeout=max(0.1, deadline - time.monotonic())))
            except queue.Empty:
                pytest.fail(f"worker {self.name} sent no {key!r} line; it sent {seen}")
        return seen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def workers(
    postgres_uri: str, chroma_url: str, cloud: RecordingServer
) -> Iterator[tuple[Worker, Worker]]:
    store = PrivateStore(chroma_url=chroma_url, embeddings=HashEmbeddings(), audit_log=None)
    for user, fact in PRIVATE.items():
        store.add_documents(user, [Document(fact), Document(f"{user} grows leeks")])
    # both start at once against a fresh database: they take turns creating its tables
    pair = (
        Worker("worker-a", postgres_uri, chroma_url, cloud.base_url),
        Worker("worker-b", postgres_uri, chroma_url, cloud.base_url),
    )
    try:
        for worker in pair:
            worker.until("ready", timeout=180)
        yield pair
    finally:
        for worker in pair:
            worker.stop()


def test_concurrent_writers_to_the_chroma_server_lose_nothing(
    workers: tuple[Worker, Worker], chroma_url: str
) -> None:
    """Three processes (both workers and this one) write a user each and, at the same
    time, one shared user; every note is stored once, none is lost."""
    count = 60
    store = PrivateStore(chroma_url=chroma_url, embeddings=HashEmbeddings(), audit_log=None)
    jobs = {"shared": [0, 1000, 2000]}
    for number, worker in enumerate(workers):
        worker.send({"ingest": f"solo-{worker.name}", "start": 0, "count": count})
        worker.send({"ingest": "shared", "start": jobs["shared"][number], "count": count})
        jobs[f"solo-{worker.name}"] = [0]
    here = [ingest(store, "solo-here", 0, count), ingest(store, "shared", 2000, count)]
    jobs["solo-here"] = [0]
    stored = [worker.until("stored")[-1]["stored"] for worker in workers for _ in range(2)]
    assert stored + here == [count] * 6
    for user, starts in jobs.items():
        expected = {note(user, n) for start in starts for n in range(start, start + count)}
        assert store.count(user) == len(expected)
        assert {document.page_content for document in store.documents(user)} == expected


def test_a_killed_workers_thread_finishes_on_the_other_without_asking_the_cloud_again(
    workers: tuple[Worker, Worker], cloud: RecordingServer, postgres_uri: str
) -> None:
    first, second = workers
    before = len(cloud.chat_requests)
    first.send({"run": "thread-ada", "user": "ada-quince", "instruction": INSTRUCTION,
                "hang": True})  # fmt: skip
    second.send({"run": "thread-ben", "user": "ben-ostrava", "instruction": INSTRUCTION})
    steps = first.until("writing")
    assert [line["done"] for line in steps if "done" in line] == ["prepare", "retrieve", "sketch"]
    [ben] = [line for line in second.until("result") if "result" in line]
    # the other worker ran a whole thread meanwhile, on the same database and store
    assert (ben["worker"], ben["sketch"], ben["cloud_payloads"]) == ("worker-b", SKETCH, 1)
    assert PRIVATE["ben-ostrava"] in ben["answer"] and SKETCH in marked(ben["answer"])
    assert len(cloud.chat_requests) == before + 2  # one sketch per thread: the counter counts

    os.kill(first.process.pid, signal.SIGKILL)  # mid-write, after the sketch's checkpoint
    assert first.process.wait(timeout=30) == -signal.SIGKILL

    second.send({"resume": "thread-ada"})
    [ada] = second.until("result")
    assert ada["worker"] == "worker-b" and ada["pid"] != first.process.pid
    assert ada["answer"].startswith("written by worker-b:")
    assert PRIVATE["ada-quince"] in ada["answer"]  # the context retrieved before the kill
    assert ada["sketch"] == SKETCH and SKETCH in marked(ada["answer"])  # from Postgres
    assert ada["cloud_payloads"] == 1
    assert len(cloud.chat_requests) == before + 2  # the cloud was not asked again
    assert PRIVATE["ada-quince"] not in cloud.all_bytes().decode()

    # a third process sees both threads finished; resuming a finished one runs nothing
    saver = postgres_checkpointer(postgres_uri, audit_log=None)
    try:
        graph = build_sketch_graph(checkpointer=saver)
        for thread, answer in (("thread-ada", ada["answer"]), ("thread-ben", ben["answer"])):
            snapshot = graph.get_state({"configurable": {"thread_id": thread}})
            assert snapshot.next == () and snapshot.values["answer"] == answer
    finally:
        saver.conn.close()
    second.send({"resume": "thread-ada"})
    [again] = second.until("result")
    assert again["answer"] == ada["answer"] and len(cloud.chat_requests) == before + 2


async def test_the_async_checkpointer_serves_ainvoke(
    postgres_uri: str, chroma_url: str, cloud: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    saver = await async_postgres_checkpointer(postgres_uri, audit_log=None)
    try:
        store = PrivateStore(chroma_url=chroma_url, embeddings=HashEmbeddings(), audit_log=None)
        store.add_documents("cy-async", [Document("Cy waters the figs at dawn")])
        components = Components(
            store=store,
            local_model=EchoWriter(worker="async"),
            egress_guard=EgressGuard(base_url=cloud.base_url, model="fake", max_retries=0),
            # entity rules without the spaCy model: the checkpointer is the point here
            entity_detector=EntityDetector.rules_only(),
        )
        graph = build_sketch_graph(checkpointer=saver)
        config: Any = {"configurable": {"thread_id": "thread-async"}}
        request: Any = {"user_id": "cy-async", "public_instruction": INSTRUCTION}
        state = await graph.ainvoke(request, config, context=components, durability="sync")
        assert "Cy waters the figs" in state["answer"] and state["sketch"] == SKETCH
        stored = await graph.aget_state(config)
        assert stored.next == () and stored.values["answer"] == state["answer"]
    finally:
        await saver.conn.close()


def test_the_scale_out_benchmark_runs(postgres_uri: str, chroma_url: str, tmp_path: Path) -> None:
    out = tmp_path / "scale_out.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scale_out.py"), "--requests", "6", "--light",
         "--postgres-uri", postgres_uri, "--chroma-url", chroma_url,
         "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    figures = json.loads(out.read_text())
    for workers in ("one_worker", "two_workers"):
        row = figures[workers]
        assert row["requests"] == 6 and row["failed"] == 0
        assert row["cloud_requests"] == 6  # one sketch per request, none repeated
        assert row["requests_per_second"] > 0
    assert figures["ratio"] == pytest.approx(
        figures["two_workers"]["requests_per_second"] / figures["one_worker"]["requests_per_second"]
    )
    assert "requests/s" in done.stdout


def _holds(saver: Any, text: str) -> int:
    """Rows of LangGraph's checkpoint tables whose stored bytes contain ``text``."""
    needle = text.encode()
    with saver.conn.connection() as db:
        blobs = db.execute(
            "SELECT (SELECT count(*) FROM checkpoint_blobs WHERE position(%s::bytea in blob) > 0)"
            " + (SELECT count(*) FROM checkpoint_writes WHERE position(%s::bytea in blob) > 0)"
            " + (SELECT count(*) FROM checkpoints WHERE checkpoint::text LIKE %s) AS n",
            (needle, needle, f"%{text}%"),
        ).fetchone()
    return int(blobs["n"])


def test_erasure_reaches_the_shared_postgres_checkpointer(
    postgres_uri: str,
    chroma_url: str,
    cloud: RecordingServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langchain_cogenesis.privacy.erasure import erase_user

    notes = {
        "dora-erase": "Dora's pacemaker check is at St Brennan's on the ninth",
        "eli-erase": "Eli lends the green wheelbarrow to the Okonkwo family",
        "fay-erase": "Fay hides the spare hive key in the rain gauge",
    }
    store = PrivateStore(chroma_url=chroma_url, embeddings=HashEmbeddings(), audit_log=None)
    for user, text in notes.items():
        store.add_documents(user, [Document(text)])
    saver = postgres_checkpointer(postgres_uri, audit_log=None)
    try:
        components = Components(
            store=store,
            local_model=EchoWriter(worker="erase"),
            egress_guard=EgressGuard(base_url=cloud.base_url, model="fake", max_retries=0),
            # entity rules without the spaCy model: the checkpointer is the point here
            entity_detector=EntityDetector.rules_only(),
        )
        graph = build_sketch_graph(checkpointer=saver)
        for user in notes:
            request: Any = {"user_id": user, "public_instruction": INSTRUCTION}
            config: Any = {"configurable": {"thread_id": f"thread-{user}"}}
            state = graph.invoke(request, config, context=components, durability="sync")
            assert notes[user] in state["answer"]  # the private note is in the thread
        assert all(_holds(saver, text) for text in notes.values())

        report = erase_user("dora-erase", home=tmp_path / "home", store=store,
                            checkpointers=[saver])  # fmt: skip
        assert report.threads == 1 and report.store_chunks == 1
        assert any("checkpoint_blobs" in name for name in report.rewritten)
        assert graph.get_state({"configurable": {"thread_id": "thread-dora-erase"}}).values == {}
        assert _holds(saver, notes["dora-erase"]) == 0  # not in any row, the tables rewritten
        assert _holds(saver, notes["eli-erase"]) > 0  # the other users keep their threads
        assert "eli-erase" in store.list_users() and "dora-erase" not in store.list_users()

        # the command line, with the workers' database named the way they name it
        done = subprocess.run(
            [sys.executable, "-m", "langchain_cogenesis.cli", "users", "delete", "eli-erase",
             "--yes"],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, "COGENESIS_HOME": str(tmp_path / "cli-home"),
                 "COGENESIS_POSTGRES_URI": postgres_uri},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert "1 checkpointed threads" in done.stdout
        assert _holds(saver, notes["eli-erase"]) == 0
        assert _holds(saver, notes["fay-erase"]) > 0
        # without the variable the command does not touch the database
        done = subprocess.run(
            [sys.executable, "-m", "langchain_cogenesis.cli", "users", "delete", "fay-erase",
             "--yes"],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, "COGENESIS_HOME": str(tmp_path / "cli-home")},
        )  # fmt: skip
        assert done.returncode != 0 and "fay-erase" in done.stderr
        assert _holds(saver, notes["fay-erase"]) > 0
    finally:
        saver.conn.close()


def test_encrypted_checkpoints_hold_no_private_string_and_erasure_still_finds_them(
    postgres_uri: str, chroma_url: str, cloud: RecordingServer, tmp_path: Path
) -> None:
    from langchain_cogenesis.errors import ConfigurationError
    from langchain_cogenesis.graphs.encryption import checkpoint_serde
    from langchain_cogenesis.graphs.tokens import new_key
    from langchain_cogenesis.privacy.erasure import erase_user

    notes = {
        "gus-sealed": "Gus takes lithium every morning since the spring of 2019",
        "hana-sealed": "Hana's sister Mirela lives at 14 Quarry Lane in Tidewell",
    }
    private_part = "Thank Nurse Odalys Brennock for the night shifts"
    store = PrivateStore(chroma_url=chroma_url, embeddings=HashEmbeddings(), audit_log=None)
    for user, text in notes.items():
        store.add_documents(user, [Document(text)])
    old_key, key = new_key(), new_key()
    components = Components(
        store=store,
        local_model=EchoWriter(worker="sealed"),
        egress_guard=EgressGuard(base_url=cloud.base_url, model="fake", max_retries=0),
        entity_detector=EntityDetector.rules_only(),
    )
    answers = {}
    # written with the old key, before a rotation
    saver = postgres_checkpointer(
        postgres_uri, audit_log=None, encryption=checkpoint_serde(old_key)
    )
    try:
        graph = build_sketch_graph(checkpointer=saver)
        for user in notes:
            request: Any = {"user_id": user, "public_instruction": INSTRUCTION,
                            "private_instruction": private_part}  # fmt: skip
            config: Any = {"configurable": {"thread_id": f"thread-{user}"}}
            state = graph.invoke(request, config, context=components, durability="sync")
            assert notes[user] in state["answer"]
            answers[user] = state["answer"]
        for text in [*notes.values(), private_part, *answers.values(), "Brennock"]:
            assert _holds(saver, text) == 0, text
    finally:
        saver.conn.close()

    # after the rotation: the old threads read with the old key among the previous ones
    rotated = checkpoint_serde(key, previous=[old_key])
    saver = postgres_checkpointer(postgres_uri, audit_log=None, encryption=rotated)
    try:
        graph = build_sketch_graph(checkpointer=saver)
        snapshot = graph.get_state({"configurable": {"thread_id": "thread-gus-sealed"}})
        assert snapshot.values["answer"] == answers["gus-sealed"]
        assert snapshot.values["private_instruction"] == private_part
        report = erase_user("gus-sealed", home=tmp_path / "home", store=store,
                            checkpointers=[saver])  # fmt: skip
        assert report.threads == 1
        assert graph.get_state({"configurable": {"thread_id": "thread-gus-sealed"}}).values == {}
        assert graph.get_state({"configurable": {"thread_id": "thread-hana-sealed"}}).values
    finally:
        saver.conn.close()

    # without the old key the thread does not open, and says which key it needs
    saver = postgres_checkpointer(postgres_uri, audit_log=None, encryption=checkpoint_serde(key))
    try:
        graph = build_sketch_graph(checkpointer=saver)
        with pytest.raises(ConfigurationError, match="COGENESIS_CHECKPOINT_OLD_KEYS"):
            graph.get_state({"configurable": {"thread_id": "thread-hana-sealed"}})
    finally:
        saver.conn.close()
