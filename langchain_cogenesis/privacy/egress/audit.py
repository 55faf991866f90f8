"""The audit log: every egress attempt, hash-chained in a local SQLite file.

Each row stores the hash of the previous row, and its own hash covers all its
fields and that link. Editing a row breaks its hash; deleting one breaks the link
of the next; deleting the newest rows is caught by the head hash kept beside the
database (``<file>.head``). Whoever can rewrite both the file and the head can
rewrite history: the log proves integrity against edits, not against its owner.

A row's hash covers the payload's sha256, not its text (format 2), so the text of
an erased user's payloads can be removed (:meth:`AuditLog.erase_payloads`) while
the chain still verifies; a payload that is present must match its sha256. Rows
written before format 2 hashed the text itself and verify as they always did; when
one of them is erased, the whole chain is first checked and then re-hashed in
format 2, and the erasure row records the head it had before.

Size: a little over 400 lines; the hash chain, its verification and its erasure are
one invariant and stay in one module.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from langchain_cogenesis.errors import StoreError

GENESIS = "0" * 64
HASH_FORMAT = 2
"""Rows hash the payload's sha256 (format 2); format 1 rows hashed the text."""
SENT_DECISIONS = frozenset({"sent", "redacted", "sent_with_private_context"})
"""Decisions after which the payload left the device (its text is kept for review)."""

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
    attempt INTEGER NOT NULL DEFAULT 1,
    hash_format INTEGER NOT NULL DEFAULT 1
)
"""
# Logs written before retries were recorded have no attempt column, and logs
# written before format 2 no hash_format column; both are added with default 1,
# so older rows hash as they always did.
_ADD_COLUMNS = {
    "attempt": "ALTER TABLE egress ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1",
    "hash_format": "ALTER TABLE egress ADD COLUMN hash_format INTEGER NOT NULL DEFAULT 1",
}

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
    if values.get("hash_format", 1) == 1:
        fields = [values[name] for name in _FIELDS]
        if values.get("attempt", 1) != 1:
            fields.append(values["attempt"])
    else:  # the payload's text is left out: it may be erased, its sha256 stays
        fields = [values[name] for name in _FIELDS if name != "payload"]
        fields += [values.get("attempt", 1), values["hash_format"]]
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
                for column, statement in _ADD_COLUMNS.items():
                    if column not in columns:
                        db.execute(statement)
        except sqlite3.DatabaseError as error:
            raise StoreError(
                f"The audit log {self.path} is not a readable SQLite database ({error}). "
                "Move it away to start a new log; it was not modified."
            ) from None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one block: committed when it ends well, rolled back when it
        raises, and closed either way (``with sqlite3.connect()`` alone never closes)."""
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.row_factory = sqlite3.Row
            with db:
                yield db

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
            values = self._append(
                db,
                user_id=user_id,
                destination=destination,
                purpose=purpose,
                decision=decision,
                hits=hits,
                payload=payload,
                attempt=attempt,
            )
            db.commit()
            self._write_head(values["id"], values["row_hash"])
        return self._entry(values)

    def _append(
        self,
        db: sqlite3.Connection,
        *,
        user_id: str,
        destination: str,
        purpose: str,
        decision: str,
        hits: list[dict[str, Any]],
        payload: str,
        attempt: int = 1,
    ) -> dict[str, Any]:
        """Insert one row after the newest (inside the caller's write transaction)."""
        last = db.execute("SELECT id, row_hash FROM egress ORDER BY id DESC LIMIT 1").fetchone()
        values: dict[str, Any] = {
            "id": (last["id"] + 1) if last else 1,
            "time": datetime.now(UTC).isoformat(timespec="microseconds"),
            "user_id": user_id,
            "destination": destination,
            "purpose": purpose,
            "decision": decision,
            "hits": json.dumps(hits, ensure_ascii=False, sort_keys=True),
            # the text of a payload that never left is not kept: its hash proves it
            "payload": payload if self.store_payloads and decision in SENT_DECISIONS else None,
            "payload_sha256": hashlib.sha256(payload.encode("utf-8")).hexdigest(),
            "prev_hash": last["row_hash"] if last else GENESIS,
            "attempt": attempt,
            "hash_format": HASH_FORMAT,
        }
        values["row_hash"] = _row_hash(values)
        db.execute(
            f"INSERT INTO egress ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
            list(values.values()),
        )
        return values

    def _write_head(self, row_id: int, row_hash: str) -> None:
        self.head_path.write_text(f"{row_id} {row_hash}\n", encoding="utf-8")

    @staticmethod
    def _entry(values: dict[str, Any]) -> AuditEntry:
        fields = {key: value for key, value in values.items() if key != "hash_format"}
        return AuditEntry(**{**fields, "hits": json.loads(values["hits"])})

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
        rows = list(self._rows())
        problems = self._problems(rows)
        return AuditVerification(ok=not problems, rows=len(rows), problems=problems)

    def _problems(self, rows: list[dict[str, Any]]) -> list[str]:
        problems: list[str] = []
        previous_hash, previous_id = GENESIS, 0
        for row in rows:
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
        elif rows:
            problems.append(f"the head file {self.head_path} is missing")
        return problems

    def erase_payloads(
        self, should_erase: Callable[[AuditEntry], bool], *, user_id: str = ""
    ) -> ErasedPayloads:
        """Remove the text of every payload for which ``should_erase`` is true.

        The rows stay, with their sha256, so :meth:`verify` still passes; one row is
        appended that records the erasure (``purpose="erasure"``, no text). Rows in
        the older format are re-hashed first (see the module's docstring), only when
        the chain verifies; a chain that does not is erased all the same (privacy
        first) and the result says so. The file is then rewritten (``VACUUM``) so
        the freed pages keep no text.
        """
        with self._lock, self._connect() as db:
            db.execute("PRAGMA secure_delete = ON")  # freed pages are zeroed
            db.execute("BEGIN IMMEDIATE")
            rows = [dict(row) for row in db.execute("SELECT * FROM egress ORDER BY id")]
            targets = [
                row["id"]
                for row in rows
                if row["payload"] is not None and should_erase(self._entry(row))
            ]
            if not targets:
                db.rollback()
                return ErasedPayloads(rows=0)
            problems = self._problems(rows)
            erasure: dict[str, Any] = {"detector": "erasure", "rows": len(targets)}
            if problems:
                erasure["chain_problems_before"] = len(problems)
            elif any(row["hash_format"] != HASH_FORMAT for row in rows):
                erasure["rehashed_rows"] = len(rows)
                erasure["previous_head"] = rows[-1]["row_hash"]
                self._rehash(db, rows)
            db.executemany("UPDATE egress SET payload = NULL WHERE id = ?", [(i,) for i in targets])
            values = self._append(
                db,
                user_id=user_id,
                destination="local",
                purpose="erasure",
                decision="erased",
                hits=[erasure],
                payload="",
            )
            db.commit()
            self._write_head(values["id"], values["row_hash"])
        return ErasedPayloads(
            rows=len(targets),
            rehashed=int(erasure.get("rehashed_rows", 0)),
            problems_before=problems,
            vacuumed=vacuum(self.path),
        )

    def _rehash(self, db: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
        """Rewrite every row's hash in the current format (after the chain verified)."""
        previous = GENESIS
        for row in rows:
            row.update(prev_hash=previous, hash_format=HASH_FORMAT)
            row["row_hash"] = _row_hash(row)
            db.execute(
                "UPDATE egress SET prev_hash = ?, hash_format = ?, row_hash = ? WHERE id = ?",
                (row["prev_hash"], HASH_FORMAT, row["row_hash"], row["id"]),
            )
            previous = row["row_hash"]


class ErasedPayloads(BaseModel):
    """What :meth:`AuditLog.erase_payloads` did."""

    rows: int
    """Rows whose payload text was removed."""
    rehashed: int = 0
    """Rows re-hashed from the older format first."""
    problems_before: list[str] = Field(default_factory=list)
    """What the chain check found before erasing (then nothing was re-hashed)."""
    vacuumed: bool = True
    """Whether the file was rewritten so freed pages keep no text."""


def vacuum(path: Path) -> bool:
    """Rewrite the SQLite file at ``path`` so freed pages (deleted text) are gone.

    Also empties a write-ahead log beside it. ``False`` (and a warning) when another
    connection holds the file and it cannot be rewritten now.
    """
    import logging

    try:
        with closing(sqlite3.connect(path, timeout=30)) as db:
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError as error:
        logging.getLogger(__name__).warning(
            "could not rewrite %s now (%s); deleted text may remain in its free pages "
            "until it is rewritten (run the erasure again when nothing uses the file)",
            path,
            error,
        )
        return False
    return True


def record_remote_destination(
    destination: str,
    purpose: str,
    what_leaves: str,
    audit_log: AuditLog | Literal["default"] | None,
) -> None:
    """A warning and an audit row: the user opted in to keeping private state off the device.

    ``purpose`` names the destination's role (``remote-store``, ``remote-checkpoints``);
    ``what_leaves`` says in words what goes there, for the log line and the audit row.
    """
    import logging

    logging.getLogger("langchain_cogenesis.privacy").warning(
        "%s at %s: private context leaves this device, %s (allowed by allow_remote_store)",
        purpose,
        destination,
        what_leaves,
        extra={"egress": {"destination": destination, "purpose": purpose,
                          "decision": "sent_with_private_context"}},
    )  # fmt: skip
    log = AuditLog() if audit_log == "default" else audit_log
    if log is not None:
        log.record(
            user_id="",
            destination=destination,
            purpose=purpose,
            decision="sent_with_private_context",
            hits=[],
            payload=f"open {purpose} at {destination}; {what_leaves}",
        )
