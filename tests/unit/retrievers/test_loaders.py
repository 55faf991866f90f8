from __future__ import annotations

import json
from pathlib import Path

import pytest

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.errors import SourceFileError
from langchain_cogenesis.retrievers import load_sources
from langchain_cogenesis.retrievers.loaders import load_source, user_context_documents

EML = b"""From: Maya Okafor <maya@example.org>
To: board@lindenstreet.example
Subject: Cannery plot lease
Date: Tue, 14 May 2024 21:04:00 +0000
Content-Type: text/plain; charset=utf-8

The landlord agreed to 300 a month for the Dock Road plot.
"""

MBOX = b"""From maya@example.org Tue May 14 21:04:00 2024
From: maya@example.org
Subject: First

Body one.

From tomas@example.org Wed May 15 07:00:00 2024
From: tomas@example.org
Subject: Second
Content-Type: text/html; charset=utf-8

<p>Body <b>two</b>.</p>
"""

ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:1@test
DTSTART:20240914T080000Z
DTEND:20240914T110000Z
SUMMARY:Millbrook River Run
LOCATION:River path
DESCRIPTION:First half marathon
END:VEVENT
END:VCALENDAR
"""


def test_profile_json_becomes_one_document_per_item(
    tmp_path: Path, demo_users: list[DatasetUser]
) -> None:
    user = demo_users[0].context
    path = tmp_path / "profile.json"
    path.write_text(user.model_dump_json(), encoding="utf-8")
    documents = load_source(path)
    kinds = [d.metadata["kind"] for d in documents]
    assert kinds.count("private_detail") == len(user.private_details)
    assert kinds.count("activity_log") == len(user.activity_logs)
    assert kinds.count("writing") == len(user.writing_history)
    assert kinds[0] == "profile"
    assert documents == [
        d.model_copy(update={"metadata": {**d.metadata, "source": str(path)}})
        for d in user_context_documents(user)
    ]


def test_notes_folder_is_read_recursively(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.md").write_text("# Plot ideas\nRaised beds by the fence.", encoding="utf-8")
    (tmp_path / "sub" / "b.txt").write_text("Call Mr. Halvorsen on Monday.", encoding="utf-8")
    (tmp_path / "ignored.bin").write_bytes(b"\x00\x01")
    documents = load_source(tmp_path)
    assert [d.metadata["title"] for d in documents] == ["Plot ideas", "b"]
    assert all(d.metadata["kind"] == "note" for d in documents)


def test_email_files(tmp_path: Path) -> None:
    (tmp_path / "one.eml").write_bytes(EML)
    (tmp_path / "box.mbox").write_bytes(MBOX)
    eml = load_source(tmp_path / "one.eml")
    assert eml[0].metadata["title"] == "Cannery plot lease"
    assert "300 a month for the Dock Road plot" in eml[0].page_content
    assert "From: Maya Okafor" in eml[0].page_content
    box = load_source(tmp_path / "box.mbox")
    assert [d.metadata["title"] for d in box] == ["First", "Second"]
    assert "Body one." in box[0].page_content
    assert "Body  two ." in box[1].page_content and "<b>" not in box[1].page_content


def test_calendar_events(tmp_path: Path) -> None:
    (tmp_path / "cal.ics").write_bytes(ICS)
    [event] = load_source(tmp_path / "cal.ics")
    assert event.metadata["kind"] == "calendar"
    assert "Event: Millbrook River Run" in event.page_content
    assert "Location: River path" in event.page_content
    assert "2024-09-14" in event.page_content


def test_activity_log_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(
        json.dumps({"timestamp": "2024-05-04", "text": "Bought compost"})
        + "\n\n"
        + json.dumps({"app": "run", "km": 14.2})
        + "\n",
        encoding="utf-8",
    )
    documents = load_source(path)
    assert documents[0].page_content == "[2024-05-04] Bought compost"
    assert json.loads(documents[1].page_content) == {"app": "run", "km": 14.2}
    assert documents[1].metadata["source"].endswith("log.jsonl:3")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("latin1.txt", "Café à la crème".encode("latin-1"), "not UTF-8"),
        ("binary.md", b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        ("log.jsonl", b'{"text": "ok"}\n{broken\n', "line 2"),
        ("bad.ics", b"BEGIN:VCALENDAR\nthis is not ical\n", "not a valid iCalendar"),
        ("profile.json", b'{"user_id": ""}', "not a valid profile JSON"),
        ("not-mail.mbox", b"hello, I am not an mbox", "not an mbox"),
        ("headers.eml", b"\n\njust a body", "no e-mail headers"),
        ("sheet.xlsx", b"PK", "unsupported file type"),
    ],
)
def test_broken_sources_raise_a_typed_error_naming_the_file(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SourceFileError, match=message) as raised:
        load_source(path)
    assert name in str(raised.value)


def test_load_sources_fails_whole_before_returning_anything(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("fine", encoding="utf-8")
    with pytest.raises(SourceFileError, match="does not exist"):
        load_sources([good, tmp_path / "missing.txt"])
