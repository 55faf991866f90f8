"""Checkpointers for the graphs: SQLite for one process, PostgreSQL for several.

One process keeps its threads in SQLite (:func:`sqlite_checkpointer`).
When one machine is not enough, several workers share one PostgreSQL database: a
run that one worker started (and lost, to a crash or a kill) is finished by another
with :func:`~langchain_cogenesis.graphs.resume_sketch_graph`, and the steps that
had finished, the cloud's sketch among them, are read from the database instead of
being run again.

Setup:
    .. code-block:: bash

        pip install 'langchain-cogenesis[server]'  # checkpoint-postgres, psycopg, pgserver
        python -c "import pgserver; print(pgserver.get_server('/srv/cogenesis-pg').get_uri())"

Instantiate:
    .. code-block:: python

        from langchain_cogenesis.graphs import build_sketch_graph
        from langchain_cogenesis.graphs.checkpointers import postgres_checkpointer

        saver = postgres_checkpointer("postgresql://cogenesis:secret@127.0.0.1:5432/cogenesis")
        graph = build_sketch_graph(checkpointer=saver)

Invoke:
    .. code-block:: python

        from langchain_cogenesis.graphs import run_sketch_graph, resume_sketch_graph

        config = {"configurable": {"thread_id": "request-42"}}
        result = run_sketch_graph(components, request, graph=graph, config=config)
        # in any worker, after the one running request-42 died:
        result = resume_sketch_graph(components, "request-42", graph=graph)

Checkpoints hold each run's private context, so they are encrypted at rest when
``COGENESIS_CHECKPOINT_KEY`` is set (``encryption=True`` requires it; see
:mod:`~langchain_cogenesis.graphs.encryption`), and the database belongs on the device or
inside the user's trust boundary, like the Chroma server: a host other than loopback
or a Unix socket needs ``allow_remote_store`` (or ``COGENESIS_ALLOW_REMOTE_STORE``),
and opening one is recorded in the audit log.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langchain_cogenesis.config import Settings, is_loopback_host
from langchain_cogenesis.errors import (
    CheckpointerUnavailable,
    MissingExtra,
    RemoteCheckpointsNotAllowed,
)
from langchain_cogenesis.graphs.encryption import checkpoint_serde

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

    from langchain_cogenesis.privacy.egress.audit import AuditLog

# Any fixed number: workers starting at once take turns creating the tables, since
# concurrent CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL's catalog.
_SETUP_LOCK = 0x436F47656E
_SETUP_SECONDS = 120.0
_POLL_SECONDS = 0.05
# Polled, not waited for: one of the migrations is CREATE INDEX CONCURRENTLY, which
# waits for every open statement, a blocked pg_advisory_lock() of another worker too.
_TRY_LOCK = "SELECT pg_try_advisory_lock(%s)"
_FEATURE = "The PostgreSQL checkpointer"


def postgres_checkpointer(
    uri: str | None = None,
    *,
    max_connections: int = 4,
    connect_timeout: float = 10.0,
    allow_remote_store: bool | None = None,
    audit_log: AuditLog | Literal["default"] | None = "default",
    encryption: EncryptedSerializer | bool | None = None,
) -> PostgresSaver:
    """A LangGraph ``PostgresSaver`` on a connection pool, its tables created.

    Workers that start at the same time against a fresh database are safe: table
    creation is serialized with an advisory lock. Close the pool when the worker
    stops: ``saver.conn.close()``.

    Args:
        uri: a libpq connection string or ``postgresql://`` URL; default
            ``COGENESIS_POSTGRES_URI``, else ``DATABASE_URI`` (LangGraph Server's).
        max_connections: pool size (the saver itself uses one connection at a time;
            more help when several graphs share the saver).
        connect_timeout: seconds to wait for the database before giving up.
        allow_remote_store: allow a database that is neither on loopback nor behind
            a Unix socket; default ``COGENESIS_ALLOW_REMOTE_STORE``.
        audit_log: where the opening of a remote database is recorded; default
            ``$COGENESIS_HOME/audit.sqlite3``.
        encryption: checkpoints encrypted at rest (:mod:`~langchain_cogenesis.graphs.encryption`),
            every channel value included: ``None`` (default) when
            ``COGENESIS_CHECKPOINT_KEY`` is set, ``True`` always (the key is required),
            ``False`` never, or the serializer to use.

    Raises:
        RemoteCheckpointsNotAllowed: a remote database without the opt-in (nothing
            is sent).
        MissingExtra: the ``server`` extra is not installed.
        CheckpointerUnavailable: no connection string, or the database does not answer.
        CheckpointKeyMissing: ``encryption=True`` and no key is configured.
    """
    with MissingExtra.if_absent("server", _FEATURE):
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        from langchain_cogenesis.graphs._sealed_postgres import EncryptedPostgresSaver
    serde = _serde(encryption)
    uri = _uri(uri)
    shown = _check_host(uri, allow_remote_store, audit_log)
    pool: ConnectionPool[Any] = ConnectionPool(
        uri,
        min_size=1,
        max_size=max_connections,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        check=ConnectionPool.check_connection,  # replaces a connection a restart broke
        open=False,
    )
    try:
        pool.open(wait=True, timeout=connect_timeout)
        saver = EncryptedPostgresSaver(pool, serde=serde) if serde else PostgresSaver(pool)
        with psycopg.connect(uri, autocommit=True, connect_timeout=int(connect_timeout)) as lock:
            deadline = time.monotonic() + _SETUP_SECONDS
            while not _first(lock.execute(_TRY_LOCK, (_SETUP_LOCK,)).fetchone()):
                _wait_for_setup(deadline)
                time.sleep(_POLL_SECONDS)
            saver.setup()  # the lock goes with the connection
    except Exception as error:
        pool.close()
        raise _unreachable(shown, error) from error
    return saver


async def async_postgres_checkpointer(
    uri: str | None = None,
    *,
    max_connections: int = 4,
    connect_timeout: float = 10.0,
    allow_remote_store: bool | None = None,
    audit_log: AuditLog | Literal["default"] | None = "default",
    encryption: EncryptedSerializer | bool | None = None,
) -> AsyncPostgresSaver:
    """The asyncio twin of :func:`postgres_checkpointer`, for ``graph.ainvoke`` and
    ``astream`` (a sync ``PostgresSaver`` cannot serve them). Same arguments and
    errors; close with ``await saver.conn.close()``.
    """
    with MissingExtra.if_absent("server", _FEATURE):
        import psycopg
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        from langchain_cogenesis.graphs._sealed_postgres import AsyncEncryptedPostgresSaver
    serde = _serde(encryption)
    uri = _uri(uri)
    shown = _check_host(uri, allow_remote_store, audit_log)
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        uri,
        min_size=1,
        max_size=max_connections,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        check=AsyncConnectionPool.check_connection,
        open=False,
    )
    try:
        await pool.open(wait=True, timeout=connect_timeout)
        saver = (
            AsyncEncryptedPostgresSaver(pool, serde=serde) if serde else AsyncPostgresSaver(pool)
        )
        async with await psycopg.AsyncConnection.connect(
            uri, autocommit=True, connect_timeout=int(connect_timeout)
        ) as lock:
            deadline = time.monotonic() + _SETUP_SECONDS
            while not _first(await (await lock.execute(_TRY_LOCK, (_SETUP_LOCK,))).fetchone()):
                _wait_for_setup(deadline)
                await asyncio.sleep(_POLL_SECONDS)
            await saver.setup()
    except Exception as error:
        await pool.close()
        raise _unreachable(shown, error) from error
    return saver


def _serde(encryption: EncryptedSerializer | bool | None) -> EncryptedSerializer | None:
    if encryption is None or encryption is True:
        return checkpoint_serde(required=encryption is True)
    return encryption or None


def _uri(uri: str | None) -> str:
    # DATABASE_URI: the variable LangGraph's own server sets for its database
    found = uri or Settings.from_env().secret("postgres_uri") or os.environ.get("DATABASE_URI")
    if not found:
        raise CheckpointerUnavailable(
            "No PostgreSQL connection string: pass uri=, or set COGENESIS_POSTGRES_URI "
            "(e.g. postgresql://cogenesis:secret@127.0.0.1:5432/cogenesis)."
        )
    return found


def database_hosts(uri: str) -> list[str]:
    """The hosts ``uri`` connects to; an empty string stands for the default Unix socket."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(uri)
    hosts = str(params.get("host") or os.environ.get("PGHOST", "")).split(",")
    # hostaddr, when given, is the address really connected to
    addresses = [a for a in str(params.get("hostaddr") or "").split(",") if a]
    return addresses or hosts


def is_local_database(uri: str) -> bool:
    """Whether every host of ``uri`` is this machine: a Unix socket or loopback."""
    return all(
        not host or host.startswith(("/", "@")) or is_loopback_host(host)
        for host in database_hosts(uri)
    )


def shown_uri(uri: str) -> str:
    """``uri`` without its password (for messages and the audit log)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        params = conninfo_to_dict(uri)
    except Exception:
        return "<unparsable connection string>"
    params.pop("password", None)
    return make_conninfo(**{key: str(value) for key, value in params.items()})


def _check_host(
    uri: str, allow_remote: bool | None, audit_log: AuditLog | Literal["default"] | None
) -> str:
    """Refuse a remote database without the opt-in; record one opened with it."""
    from psycopg import ProgrammingError

    shown = shown_uri(uri)
    try:
        local = is_local_database(uri)
    except ProgrammingError as error:
        raise CheckpointerUnavailable(
            f"The PostgreSQL connection string {shown!r} cannot be parsed ({error}); "
            "use e.g. postgresql://user:password@127.0.0.1:5432/dbname."
        ) from None
    if local:
        return shown
    allowed = Settings.from_env().allow_remote_store if allow_remote is None else allow_remote
    if not allowed:
        raise RemoteCheckpointsNotAllowed(shown)
    from langchain_cogenesis.privacy.egress.audit import record_remote_destination

    record_remote_destination(
        shown,
        "remote-checkpoints",
        "every run's state (private context, private instruction, answer) goes to this "
        "PostgreSQL server",
        audit_log,
    )
    return shown


def _first(row: tuple[Any, ...] | None) -> bool:
    return bool(row and row[0])


def _wait_for_setup(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise TimeoutError(
            f"another process has been creating the checkpoint tables for {_SETUP_SECONDS:.0f} s"
        )


def _unreachable(shown: str, error: Exception) -> CheckpointerUnavailable:
    return CheckpointerUnavailable(
        f"Could not open the PostgreSQL checkpointer at {shown}: "
        f"{type(error).__name__}: {error}. Start PostgreSQL (a system server, or "
        "`pgserver.get_server(path)` from the server extra), check the connection "
        "string, and retry."
    )


def sqlite_checkpointer(path: Path | str) -> BaseCheckpointSaver[Any]:
    """A durable SQLite checkpointer (``langgraph-checkpoint-sqlite``) at ``path``: one
    process, on this device."""
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteSaver(sqlite3.connect(str(path), check_same_thread=False))
