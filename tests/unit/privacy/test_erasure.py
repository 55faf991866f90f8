"""Erasure: the audit chain keeps verifying without payload text, and erase_user removes a
user's text from the store, audit logs, checkpoints, caches and logs under COGENESIS_HOME."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langchain_core.documents import Document
from langgraph.graph import END, START, StateGraph

from langchain_cogenesis.errors import UnknownUser
from langchain_cogenesis.evaluation.runner import Record, ResultCache
from langchain_cogenesis.graphs.checkpointers import sqlite_checkpointer
from langchain_cogenesis.privacy import AuditLog
from langchain_cogenesis.privacy.egress.audit import _row_hash
from langchain_cogenesis.privacy.erasure import erase_user
from langchain_cogenesis.retrievers import PrivateStore
from tests.integration.store_worker import HashEmbeddings

CANARY = "CANARY-7Q4Z-LARKSPUR"
ADDRESS = "14 Quenby Larkspur Lane"
NAME = "Odalys Brennick"
PRIVATE = (CANARY, ADDRESS, NAME)
OTHER = "Teodor Vashchenko keeps bees behind 88 Orchard Street"


def files_holding(root: Path, needles: tuple[str, ...]) -> dict[str, list[str]]:
    """Every file under ``root`` whose bytes hold one of ``needles`` (UTF-8)."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits = [n for n in needles if n.encode("utf-8") in data]
        if hits:
            found[str(path.relative_to(root))] = hits
    return found


def record(log: AuditLog, user: str, payload: str, decision: str = "sent") -> None:
    log.record(
        user_id=user, destination="http://127.0.0.1:1/v1", purpose="sketch",
        decision=decision, hits=[], payload=payload,
    )  # fmt: skip


# -- the audit chain -------------------------------------------------------------


