"""The embedded store across restarts, threads, processes and damaged files.

Restarts are real: each step runs in a process of its own (Chroma caches an open
store per process, so reopening in the same process would prove nothing).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document

from langchain_cogenesis.errors import NotAChromaStore, StoreCorrupted, StoreError, StoreLocked
from langchain_cogenesis.retrievers import PrivateStore
from langchain_cogenesis.retrievers.store import LOCK_FILE
from tests.integration.store_worker import DELETED, HashEmbeddings, note

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
CHUNKS = 5_000


def worker(*args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.store_worker", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.stdout.strip(), done.stderr[-3000:]
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5,000 chunks written (and one user deleted) by a process that has exited."""
    path = tmp_path_factory.mktemp("big") / "store"
    code, written = worker("write", str(path), str(CHUNKS))
    assert code == 0, written
    assert written == {"stored": CHUNKS, "users": ["bulk"]}
    return path


def test_5000_chunks_and_a_deletion_survive_a_restart(big_store: Path) -> None:
    code, read = worker("read", str(big_store), str(CHUNKS))
    assert code == 0, read
    assert read["users"] == ["bulk"]  # the deleted user stays deleted
    assert read["count"] == CHUNKS
    assert read["misses"] == 0  # each sampled chunk is found by its own text


def test_a_deleted_users_text_and_vectors_are_gone_from_the_disk(big_store: Path) -> None:
    marker = DELETED.encode()
    for file in big_store.rglob("*"):
        if file.is_file():
            assert marker not in file.read_bytes(), file
    folders = [entry for entry in big_store.iterdir() if entry.is_dir()]
    assert len(folders) == 1  # the bulk user's index; the deleted user's folder is gone


def damaged_copy(big_store: Path, tmp_path: Path) -> tuple[Path, Path]:
    copy = tmp_path / "copy"
    shutil.copytree(big_store, copy, ignore=shutil.ignore_patterns(LOCK_FILE))
    [index] = [entry for entry in copy.iterdir() if entry.is_dir()]
    return copy, index


@pytest.mark.parametrize("damage", ["truncated index", "missing index", "garbled header"])
def test_a_damaged_index_is_reported_not_searched(
    big_store: Path, tmp_path: Path, damage: str
) -> None:
    copy, index = damaged_copy(big_store, tmp_path)
    if damage == "truncated index":
        data = index / "data_level0.bin"
        os.truncate(data, data.stat().st_size // 3)
    elif damage == "missing index":
        shutil.rmtree(index)
    else:
        (index / "header.bin").write_bytes(os.urandom(100))
    code, read = worker("read", str(copy), str(CHUNKS))
    assert code == 3
    assert read["error"] in ("StoreCorrupted", "StoreError")
    assert "restore" in read["message"].lower()


@pytest.mark.parametrize("damage", ["truncated", "overwritten"])
def test_a_damaged_database_is_a_clear_error(big_store: Path, tmp_path: Path, damage: str) -> None:
    copy, _ = damaged_copy(big_store, tmp_path)
    database = copy / "chroma.sqlite3"
    before = database.read_bytes()
    if damage == "truncated":
        os.truncate(database, database.stat().st_size // 2)
    else:
        with database.open("r+b") as handle:
            handle.seek(40_960)
            handle.write(os.urandom(200_000))
    damaged = database.read_bytes()
    with pytest.raises((NotAChromaStore, StoreCorrupted), match="backup"):
        PrivateStore(copy, embeddings=HashEmbeddings())
    assert database.read_bytes() == damaged != before  # left as it was found


def test_concurrent_ingestion_in_one_process(tmp_path: Path) -> None:
    path = tmp_path / "store"
    stores = [PrivateStore(path, embeddings=HashEmbeddings()) for _ in range(2)]
    errors: list[BaseException] = []

    def ingest(number: int) -> None:
        try:
            store = stores[number % 2]
            user = f"user-{number % 4}"  # two threads per user
            store.add_documents(
                user,
                [Document(note(user, i), metadata={"source": f"t{number}-{i}"}) for i in range(40)],
            )
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=ingest, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert stores[0].list_users() == [f"user-{n}" for n in range(4)]
    assert [stores[1].count(f"user-{n}") for n in range(4)] == [80] * 4
    [hit] = stores[0].search("user-2", note("user-2", 17), k=1)
    assert hit.page_content == note("user-2", 17)


def test_a_second_writer_process_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    path = tmp_path / "store"
    first = PrivateStore(path, embeddings=HashEmbeddings())
    first.add_documents("ana", [Document("Ana's first note")])
    code, refused = worker("ingest", str(path), "ben", "3")
    assert code == 3 and refused["error"] == "StoreLocked"
    assert f"pid {os.getpid()}" in refused["message"] and "chroma run" in refused["message"]
    assert first.list_users() == ["ana"]  # nothing was written by the refused process
    # the same process may open the folder again and keep writing
    PrivateStore(path, embeddings=HashEmbeddings()).add_documents("ana", [Document("More")])
    first.close()
    code, written = worker("ingest", str(path), "ben", "3")
    assert code == 0 and written == {"stored": 3}
    # and now the other process's lock is gone too (it exited)
    with PrivateStore(path, embeddings=HashEmbeddings()) as again:
        again.add_documents("ana", [Document("Third note")])


def test_the_refusal_is_a_typed_error_in_process(tmp_path: Path) -> None:
    """A lock held by another process (a child that holds it and waits) refuses writes here."""
    path = tmp_path / "store"
    PrivateStore(path, embeddings=HashEmbeddings())  # create the folder
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time\n"
         f"fd = os.open({str(path / LOCK_FILE)!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'4242'); print('held', flush=True)\n"
         "time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        store = PrivateStore(path, embeddings=HashEmbeddings())
        with pytest.raises(StoreLocked, match="pid 4242"):
            store.add_documents("ana", [Document("note")])
        assert store.list_users() == []
        assert isinstance(StoreLocked("x"), StoreError)
    finally:
        holder.kill()
        holder.wait()
