"""`cogenesis users delete`: after ingest, writes with checkpoints and audited cloud
requests, no file under COGENESIS_HOME holds the deleted user's private strings."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from langchain_cogenesis.privacy import AuditLog
from tests.cloud_servers import RecordingServer
from tests.integration.cli.test_cli import cogenesis as cogenesis_command
from tests.unit.privacy.test_erasure import files_holding

pytestmark = pytest.mark.integration

CANARY = "CANARY-9XW2-QUILLFEATHER"
ADDRESS = "27 Marrowgate Fenwick Road"
NAME = "Isolde Varga-Pemberton"
PRIVATE = (CANARY, ADDRESS, NAME)


def cogenesis(home: Path, *args: str, **options: Any) -> subprocess.CompletedProcess[str]:
    """Each command in its own process: what erasure must find is what a finished
    command leaves on disk (closed databases, no write-ahead log held open)."""
    return cogenesis_command(home, *args, child=True, **options)


def test_users_delete_leaves_no_private_string_under_home(tmp_path: Path, model_path: Path) -> None:
    home = tmp_path / "home"
    notes = tmp_path / "isolde"
    notes.mkdir()
    (notes / "me.md").write_text(
        f"# About me\nName: {NAME}\nI live at {ADDRESS}. My gym locker code is {CANARY}.\n"
        "I am training for the Lakeside half marathon in April.",
        encoding="utf-8",
    )
    other = tmp_path / "teodor"
    other.mkdir()
    (other / "bees.md").write_text(
        "# Bees\nTeodor keeps four hives behind the allotment and sells honey on Saturdays.",
        encoding="utf-8",
    )
    for user, folder in (("isolde", notes), ("teodor", other)):
        done = cogenesis(home, "ingest", "--user", user, str(folder))
        assert done.returncode == 0, done.stderr

    short = ("--max-tokens", "12", "--sketch-tokens", "12", "--json")
    with RecordingServer(reply="1. Greet 2. Explain 3. Thank") as server:
        runs = [
            ("isolde", "--thread-id", "isolde-1", "--private",
             f"say my locker code {CANARY} changed and I moved to {ADDRESS}"),
            ("isolde", "--mode", "cloud-private", "--allow-private-egress", "--private",
             f"mention {NAME} and the code {CANARY}"),
            ("teodor", "--thread-id", "teodor-1", "--private", "mention the honey sale"),
        ]  # fmt: skip
        for user, *options in runs:
            done = cogenesis(
                home, "write", "--user", user, *short, *options, "Write a short note to my gym",
                cloud=server.base_url, model=model_path,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr

    before = files_holding(home, PRIVATE)
    # the control: the store, the audit log (cloud-private sent them on purpose) and the
    # checkpoints hold the private strings before the deletion
    assert {"store/chroma.sqlite3", "audit.sqlite3", "threads.sqlite3"} <= set(before), before

    deleted = cogenesis(home, "users", "delete", "isolde", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert "Erased isolde" in deleted.stdout and "warning" not in deleted.stderr

    assert files_holding(home, PRIVATE) == {}
    verified = cogenesis(home, "audit", "--verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # the other user is intact: stored, resumable, audited
    listed = json.loads(cogenesis(home, "users", "list", "--json").stdout)
    assert [entry["user_id"] for entry in listed] == ["teodor"]
    again = cogenesis(home, "write", "--user", "teodor", "--thread-id", "teodor-1", "again",
                      model=model_path)  # fmt: skip
    assert "Thread teodor-1 has finished" in again.stdout, again.stderr
    teodor_rows = AuditLog(home / "audit.sqlite3").entries("teodor")
    assert teodor_rows and all(row.payload for row in teodor_rows)
    isolde_rows = AuditLog(home / "audit.sqlite3").entries("isolde")
    assert isolde_rows and all(row.payload is None for row in isolde_rows)
    # deleting again finds nothing left
    assert cogenesis(home, "users", "delete", "isolde", "--yes").returncode == 2
