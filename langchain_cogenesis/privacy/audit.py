"""The audit log: every egress attempt, hash-chained in a local SQLite file.

Each row stores the hash of the previous row, and its own hash covers all its
fields and that link. Editing a row breaks its hash; deleting one breaks the link
of the next; deleting the newest rows is caught by the head hash kept beside the
database (``<file>.head``). Whoever can rewrite both the file and the head can
rewrite history: the log proves integrity against edits, not against its owner.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from langchain_cogenesis.errors import StoreError

GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS egress (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    user_id TEXT NOT NULL,
    destination TEXT NOT NULL,
    purpose TEXT NOT NULL,
    decision TEXT NOT NULL,
    hits TEXT NOT NULL,
    payload TEXT,
    payload_sha256 TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    row_hash TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 1
)
"""
# Logs written before retries were recorded have no attempt column; it is added
# with the default 1, and first attempts hash as they always did.
_ADD_ATTEMPT = "ALTER TABLE egress ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1"

_FIELDS = (
    "id",
    "time",
    "user_id",
    "destination",
    "purpose",
    "decision",
    "hits",
    "payload",
    "payload_sha256",
    "prev_hash",
)


class AuditEntry(BaseModel):
    """One egress attempt."""

    id: int
    time: str
    user_id: str
    destination: str
    purpose: str
    decision: str
    hits: list[dict[str, Any]] = Field(default_factory=list)
    payload: str | None = None
    payload_sha256: str
    prev_hash: str
    row_hash: str
    attempt: int = 1
    """1 for the first sending of a payload; 2, 3, ... for retries of the same payload."""


class AuditVerification(BaseModel):
    """The result of checking the chain."""

    ok: bool
    rows: int
    problems: list[str] = Field(default_factory=list)


def _row_hash(values: dict[str, Any]) -> str:
    fields = [values[name] for name in _FIELDS]
    if values.get("attempt", 1) != 1:
        fields.append(values["attempt"])
    canonical = json.dumps(fields, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AuditLog:
    """Append-only, hash-chained record of egress attempts.

    Key init args:
        path: the SQLite file (default ``$COGENESIS_HOME/audit.sqlite3``).
        store_payloads: keep the payload text; ``False`` keeps only its sha256.

    Instantiate:
        .. code-block:: python

            from langchain_cogenesis.privacy import AuditLog

            log = AuditLog("/tmp/audit.sqlite3")
            log.verify().ok
    """

    def __init__(self, path: Path | str | None = None, *, store_payloads: bool = True) -> None:
        if path is None:
            from langchain_cogenesis.config import Settings

            path = Settings.from_env().home / "audit.sqlite3"
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self.store_payloads = store_payloads
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._connect() as db:
                db.execute(_SCHEMA)
                columns = {row["name"] for row in db.execute("PRAGMA table_info(egress)")}
                if "attempt" not in columns:
                    db.execute(_ADD_ATTEMPT)
        except sqlite3.DatabaseError as error:
            raise StoreError(
                f"The audit log {self.path} is not a readable SQLite database ({error}). "
                "Move it away to start a new log; it was not modified."
            ) from None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def record(
        self,
        *,
        user_id: str,
        destination: str,
        purpose: str,
        decision: str,
        hits: list[dict[str, Any]],
        payload: str,
        attempt: int = 1,
    ) -> AuditEntry:
        """Append one attempt and return it (``attempt`` > 1: a retry of the same payload)."""
        with self._lock, self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            last = db.execute("SELECT id, row_hash FROM egress ORDER BY id DESC LIMIT 1").fetchone()
            values: dict[str, Any] = {
                "id": (last["id"] + 1) if last else 1,
                "time": datetime.now(UTC).isoformat(timespec="microseconds"),
                "user_id": user_id,
                "destination": destination,
                "purpose": purpose,
                "decision": decision,
                "hits": json.dumps(hits, ensure_ascii=False, sort_keys=True),
                "payload": payload if self.store_payloads else None,
                "payload_sha256": hashlib.sha256(payload.encode("utf-8")).hexdigest(),
                "prev_hash": last["row_hash"] if last else GENESIS,
                "attempt": attempt,
            }
            values["row_hash"] = _row_hash(values)
            db.execute(
                f"INSERT INTO egress ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                list(values.values()),
            )
            db.commit()
            self.head_path.write_text(f"{values['id']} {values['row_hash']}\n", encoding="utf-8")
        return self._entry(values)

    @staticmethod
    def _entry(values: dict[str, Any]) -> AuditEntry:
        return AuditEntry(**{**values, "hits": json.loads(values["hits"])})

    def _rows(self) -> Iterator[dict[str, Any]]:
        with self._connect() as db:
            for row in db.execute("SELECT * FROM egress ORDER BY id"):
                yield dict(row)

    def entries(self, user_id: str | None = None) -> list[AuditEntry]:
        """Every attempt, oldest first; only ``user_id``'s when given."""
        return [
            self._entry(row) for row in self._rows() if user_id is None or row["user_id"] == user_id
        ]

    def verify(self) -> AuditVerification:
        """Recompute the chain and compare it with the head."""
        problems: list[str] = []
        previous_hash, previous_id, count = GENESIS, 0, 0
        for row in self._rows():
            count += 1
            if row["id"] != previous_id + 1:
                problems.append(f"rows {previous_id + 1}..{row['id'] - 1} are missing")
            if row["prev_hash"] != previous_hash:
                problems.append(f"row {row['id']} does not link to the row before it")
            if _row_hash(row) != row["row_hash"]:
                problems.append(f"row {row['id']} was modified after it was written")
            if row["payload"] is not None:
                digest = hashlib.sha256(row["payload"].encode("utf-8")).hexdigest()
                if digest != row["payload_sha256"]:
                    problems.append(f"row {row['id']}'s payload does not match its hash")
            previous_hash, previous_id = row["row_hash"], row["id"]
        if self.head_path.exists():
            head_id, _, head_hash = (
                self.head_path.read_text(encoding="utf-8").strip().partition(" ")
            )
            if head_id != str(previous_id) or head_hash != previous_hash:
                problems.append(
                    f"the log ends at row {previous_id} but its head records row {head_id}: "
                    "rows were removed from the end or the head was changed"
                )
        elif count:
            problems.append(f"the head file {self.head_path} is missing")
        return AuditVerification(ok=not problems, rows=count, problems=problems)
