"""Loaders for real private sources. Each returns LangChain ``Document`` objects.

Supported: a profile JSON (the :class:`UserContext` format), folders of text and
Markdown notes, e-mail (``.eml`` and ``.mbox``), calendars (``.ics``) and activity
logs (``.jsonl``). A file that cannot be read raises :class:`SourceFileError`
naming the file; loading happens before anything is stored, so nothing is lost.
"""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
import re
from collections.abc import Iterable
from email.message import EmailMessage, Message
from pathlib import Path

from langchain_core.documents import Document
from pydantic import ValidationError

from langchain_cogenesis.errors import SourceFileError
from langchain_cogenesis.schema import UserContext

NOTE_SUFFIXES = {".txt", ".md", ".markdown"}
SUFFIXES = NOTE_SUFFIXES | {".json", ".eml", ".mbox", ".ics", ".jsonl"}
MAX_FILE_BYTES = 50 * 1024 * 1024


def _doc(text: str, *, kind: str, source: str, title: str = "") -> Document:
    metadata = {"kind": kind, "source": source}
    if title:
        metadata["title"] = title
    return Document(page_content=text.strip(), metadata=metadata)


def user_context_documents(user: UserContext, source: str = "profile") -> list[Document]:
    """One document for the profile, each private detail, log and earlier writing."""
    documents = []
    profile_text = user.profile.as_text()
    if profile_text:
        documents.append(_doc(profile_text, kind="profile", source=source))
    documents += [_doc(d, kind="private_detail", source=source) for d in user.private_details]
    documents += [_doc(a, kind="activity_log", source=source) for a in user.activity_logs]
    documents += [
        _doc(w.text, kind="writing", source=source, title=w.title) for w in user.writing_history
    ]
    return [document for document in documents if document.page_content]


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SourceFileError(
                f"{path} is {size / 2**20:.0f} MiB; files over "
                f"{MAX_FILE_BYTES // 2**20} MiB are not ingested. Split it first."
            )
        return path.read_bytes()
    except OSError as error:
        raise SourceFileError(f"Cannot read {path}: {error.strerror or error}.") from None


def _read_text(path: Path) -> str:
    raw = _read_bytes(path)
    if b"\x00" in raw:
        raise SourceFileError(f"{path} looks like a binary file, not text; it was skipped.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SourceFileError(
            f"{path} is not UTF-8 text (bad byte at offset {error.start}). Convert it, "
            "e.g. `iconv -f latin1 -t utf-8`, and ingest again."
        ) from None


def load_profile(path: Path) -> UserContext:
    """Read a :class:`UserContext` from a JSON file."""
    try:
        return UserContext.model_validate_json(_read_text(path))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the top level"
        raise SourceFileError(
            f"{path} is not a valid profile JSON: {where}: {first['msg']}."
        ) from None


def load_note(path: Path) -> list[Document]:
    """A text or Markdown note; the first heading or the file name is its title."""
    text = _read_text(path)
    heading = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
    title = heading.group(1).strip() if heading else path.stem
    return [_doc(text, kind="note", source=str(path), title=title)] if text.strip() else []


def _email_text(message: Message) -> tuple[str, str]:
    subject = str(message.get("subject", "") or "")
    header = "\n".join(
        f"{name}: {message[name]}" for name in ("From", "To", "Date", "Subject") if message[name]
    )
    body = ""
    if isinstance(message, EmailMessage):
        part = message.get_body(preferencelist=("plain", "html"))
        if part is not None:
            body = part.get_content()
            if part.get_content_type() == "text/html":
                body = re.sub(r"<[^>]+>", " ", body)
    else:
        payload = message.get_payload(decode=True)
        if isinstance(payload, bytes):
            body = payload.decode(message.get_content_charset() or "utf-8", errors="replace")
    return subject, f"{header}\n\n{body.strip()}"


