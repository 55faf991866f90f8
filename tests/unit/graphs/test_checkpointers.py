"""The PostgreSQL checkpointer's checks, before any database: host, opt-in, extra."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from langchain_cogenesis.errors import (
    CheckpointerUnavailable,
    MissingExtra,
    RemoteCheckpointsNotAllowed,
    RemoteStoreNotAllowed,
)
from langchain_cogenesis.graphs.checkpointers import (
    async_postgres_checkpointer,
    is_local_database,
    postgres_checkpointer,
    shown_uri,
)
from langchain_cogenesis.models.standin import free_port
from langchain_cogenesis.privacy import AuditLog


@pytest.mark.parametrize(
    ("uri", "local"),
    [
        ("postgresql://postgres:@/postgres?host=/tmp/pg-data", True),  # pgserver's socket
        ("postgresql:///cogenesis", True),  # the default Unix socket
        ("postgresql://u:p@localhost:5432/db", True),
        ("postgresql://u:p@127.0.0.1/db", True),
        ("postgresql://u:p@[::1]/db", True),
        ("host=127.0.0.1 dbname=db", True),
        ("postgresql://u:p@db.example.com/db", False),
        ("postgresql://u:p@10.0.0.7/db", False),
        ("host=127.0.0.1,db.example.com dbname=db", False),  # a fallback host counts
        ("host=localhost hostaddr=10.0.0.7 dbname=db", False),  # hostaddr is connected to
        ("postgresql://u:p@0.0.0.0/db", False),
    ],
)
def test_local_means_a_unix_socket_or_loopback(uri: str, local: bool) -> None:
    assert is_local_database(uri) is local


def test_default_host_follows_pghost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGHOST", "db.example.com")
    assert not is_local_database("dbname=cogenesis")


def test_a_remote_database_is_refused_before_any_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg
    import psycopg_pool

    def no_connection(*args: object, **kwargs: object) -> None:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(psycopg_pool.ConnectionPool, "__init__", no_connection)
    monkeypatch.setattr(psycopg, "connect", no_connection)
    monkeypatch.delenv("COGENESIS_ALLOW_REMOTE_STORE", raising=False)
    audit = AuditLog(tmp_path / "audit.sqlite3")
    uri = "postgresql://cogenesis:hunter2-secret@db.example.com:5432/threads"
    with pytest.raises(RemoteCheckpointsNotAllowed, match=r"db\.example\.com") as refused:
        postgres_checkpointer(uri, audit_log=audit)
    assert isinstance(refused.value, RemoteStoreNotAllowed)  # one opt-in for both stores
    assert "hunter2" not in str(refused.value)
    assert "allow_remote_store" in str(refused.value)
    assert audit.entries() == []


async def test_the_async_checkpointer_refuses_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COGENESIS_ALLOW_REMOTE_STORE", raising=False)
    with pytest.raises(RemoteCheckpointsNotAllowed):
        await async_postgres_checkpointer("postgresql://u:p@10.0.0.7/db", audit_log=None)


@pytest.mark.parametrize("opt_in", ["argument", "environment"])
def test_the_opt_in_is_recorded_and_an_unreachable_server_is_a_typed_error(
    opt_in: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 0.0.0.0 is not loopback by name, and nothing listens on the port: refused at once
    uri = f"postgresql://cogenesis:hunter2-secret@0.0.0.0:{free_port()}/threads"
    audit = AuditLog(tmp_path / "audit.sqlite3")
    allow: bool | None = True
    if opt_in == "environment":
        monkeypatch.setenv("COGENESIS_ALLOW_REMOTE_STORE", "1")
        allow = None
    with pytest.raises(CheckpointerUnavailable, match="Start PostgreSQL") as failed:
        postgres_checkpointer(uri, allow_remote_store=allow, audit_log=audit, connect_timeout=1)
    assert "hunter2" not in str(failed.value)
    [row] = audit.entries()
    assert (row.purpose, row.decision) == ("remote-checkpoints", "sent_with_private_context")
    assert "0.0.0.0" in row.destination and "hunter2" not in row.destination
    assert audit.verify().ok


def test_without_the_server_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "langgraph.checkpoint.postgres", None)
    with pytest.raises(MissingExtra, match=r"langchain-cogenesis\[server\]"):
        postgres_checkpointer("postgresql:///cogenesis")


async def test_without_the_server_extra_the_async_error_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "langgraph.checkpoint.postgres.aio", None)
    with pytest.raises(MissingExtra, match=r"langchain-cogenesis\[server\]"):
        await async_postgres_checkpointer("postgresql:///cogenesis")


def test_shown_uri_drops_the_password() -> None:
    shown = shown_uri("postgresql://cogenesis:hunter2@127.0.0.1:5432/threads")
    assert "hunter2" not in shown and "127.0.0.1" in shown and "threads" in shown
    assert "password" not in shown_uri("host=/tmp/pg password=hunter2 dbname=x")


def test_an_unparsable_connection_string_is_a_typed_error() -> None:
    with pytest.raises(CheckpointerUnavailable, match="cannot be parsed"):
        postgres_checkpointer("host=127.0.0.1 this is not=conninfo 'open")


def test_the_connection_string_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COGENESIS_POSTGRES_URI", raising=False)
    monkeypatch.delenv("DATABASE_URI", raising=False)
    monkeypatch.delenv("COGENESIS_ALLOW_REMOTE_STORE", raising=False)
    with pytest.raises(CheckpointerUnavailable, match="COGENESIS_POSTGRES_URI"):
        postgres_checkpointer()
    # LangGraph Server's variable is read too, and ours wins over it
    monkeypatch.setenv("DATABASE_URI", "postgresql://u:p@langgraph.example.com/db")
    with pytest.raises(RemoteCheckpointsNotAllowed, match=r"langgraph\.example\.com"):
        postgres_checkpointer(audit_log=None)
    monkeypatch.setenv("COGENESIS_POSTGRES_URI", "postgresql://u:p@ours.example.com/db")
    with pytest.raises(RemoteCheckpointsNotAllowed, match=r"ours\.example\.com"):
        postgres_checkpointer(audit_log=None)