def test_rows_hash_the_payload_digest_so_erased_text_still_verifies(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    record(log, "ana", f"<human>\nA note about {CANARY}")
    record(log, "ben", "<human>\nA public outline")
    with sqlite3.connect(log.path) as db:
        db.execute("UPDATE egress SET payload = NULL WHERE id = 1")
    assert log.verify().ok
    # a present payload must still match its digest
    with sqlite3.connect(log.path) as db:
        db.execute("UPDATE egress SET payload = 'something else' WHERE id = 2")
    assert "row 2's payload does not match its hash" in log.verify().problems


def test_erase_payloads_keeps_the_rows_and_records_the_erasure(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    record(log, "ana", f"<human>\nA note about {CANARY}")
    record(log, "ben", "<human>\nA public outline")
    record(log, "ben", f"<human>\nben quoting {CANARY}")
    assert CANARY.encode() in log.path.read_bytes()  # control
    erased = log.erase_payloads(
        lambda entry: entry.user_id == "ana" or CANARY in (entry.payload or ""), user_id="ana"
    )
    assert erased.rows == 2 and erased.vacuumed and not erased.problems_before
    entries = log.entries()
    assert [e.payload for e in entries[:3]] == [None, "<human>\nA public outline", None]
    assert (
        entries[0].payload_sha256
        == hashlib.sha256(f"<human>\nA note about {CANARY}".encode()).hexdigest()
    )
    assert (entries[3].purpose, entries[3].decision, entries[3].user_id) == (
        "erasure", "erased", "ana",
    )  # fmt: skip
    assert entries[3].hits == [{"detector": "erasure", "rows": 2}]
    assert log.verify().ok
    assert CANARY.encode() not in log.path.read_bytes()
    assert log.erase_payloads(lambda entry: entry.user_id == "ana").rows == 0


def legacy_log(path: Path, payloads: list[str]) -> AuditLog:
    """A log as versions before the payload-digest format wrote it (text in the hash)."""
    log = AuditLog(path)
    for payload in payloads:
        record(log, "ana", payload)
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(row) for row in db.execute("SELECT * FROM egress ORDER BY id")]
        previous = "0" * 64
        for row in rows:
            row.update(prev_hash=previous, hash_format=1)
            row["row_hash"] = _row_hash(row)
            db.execute(
                "UPDATE egress SET prev_hash=?, row_hash=? WHERE id=?",
                (row["prev_hash"], row["row_hash"], row["id"]),
            )
            previous = row["row_hash"]
        db.execute("ALTER TABLE egress DROP COLUMN hash_format")
    log.head_path.write_text(f"{len(rows)} {previous}\n", encoding="utf-8")
    return AuditLog(path)


def test_a_log_written_before_the_digest_format_verifies_and_is_rehashed_on_erasure(
    tmp_path: Path,
) -> None:
    log = legacy_log(tmp_path / "audit.sqlite3", [f"about {CANARY}", "public one"])
    assert log.verify().ok
    with sqlite3.connect(log.path) as db:  # the legacy hash covers the text
        db.execute("UPDATE egress SET payload = NULL WHERE id = 2")
    assert "row 2 was modified after it was written" in log.verify().problems
    log = legacy_log(tmp_path / "again.sqlite3", [f"about {CANARY}", "public one"])
    old_head = log.entries()[-1].row_hash
    erased = log.erase_payloads(lambda entry: CANARY in (entry.payload or ""), user_id="ana")
    assert (erased.rows, erased.rehashed) == (1, 2)
    assert log.verify().ok
    assert log.entries()[-1].hits[0]["previous_head"] == old_head
    assert CANARY.encode() not in log.path.read_bytes()


def test_a_log_that_does_not_verify_is_erased_all_the_same(tmp_path: Path) -> None:
    log = legacy_log(tmp_path / "audit.sqlite3", [f"about {CANARY}", "public one"])
    with sqlite3.connect(log.path) as db:
        db.execute("UPDATE egress SET decision = 'blocked' WHERE id = 2")
    erased = log.erase_payloads(lambda entry: CANARY in (entry.payload or ""))
    assert erased.rows == 1 and erased.rehashed == 0
    assert any("row 2 was modified" in problem for problem in erased.problems_before)
    assert CANARY.encode() not in log.path.read_bytes()


@pytest.mark.parametrize("decision", ["blocked", "local_only"])
def test_payloads_that_never_left_keep_only_their_digest(tmp_path: Path, decision: str) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")
    record(log, "ana", f"about {CANARY}", decision=decision)
    record(log, "ana", "sent on purpose", decision="sent_with_private_context")
    blocked, sent = log.entries()
    assert blocked.payload is None and blocked.payload_sha256
    assert sent.payload == "sent on purpose"
    assert CANARY.encode() not in log.path.read_bytes()


# -- erase_user ------------------------------------------------------------------


class Thread(TypedDict):
    user_id: str
    answer: str


def run_threads(path: Path, runs: dict[str, tuple[str, str]]) -> None:
    """Checkpoint one finished thread per entry: thread id -> (user, answer)."""
    builder = StateGraph(Thread)
    builder.add_node("write", lambda state: {"answer": state["answer"] + " (written)"})
    builder.add_edge(START, "write")
    builder.add_edge("write", END)
    saver: Any = sqlite_checkpointer(path)
    graph = builder.compile(checkpointer=saver)
    for thread_id, (user, answer) in runs.items():
        graph.invoke(
            {"user_id": user, "answer": answer}, {"configurable": {"thread_id": thread_id}}
        )
    saver.conn.close()


def populate(home: Path) -> PrivateStore:
    store = PrivateStore(home / "store", embeddings=HashEmbeddings())
    store.add_documents(
        "odalys",
        [
            Document(page_content=f"Name: {NAME}\nOccupation: glassblower"),
            Document(page_content=f"Lives at {ADDRESS}; locker code {CANARY}."),
        ],
    )
    store.add_documents("teodor", [Document(page_content=OTHER)])
    log = AuditLog(home / "audit.sqlite3")
    record(log, "odalys", f"<human>\nA toast for {NAME} at {ADDRESS}", "sent_with_private_context")
    record(log, "teodor", "<human>\nA public outline about bees")
    record(log, "", f"<human>\nan unattributed request naming {CANARY}")
    run_threads(
        home / "threads.sqlite3",
        {
            "o-1": ("odalys", f"Dear {NAME}, see you at {ADDRESS}"),
            "t-1": ("teodor", "Dear Teodor, the bees are well"),
            "x-1": ("someone", f"forwarded: {CANARY}"),
        },
    )
    cache = ResultCache(home / "eval" / "bundled-test" / "cache.jsonl")
    for user, answer in (("odalys", f"A letter to {NAME}"), ("teodor", "A bee letter")):
        cache.add(Record("sketch", f"{user}#0", 0, answer, "ref", {}, False, 1))
    (home / "logs").mkdir()
    (home / "logs" / "standin-1.log").write_text(
        f"POST /v1/chat/completions 200\nprompt echo: {CANARY}\nshutdown\n", encoding="utf-8"
    )
    return store


def test_erase_user_removes_the_text_everywhere_and_keeps_the_others(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = populate(home)
    before = files_holding(home, PRIVATE)
    # the control: each place the erasure must clean holds the text first
    assert {"audit.sqlite3", "threads.sqlite3", "store/chroma.sqlite3"} <= set(before)
    assert "eval/bundled-test/cache.jsonl" in before and "logs/standin-1.log" in before

    report = erase_user("odalys", home=home, store=store)

    assert files_holding(home, PRIVATE) == {}
    assert report.store_chunks == 2 and report.audit_payloads == 2
    assert report.threads == 2 and report.lines == 2 and report.warnings == []
    log = AuditLog(home / "audit.sqlite3")
    assert log.verify().ok
    assert [e.payload for e in log.entries("teodor")] == ["<human>\nA public outline about bees"]
    # the other user is intact: store, thread, cache record, log lines
    assert store.list_users() == ["teodor"] and store.count("teodor") == 1
    saver: Any = sqlite_checkpointer(home / "threads.sqlite3")
    threads = {str(c.config["configurable"]["thread_id"]) for c in saver.list(None)}
    assert threads == {"t-1"}
    cache = ResultCache(home / "eval" / "bundled-test" / "cache.jsonl")
    assert [r.sample_id for r in cache.records.values()] == ["teodor#0"]
    log_lines = (home / "logs" / "standin-1.log").read_text(encoding="utf-8").splitlines()
    assert log_lines == ["POST /v1/chat/completions 200", "shutdown"]
    with pytest.raises(UnknownUser):
        erase_user("odalys", home=home, store=store)


def test_erase_user_reports_files_it_does_not_know(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = populate(home)
    (home / "notes.bin").write_bytes(b"\x00\x01 copied " + CANARY.encode())
    report = erase_user("odalys", home=home, store=store)
    assert len(report.warnings) == 1 and "notes.bin" in report.warnings[0]
    assert (home / "notes.bin").exists()  # named, not deleted


def test_erase_user_finds_users_outside_the_store_and_refuses_unknown_ones(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    log = AuditLog(home / "audit.sqlite3")
    record(log, "gone", "<human>\nan old payload of a user no longer stored")
    report = erase_user("gone", home=home, private_texts=["no longer stored"])
    assert report.audit_payloads == 1 and report.store_chunks == 0
    assert b"no longer stored" not in (home / "audit.sqlite3").read_bytes()
    with pytest.raises(UnknownUser):
        erase_user("never-seen", home=home)
    assert json.loads(json.dumps(log.verify().model_dump()))["ok"]


def fulltext_bytes(store_path: Path) -> bytes:
    """The raw blocks of Chroma's full-text index (trigram terms and their postings).

    Read raw: a deleted row's terms stay in these blocks until the index is merged,
    while fts5vocab and MATCH no longer show them.
    """
    with closing(sqlite3.connect(store_path / "chroma.sqlite3")) as db:
        rows = db.execute("SELECT block FROM embedding_fulltext_search_data").fetchall()
    return b"\n".join(bytes(row[0]) for row in rows if row[0] is not None)


def test_a_deleted_user_leaves_no_term_in_the_full_text_index(tmp_path: Path) -> None:
    store = PrivateStore(tmp_path / "store", embeddings=HashEmbeddings())
    store.add_documents("odalys", [Document(page_content="Quorblefen Zyxwvut")])
    store.add_documents("teodor", [Document(page_content="honey jars")])
    own = [b"uor", b"rbl", b"yxw", b"xwv"]
    assert any(term in fulltext_bytes(tmp_path / "store") for term in own)  # the control
    store.delete_user("odalys")
    data = fulltext_bytes(tmp_path / "store")
    assert not [term for term in own if term in data]
    assert store.documents("teodor")[0].page_content == "honey jars"


def test_erasure_drops_the_detectors_index_held_in_memory(tmp_path: Path) -> None:
    from langchain_cogenesis.graphs import scanners

    home = tmp_path / "home"
    store = populate(home)
    index = scanners.private_index(store, "odalys")
    other = scanners.private_index(store, "teodor")
    assert CANARY.lower() in {token.lower() for token in index.rare}  # the control
    assert store._derived.kept("odalys", "leak-index")

    erase_user("odalys", home=home, store=store)

    assert not store._derived.kept("odalys", "leak-index")
    assert scanners.private_index(store, "teodor") is other  # the other user's stays kept
    with pytest.raises(UnknownUser):
        scanners.private_index(store, "odalys")


def test_a_checkpointer_passed_in_loses_the_users_threads_and_is_rewritten_only_if_postgres(
    tmp_path: Path,
) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    executed: list[str] = []

    class Connection:
        def execute(self, statement: str) -> None:
            executed.append(statement)

    class PostgresLookalike(InMemorySaver):
        """Named like LangGraph's PostgreSQL saver, with a connection, but not one."""

        conn = Connection()

    class State(TypedDict):
        user_id: str
        text: str

    saver = PostgresLookalike()
    graph = StateGraph(State)
    graph.add_node("echo", lambda state: {"text": state["text"] + "!"})
    graph.add_edge(START, "echo")
    graph.add_edge("echo", END)
    compiled = graph.compile(checkpointer=saver)
    for thread, user, text in (
        ("a", "odalys", f"notes of {NAME}"),
        ("b", "teodor", OTHER),
        ("c", "teodor", f"a reply quoting {ADDRESS}"),  # another user's thread holding her text
    ):
        compiled.invoke({"user_id": user, "text": text}, {"configurable": {"thread_id": thread}})

    report = erase_user(
        "odalys", home=tmp_path / "home", private_texts=[ADDRESS], checkpointers=[saver]
    )

    assert report.threads == 2
    assert {str(c.config["configurable"]["thread_id"]) for c in saver.list(None)} == {"b"}
    # deleted, but not a PostgreSQL database: nothing to rewrite, no VACUUM sent
    assert executed == [] and report.rewritten == [] and report.warnings == []
