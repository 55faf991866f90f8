"""The embedded store's folder on disk: is it a Chroma store, is its index intact, and
erasing what Chroma leaves behind when a user is deleted."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

from langchain_cogenesis.caches import BoundedCache
from langchain_cogenesis.errors import NotAChromaStore, StoreCorrupted

CHROMA_FILE = "chroma.sqlite3"
_PROBES = 8
_FULLTEXT = "embedding_fulltext_search"
# the store's own logger: its warnings kept the name they had before this module existed
_log = logging.getLogger("langchain_cogenesis.retrievers.store")


def check_store_path(path: Path) -> None:
    """Refuse a path that is a file, a folder of other files, or a damaged Chroma store
    (a new or empty folder passes); nothing in it is changed."""
    if path.exists() and not path.is_dir():
        raise NotAChromaStore(
            f"The store path {path} is a file, not a Chroma store folder. Point "
            "COGENESIS_HOME (or the store path) at a folder."
        )
    if not path.is_dir():
        return
    chroma_file = path / CHROMA_FILE
    if not chroma_file.exists():
        if any(path.iterdir()):
            raise NotAChromaStore(
                f"The folder {path} holds other files and no Chroma store. Nothing was "
                "changed in it; choose an empty folder or an existing store."
            )
        return
    try:
        with closing(sqlite3.connect(f"file:{chroma_file}?mode=ro", uri=True)) as connection:
            verdict = connection.execute("PRAGMA quick_check").fetchone()
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as error:
        raise NotAChromaStore(
            f"{chroma_file} is not a readable Chroma database ({error}). Restore it from "
            "a backup or move it away; it was not modified."
        ) from None
    if verdict != ("ok",):
        raise StoreCorrupted(
            f"{chroma_file} is damaged (SQLite integrity check: {verdict[0]}). Restore it "
            "from a backup or move it away; it was not modified."
        )
    if tables and "collections" not in tables:
        raise NotAChromaStore(f"{chroma_file} is an SQLite file but not a Chroma store.")


def check_index(
    user_id: str, collection: Any, *, location: str, checked: BoundedCache[str, bool]
) -> None:
    """Once per process and user: stored vectors must find themselves (a damaged
    or missing index file otherwise returns wrong results without an error)."""
    if checked.get(collection.name):
        return
    size = collection.count()
    offsets = sorted({i * (size - 1) // (_PROBES - 1) for i in range(_PROBES)}) if size else []
    misses = 0
    try:
        for offset in offsets:
            stored = collection.get(offset=offset, limit=1, include=["embeddings"])
            found = collection.query(
                query_embeddings=[stored["embeddings"][0]], n_results=1, include=["distances"]
            )
            # itself, or an identical vector (the same text stored twice)
            misses += not (found["distances"][0] and found["distances"][0][0] < 1e-3)
    except Exception as error:
        misses, detail = -1, f"{type(error).__name__}: {error}"
    else:
        detail = f"{misses} of {len(offsets)} stored chunks cannot find themselves"
    if misses:
        raise StoreCorrupted(
            f"The vector index of user {user_id!r} in the store at {location} is "
            f"damaged ({detail}). Restore the store from a backup, or delete and "
            f"re-ingest this user (`cogenesis users delete {user_id}`, then "
            "`cogenesis ingest`). Nothing was returned."
        )
    checked.put(collection.name, True)


def erase_leftovers(path: Path) -> None:
    """Remove index folders no segment refers to, and rewrite the database so freed
    pages (with deleted text in them) are gone."""
    with closing(sqlite3.connect(path / CHROMA_FILE, timeout=30)) as connection:
        live = {row[0] for row in connection.execute("SELECT id FROM segments")}
        for entry in path.iterdir():
            if entry.is_dir() and _is_uuid(entry.name) and entry.name not in live:
                shutil.rmtree(entry, ignore_errors=True)
        try:
            # a deleted row leaves its words in the full-text index until it is merged
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
            if _FULLTEXT in tables:
                connection.execute(f"INSERT INTO {_FULLTEXT}({_FULLTEXT}) VALUES ('optimize')")
                connection.commit()
            connection.execute("VACUUM")
        except sqlite3.OperationalError as error:  # a long read elsewhere holds the file
            _log.warning(
                "The user was deleted, but the freed pages of %s could not be erased now "
                "(%s); run `chroma vacuum --path %s` when nothing uses the store.",
                path / CHROMA_FILE,
                error,
                path,
            )


def _is_uuid(name: str) -> bool:
    try:
        uuid.UUID(name)
    except ValueError:
        return False
    return True
