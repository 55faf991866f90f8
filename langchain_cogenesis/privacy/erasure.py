"""Erasure: remove one user's text from everything the package wrote on this device.

:func:`erase_user` is what ``cogenesis users delete ID`` runs. Under
``COGENESIS_HOME`` it goes through:

- the private stores (``store/`` and the evaluation stores): the user's collection,
  its index files and the freed database pages;
- the audit logs: the payload text of the user's rows and of any row that carries
  the user's private text, while the hashes stay, so ``cogenesis audit --verify``
  still passes (see :mod:`langchain_cogenesis.privacy.egress.audit`);
- the checkpoints (``threads.sqlite3``, ``cogenesis write --thread-id``, the served
  graphs' ``served-threads.sqlite3``, read with ``COGENESIS_CHECKPOINT_KEY``, and any
  checkpointer passed in, such as the PostgreSQL one that workers share): every
  thread run for the user or holding the user's private text;
- the evaluation caches and logs (``*.jsonl``, ``*.log``): the user's lines;
- in this process, the local models' saved prompt prefixes of the user
  (:mod:`langchain_cogenesis.models.prefix_cache`), wiped;

and then rewrites each SQLite file (``VACUUM``) so freed pages keep no text. "The
user's private text" is what the store holds for the user (and any
``private_texts`` given), matched by the same detectors that guard the cloud. Any
other file that still carries it is named in the report, not deleted.

Not covered: copies outside ``COGENESIS_HOME`` (a ``langgraph dev`` folder, a
checkpointer not passed in, backups), what a remote Chroma server or a cloud provider
kept, PostgreSQL's write-ahead log and replicas, and blocks of rewritten files that
the file system or an SSD has not reused yet.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_cogenesis import prompts
from langchain_cogenesis.errors import UnknownUser
from langchain_cogenesis.privacy.detection.detectors import tokens
from langchain_cogenesis.privacy.detection.scanner import PrivacyScanner
from langchain_cogenesis.privacy.egress.audit import AuditEntry, AuditLog, vacuum

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from langchain_cogenesis.retrievers.store import PrivateStore

_NAME_LINE = re.compile(r"^Name:\s*(.+)$", re.MULTILINE)
_SQLITE_MAGIC = b"SQLite format 3\x00"
_LINE_FILES = (".jsonl", ".log")
_SKIPPED = ("models",)  # model weights: no user text, and gigabytes to read
_STORE_BASED = ("ngram", "rare_token", "private_date", "canary", "pii:name")
"""Detectors that find the user's own text (not anyone's e-mail or phone pattern)."""
_LARGEST_SCANNED = 256 * 2**20
_VACUUM_CHECKPOINTS = "VACUUM FULL checkpoints, checkpoint_blobs, checkpoint_writes"
"""Rewrites LangGraph's PostgreSQL checkpoint tables, freeing deleted rows' pages."""


@dataclass
class ErasureReport:
    """What :func:`erase_user` removed, and what it could not."""

    user_id: str
    store_chunks: int = 0
    """Chunks deleted from the private stores."""
    audit_payloads: int = 0
    """Audit rows whose payload text was removed (the rows and hashes stay)."""
    threads: int = 0
    """Checkpointed threads deleted."""
    lines: int = 0
    """Lines removed from evaluation caches and logs."""
    prompt_states: int = 0
    """Saved prompt prefixes of the user dropped from the local models in this process."""
    rewritten: list[str] = field(default_factory=list)
    """Files rewritten so freed pages keep no text."""
    warnings: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        """Whether anything of the user was found."""
        return bool(self.store_chunks or self.audit_payloads or self.threads or self.lines)


class _UserText:
    """Decides whether a text carries the erased user's private text.

    The guard's store-based detectors, plus every code-like word of the user's
    documents (``AB-12-CD``): erasure prefers removing too much to too little.
    """

    def __init__(self, documents: Sequence[str], extra: Sequence[str]) -> None:
        names = [m.group(1).strip() for text in documents for m in _NAME_LINE.finditer(text)]
        self.scanner = PrivacyScanner(
            [*documents, *extra],
            names=names,
            canaries=extra,
            trusted_texts=prompts.TRUSTED_TEXT,
        )
        self.identifiers = {
            word
            for text in [*documents, *extra]
            for word, _, _ in tokens(text)
            if _identifier(word)
        }
        self.active = bool(documents or extra)

    def __call__(self, text: str) -> bool:
        if not self.active or not text:
            return False
        if any(word in self.identifiers for word, _, _ in tokens(text)):
            return True
        return any(hit.detector in _STORE_BASED for hit in self.scanner.scan(text))


def _identifier(word: str) -> bool:
    """A code that names one thing: six characters or more, letters and digits mixed
    (the rare-token detector counts only words with three digits or more)."""
    return len(word) >= 6 and any(ch.isdigit() for ch in word) and any(ch.isalpha() for ch in word)


def erase_user(
    user_id: str,
    *,
    home: Path | str | None = None,
    store: PrivateStore | None = None,
    private_texts: Iterable[str] = (),
    checkpointers: Sequence[BaseCheckpointSaver[Any]] = (),
) -> ErasureReport:
    """Remove ``user_id``'s text from everything the package wrote under ``home``.

    Args:
        user_id: the user to erase.
        home: the data folder; default ``COGENESIS_HOME``.
        store: the private store in use (e.g. a Chroma server); by default the
            store of ``home``. Every other store folder under ``home`` is erased too.
        private_texts: more strings of the user to remove wherever they occur
            (text the store never held, e.g. a private instruction typed once).
        checkpointers: checkpointers outside ``home`` to erase threads from too, e.g.
            the shared :func:`~langchain_cogenesis.graphs.checkpointers.postgres_checkpointer` of a
            scale-out deployment (its tables are rewritten with ``VACUUM FULL``).

    Raises:
        UnknownUser: nothing of ``user_id`` was found anywhere.

    Example:
        .. code-block:: python

            from langchain_cogenesis.privacy.erasure import erase_user

            report = erase_user("maya-okafor")
            print(report.store_chunks, report.audit_payloads, report.threads)
    """
    from langchain_cogenesis.config import Settings
    from langchain_cogenesis.models.loader import forget_user_states

    root = Path(home).expanduser() if home is not None else Settings.from_env().home
    report = ErasureReport(user_id)
    stores = _stores(root, store)
    documents = [
        document.page_content
        for each in stores
        if each.has_user(user_id)
        for document in each.documents(user_id)
    ]
    belongs = _UserText(documents, [text for text in private_texts if text.strip()])
    files = _files(root, {Path(each.location) for each in stores})
    for path, kind in files:
        if kind == "audit":
            _erase_audit(path, user_id, belongs, report)
        elif kind == "checkpoints":
            _erase_threads(path, user_id, belongs, report)
        elif kind == "lines":
            _erase_lines(path, user_id, belongs, report)
    for saver in checkpointers:
        _erase_saver_threads(saver, user_id, belongs, report)
    # the stores go last: if anything above fails, running again still knows the text
    for each in stores:
        if each.has_user(user_id):
            report.store_chunks += each.count(user_id)
            each.delete_user(user_id)
    # in memory only: dropped even for a user found nowhere on disk
    report.prompt_states = forget_user_states(user_id)
    if not report.found:
        raise UnknownUser(user_id)
    # what the detectors derived from the user's text (kept by each store) goes too
    for each in stores:
        each.forget(user_id)
    for path, kind in files:
        if kind == "other" and path.exists() and _carries(path, belongs):
            report.warnings.append(
                f"{path} still holds text of {user_id!r}; it was not written by a part of "
                "the package that erasure knows: remove it by hand."
            )
    return report


def _stores(home: Path, given: PrivateStore | None) -> list[PrivateStore]:
    """The given store (or ``home``'s), plus every other Chroma store folder under it."""
    from langchain_cogenesis.retrievers.store import PrivateStore

    stores: list[PrivateStore] = []
    if given is not None:
        stores.append(given)
    elif (home / "store" / "chroma.sqlite3").exists():
        stores.append(PrivateStore(home / "store"))
    known = {Path(each.location).resolve() for each in stores if each._path is not None}
    for database in sorted(home.rglob("chroma.sqlite3")):
        folder = database.parent.resolve()
        if folder not in known and not _under(folder, home / "models"):
            stores.append(PrivateStore(folder))
            known.add(folder)
    return stores


def _under(path: Path, folder: Path) -> bool:
    return path.is_relative_to(folder.resolve())


def _files(home: Path, store_folders: set[Path]) -> list[tuple[Path, str]]:
    """Every file under ``home`` outside the stores and model cache, with its kind."""
    skipped = [(home / name).resolve() for name in _SKIPPED]
    skipped += [folder.resolve() for folder in store_folders if folder.is_dir()]
    found: list[tuple[Path, str]] = []
    for directory, _, names in os.walk(home):
        folder = Path(directory).resolve()
        if any(folder == s or folder.is_relative_to(s) for s in skipped):
            continue
        for name in sorted(names):
            path = folder / name
            if path.is_symlink() or not path.is_file():
                continue
            found.append((path, _kind(path)))
    return found


def _kind(path: Path) -> str:
    if path.suffix in _LINE_FILES:
        return "lines"
    try:
        with path.open("rb") as handle:
            if handle.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
                return "other"
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    except (OSError, sqlite3.DatabaseError):
        return "other"
    if "egress" in tables:
        return "audit"
    if "checkpoints" in tables:
        return "checkpoints"
    return "other"


def _erase_audit(
    path: Path, user_id: str, belongs: Callable[[str], bool], report: ErasureReport
) -> None:
    def should_erase(entry: AuditEntry) -> bool:
        return entry.user_id == user_id or belongs(entry.payload or "")

    erased = AuditLog(path).erase_payloads(should_erase, user_id=user_id)
    if not erased.rows:
        return
    report.audit_payloads += erased.rows
    if erased.vacuumed:
        report.rewritten.append(str(path))
    else:
        report.warnings.append(f"{path} could not be rewritten now: run the erasure again.")
    if erased.problems_before:
        report.warnings.append(
            f"the audit log {path} did not verify before the erasure "
            f"({'; '.join(erased.problems_before)}); its payloads were erased all the same"
        )


def _erase_threads(
    path: Path, user_id: str, belongs: Callable[[str], bool], report: ErasureReport
) -> None:
    """Delete every checkpointed thread of ``user_id`` (or holding the user's text)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    from langchain_cogenesis.graphs.encryption import checkpoint_serde

    with closing(sqlite3.connect(str(path), check_same_thread=False, timeout=30)) as db:
        try:  # encrypted threads (the served graphs') are read with the configured key
            deleted = _delete_threads(SqliteSaver(db, serde=checkpoint_serde()), user_id, belongs)
        except Exception as error:  # an encrypted checkpoint without its key
            report.warnings.append(
                f"the checkpoints in {path} could not be read ({type(error).__name__}: "
                f"{error}); set COGENESIS_CHECKPOINT_KEY (and COGENESIS_CHECKPOINT_OLD_KEYS) "
                "and run the erasure again."
            )
            return
        db.commit()
    if deleted:
        report.threads += deleted
        if vacuum(path):
            report.rewritten.append(str(path))
        else:
            report.warnings.append(f"{path} could not be rewritten now: run the erasure again.")


def _erase_saver_threads(
    saver: BaseCheckpointSaver[Any],
    user_id: str,
    belongs: Callable[[str], bool],
    report: ErasureReport,
) -> None:
    """The same for a checkpointer passed in; a PostgreSQL one has its tables rewritten."""
    deleted = _delete_threads(saver, user_id, belongs)
    if not deleted:
        return
    report.threads += deleted
    name = type(saver).__name__
    if not _is_postgres(saver):
        return
    if _vacuum_postgres(saver):
        report.rewritten.append(f"{name}: checkpoints, checkpoint_blobs, checkpoint_writes")
        report.warnings.append(
            "PostgreSQL's write-ahead log, replicas and backups keep the deleted threads "
            "until they are recycled."
        )
    else:
        report.warnings.append(
            f"the {name} tables could not be rewritten now (VACUUM FULL): the deleted "
            "threads' pages stay on disk until the next VACUUM FULL."
        )


def _delete_threads(
    saver: BaseCheckpointSaver[Any], user_id: str, belongs: Callable[[str], bool]
) -> int:
    doomed: set[str] = set()
    for item in saver.list(None):
        thread_id = str(item.config["configurable"]["thread_id"])
        if thread_id in doomed:
            continue
        values = item.checkpoint.get("channel_values", {})
        writes = [value for _, _, value in item.pending_writes or []]
        metadata = item.metadata or {}
        # a served run names its owner in the metadata (graphs/auth.py stamps it)
        owned = user_id in (metadata.get("owner"), metadata.get("langgraph_auth_user_id"))
        if owned or values.get("user_id") == user_id or belongs(_as_text([values, writes])):
            doomed.add(thread_id)
    for thread_id in sorted(doomed):
        saver.delete_thread(thread_id)
    return len(doomed)


def _is_postgres(saver: BaseCheckpointSaver[Any]) -> bool:
    """Whether ``saver`` is LangGraph's PostgreSQL saver (without its extra, it cannot be)."""
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
    except ImportError:
        return False
    return isinstance(saver, PostgresSaver)


def _vacuum_postgres(saver: Any) -> bool:
    """Rewrite LangGraph's checkpoint tables so the deleted rows' pages are freed."""
    connection = saver.conn  # a psycopg pool or connection, in autocommit mode
    try:
        if hasattr(connection, "connection"):
            with connection.connection() as db:
                db.execute(_VACUUM_CHECKPOINTS)
        else:
            connection.execute(_VACUUM_CHECKPOINTS)
    except Exception:  # a transaction open on that connection, a missing privilege
        return False
    return True


def _as_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _erase_lines(
    path: Path, user_id: str, belongs: Callable[[str], bool], report: ErasureReport
) -> None:
    """Drop the lines of a JSONL cache or a log that are the user's or carry their text."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    except OSError as error:
        report.warnings.append(f"{path} could not be read ({error}); check it by hand.")
        return
    kept = [line for line in lines if not _line_of(line, user_id, belongs)]
    if len(kept) == len(lines):
        return
    temporary = path.with_name(path.name + ".erasing")
    temporary.write_text("".join(kept), encoding="utf-8")
    os.replace(temporary, path)  # whole file or none: a crash leaves the old one
    report.lines += len(lines) - len(kept)
    report.rewritten.append(str(path))


def _line_of(line: str, user_id: str, belongs: Callable[[str], bool]) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if isinstance(record, dict):
        sample = str(record.get("sample_id", ""))
        if record.get("user_id") == user_id or sample.startswith(f"{user_id}#"):
            return True  # an evaluation record of this user (see ResultCache)
    return belongs(line)


def _carries(path: Path, belongs: Callable[[str], bool]) -> bool:
    try:
        if path.stat().st_size > _LARGEST_SCANNED:
            return False
        return belongs(path.read_bytes().decode("utf-8", errors="ignore"))
    except OSError:
        return False
