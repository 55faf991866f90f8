"""``cogenesis ingest`` and ``cogenesis users``: what the private store holds."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from langchain_cogenesis.config import Settings


def open_store(settings: Settings) -> Any:
    """The private store the settings name (a remote one is audited)."""
    from langchain_cogenesis.privacy import AuditLog
    from langchain_cogenesis.retrievers import PrivateStore

    return PrivateStore(
        settings.store_path,
        chroma_url=settings.chroma_url,
        allow_remote_store=settings.allow_remote_store,
        audit_log=AuditLog(settings.home / "audit.sqlite3") if settings.chroma_url else None,
    )


def add_ingest_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``ingest``."""
    ingest = commands.add_parser("ingest", help="store private sources for a user")
    ingest.add_argument("--user", required=True, help="the user the sources belong to")
    ingest.add_argument("paths", nargs="+", help="files or folders")
    ingest.set_defaults(handler=cmd_ingest)


def add_users_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``users list`` and ``users delete``."""
    users = commands.add_parser("users", help="list or delete stored users")
    users_commands = users.add_subparsers(dest="users_command", required=True)
    users_list = users_commands.add_parser("list", help="the stored users and their chunks")
    users_list.add_argument("--json", action="store_true", help="print the list as JSON")
    users_delete = users_commands.add_parser(
        "delete",
        help="erase the user's text everywhere under COGENESIS_HOME, and from the "
        "PostgreSQL checkpointer when COGENESIS_POSTGRES_URI is set",
    )
    users_delete.add_argument("user_id", help="the user to erase")
    users_delete.add_argument(
        "--yes", action="store_true", help="erase without asking (needed when not at a terminal)"
    )
    users.set_defaults(handler=cmd_users)


def _confirmed(user_id: str) -> bool:
    """Ask before erasing; refuse when nobody is at a terminal to answer."""
    if not sys.stdin.isatty():
        print(
            f"error: `users delete {user_id}` erases for good; run it at a terminal to "
            "confirm, or pass --yes.",
            file=sys.stderr,
        )
        return False
    answer = input(
        f"Erase every trace of {user_id!r} under this home? This cannot be undone [y/N] "
    )
    return answer.strip().lower() in ("y", "yes")


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    """Load private sources and store them for a user."""
    from langchain_cogenesis.retrievers import load_sources

    documents = load_sources(args.paths)  # reads everything before storing anything
    store = open_store(settings)
    chunks = store.add_documents(args.user, documents, show_progress=True)
    print(f"Stored {chunks} chunks from {len(documents)} documents for {args.user}.")
    return 0


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    """List or delete stored users."""
    store = open_store(settings)
    if args.users_command == "list":
        users = store.list_users()
        if args.json:
            print(json.dumps([{"user_id": u, "chunks": store.count(u)} for u in users]))
        for user_id in [] if args.json else users:
            print(f"{user_id}\t{store.count(user_id)} chunks")
        if not users and not args.json:
            print(f"No users are stored in {store.location}.", file=sys.stderr)
        return 0
    from langchain_cogenesis.privacy.erasure import erase_user

    if not args.yes and not _confirmed(args.user_id):
        print("Nothing was erased.", file=sys.stderr)
        return 1

    savers = []
    if settings.postgres_uri:  # the workers' shared threads
        from langchain_cogenesis.graphs.checkpointers import postgres_checkpointer

        savers.append(postgres_checkpointer())
    try:
        erased = erase_user(args.user_id, home=settings.home, store=store, checkpointers=savers)
    finally:
        for saver in savers:
            saver.conn.close()
    print(
        f"Erased {args.user_id}: {erased.store_chunks} stored chunks, the payload text of "
        f"{erased.audit_payloads} audit rows (their hashes stay), {erased.threads} "
        f"checkpointed threads, {erased.lines} cache and log lines."
    )
    for warning in erased.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0