def load_eml(path: Path) -> list[Document]:
    """One e-mail message."""
    raw = _read_bytes(path)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not message.keys():
        raise SourceFileError(f"{path} has no e-mail headers; is it an .eml file?")
    subject, text = _email_text(message)
    return [_doc(text, kind="email", source=str(path), title=subject)]


def load_mbox(path: Path) -> list[Document]:
    """Every message of an mbox file."""
    raw = _read_bytes(path)
    if raw.strip() and not raw.startswith(b"From "):
        raise SourceFileError(f"{path} does not start with 'From ': it is not an mbox file.")
    documents = []
    box = mailbox.mbox(str(path), factory=None, create=False)
    try:
        for key in box.iterkeys():
            message = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
            subject, text = _email_text(message)
            documents.append(_doc(text, kind="email", source=f"{path}#{key}", title=subject))
    finally:
        box.close()
    return documents


def load_ics(path: Path) -> list[Document]:
    """Every event of an iCalendar file."""
    from icalendar import Calendar

    raw = _read_bytes(path)
    try:
        calendar = Calendar.from_ical(raw)
    except ValueError as error:
        raise SourceFileError(f"{path} is not a valid iCalendar file: {error}.") from None
    documents = []
    for event in calendar.walk("VEVENT"):
        summary = str(event.get("SUMMARY", "") or "")
        lines = [f"Event: {summary}"]
        for name, label in (("DTSTART", "Starts"), ("DTEND", "Ends")):
            if event.get(name) is not None:
                lines.append(f"{label}: {event.decoded(name)}")
        for name, label in (("LOCATION", "Location"), ("DESCRIPTION", "Description")):
            if event.get(name):
                lines.append(f"{label}: {event.get(name)}")
        documents.append(_doc("\n".join(lines), kind="calendar", source=str(path), title=summary))
    return documents


def load_activity_log(path: Path) -> list[Document]:
    """A JSONL activity log: one JSON object per line (``text``/``event``/``message``)."""
    documents = []
    for number, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as error:
            raise SourceFileError(
                f"{path}, line {number}: not valid JSON ({error.msg}). Fix or remove the line."
            ) from None
        if not isinstance(entry, dict):
            raise SourceFileError(f"{path}, line {number}: expected a JSON object.")
        text = entry.get("text") or entry.get("event") or entry.get("message")
        if not isinstance(text, str):
            text = json.dumps(entry, ensure_ascii=False, sort_keys=True)
        when = entry.get("timestamp") or entry.get("time") or entry.get("date")
        if when:
            text = f"[{when}] {text}"
        documents.append(_doc(text, kind="activity_log", source=f"{path}:{number}"))
    return documents


def load_source(path: Path | str) -> list[Document]:
    """Load one file or a folder (recursively) into documents; those without text are left out."""
    return [document for document in _load(Path(path)) if document.page_content.strip()]


def _load(path: Path) -> list[Document]:
    if path.is_dir():
        documents: list[Document] = []
        for child in sorted(path.rglob("*")):
            if child.is_file() and child.suffix.lower() in SUFFIXES:
                documents.extend(load_source(child))
        return documents
    if not path.exists():
        raise SourceFileError(f"{path} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return user_context_documents(load_profile(path), source=str(path))
    if suffix in NOTE_SUFFIXES:
        return load_note(path)
    if suffix == ".eml":
        return load_eml(path)
    if suffix == ".mbox":
        return load_mbox(path)
    if suffix == ".ics":
        return load_ics(path)
    if suffix == ".jsonl":
        return load_activity_log(path)
    raise SourceFileError(
        f"{path}: unsupported file type {suffix or '(none)'}. Supported: "
        + ", ".join(sorted(SUFFIXES))
    )


def load_sources(paths: Iterable[Path | str]) -> list[Document]:
    """Load every path; any failure raises before anything is returned."""
    documents: list[Document] = []
    for path in paths:
        documents.extend(load_source(path))
    return documents
