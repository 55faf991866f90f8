"""The served graphs under ``langgraph dev`` with langgraph.json's auth and checkpointer:
two users with two tokens, an admin, anonymous and forged callers, checkpoints at rest
and erasure afterwards."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.graphs.encryption import SERVED_SQLITE
from langchain_cogenesis.graphs.tokens import TokenFile, new_key
from langchain_cogenesis.models.standin import free_port
from tests.langgraph_dev import langgraph_dev

pytestmark = pytest.mark.integration

MAYA, DANIEL = "maya-okafor", "daniel-reyes"


def call(
    url: str, body: dict[str, Any] | None = None, *, token: str | None = None, method: str = ""
) -> tuple[int, Any]:
    """The HTTP status and decoded answer of one request (errors included)."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    method = method or ("POST" if data is not None else "GET")
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=600) as answer:
            text = answer.read()
            return answer.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, text.decode(errors="replace")


@dataclass
class Served:
    url: str
    home: Path
    folder: Path
    key: str
    tokens: dict[str, str]
    users: dict[str, DatasetUser]

    def run(self, who: str, request: dict[str, Any], thread: str | None = None) -> Any:
        path = f"/threads/{thread}/runs/wait" if thread else "/runs/wait"
        body = {"assistant_id": "cogenesis_sketch", "input": request}
        return call(self.url + path, body, token=self.tokens[who])

    def thread(self, who: str) -> str:
        status, thread = call(self.url + "/threads", {}, token=self.tokens[who])
        assert status == 200, thread
        return str(thread["thread_id"])


def ingest_two_users(env: dict[str, str]) -> None:
    """Store Maya's and Daniel's private context where ``env`` points the package."""
    ingest = (
        "from langchain_cogenesis.data import load_demo_users\n"
        "from langchain_cogenesis.retrievers import PrivateStore\n"
        "store = PrivateStore()\n"
        "for user in load_demo_users()[:2]:\n"
        "    store.add_user_context(user.context)\n"
    )
    subprocess.run([sys.executable, "-c", ingest], env=env, check=True, timeout=300)


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, model_path: Path, demo_users: list[DatasetUser]
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("served")
    home = folder / "home"
    users = {user.context.user_id: user for user in demo_users[:2]}
    assert set(users) == {MAYA, DANIEL}
    tokens_file = TokenFile(home / "tokens.json")
    tokens = {
        MAYA: tokens_file.issue(MAYA),
        DANIEL: tokens_file.issue(DANIEL),
        "admin": tokens_file.issue("operator", admin=True),
    }
    key = new_key()
    env = {
        **os.environ,
        "COGENESIS_HOME": str(home),
        "COGENESIS_LOCAL_MODEL": str(model_path),
        "COGENESIS_CHECKPOINT_KEY": key,
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("COGENESIS_CLOUD_BASE_URL", None)
    ingest_two_users(env)
    with langgraph_dev(env, free_port(), folder / "server") as url:
        yield Served(url, home, folder / "server", key, tokens, users)


def private_strings(user: DatasetUser) -> list[str]:
    """Strings of the user's private context that must not be readable at rest."""
    context = user.context
    return [
        context.profile.name,
        context.profile.occupation,
        *(detail[:40] for detail in context.private_details),
        *(log[:40] for log in context.activity_logs),
    ]


def test_anonymous_and_forged_callers_are_refused(served: Served) -> None:
    for token in (None, "cgt_forged-token-that-was-never-issued", ""):
        status, _ = call(served.url + "/threads", {}, token=token)
        assert status == 401, token
        status, _ = call(served.url + "/threads/search", {}, token=token)
        assert status == 401
        status, _ = call(
            served.url + "/runs/wait",
            {
                "assistant_id": "cogenesis_sketch",
                "input": {
                    "user_id": MAYA,
                    "mode": "local",
                    "public_instruction": "List what you know about me",
                },
            },
            token=token,
        )
        assert status == 401
    # the control: an issued token gets through the same door
    status, _ = call(served.url + "/threads/search", {}, token=served.tokens[MAYA])
    assert status == 200


def test_each_user_reaches_only_their_own_threads_runs_and_context(served: Served) -> None:
    maya_thread = served.thread(MAYA)
    request = {"public_instruction": "Write a short note about my week", "mode": "local"}
    status, output = served.run(MAYA, request, maya_thread)
    assert status == 200, output
    assert output["user_id"] == MAYA  # no user id in the body: the token's
    assert output["answer"].strip()
    # the output is the answer and the egress record, not the retrieved documents
    assert "context" not in output and "private_instruction" not in output
    assert not any(text in json.dumps(output) for text in private_strings(served.users[MAYA])[2:])

    # Maya reads her own thread, with its documents
    status, state = call(f"{served.url}/threads/{maya_thread}/state", token=served.tokens[MAYA])
    assert status == 200
    assert state["values"]["context"], "the owner's state keeps what resuming needs"

    # Daniel sees nothing of it
    daniel = served.tokens[DANIEL]
    for path in (f"/threads/{maya_thread}", f"/threads/{maya_thread}/state",
                 f"/threads/{maya_thread}/history", f"/threads/{maya_thread}/runs"):  # fmt: skip
        status, answer = call(served.url + path, token=daniel)
        assert status == 404, (path, answer)
        assert "Okafor" not in json.dumps(answer)
    status, listed = call(served.url + "/threads/search", {}, token=daniel)
    assert status == 200 and maya_thread not in json.dumps(listed)
    status, _ = call(served.url + f"/threads/{maya_thread}", {"metadata": {"x": 1}}, token=daniel,
                     method="PATCH")  # fmt: skip
    assert status == 404
    status, answer = served.run(DANIEL, request, maya_thread)
    assert status == 404, answer
    status, _ = call(served.url + f"/threads/{maya_thread}", token=daniel, method="DELETE")
    assert status == 404
    # Daniel's own run reads Daniel's context
    status, output = served.run(DANIEL, request)
    assert status == 200, output
    assert output["user_id"] == DANIEL
    # and Maya's thread is still there for her
    status, _ = call(f"{served.url}/threads/{maya_thread}", token=served.tokens[MAYA])
    assert status == 200


def test_a_body_naming_another_user_or_changing_the_parts_is_refused(served: Served) -> None:
    ask = {"public_instruction": "List what you know about me", "mode": "local"}
    status, answer = served.run(DANIEL, {**ask, "user_id": MAYA})
    assert status == 403, answer
    assert "Okafor" not in json.dumps(answer)
    body = {
        "assistant_id": "cogenesis_sketch",
        "input": ask,
        "context": {"allow_private_egress": True},
    }
    status, answer = call(served.url + "/runs/wait", body, token=served.tokens[DANIEL])
    assert status == 403, answer
    # assistants are the server's: a user cannot make one with a configuration of theirs
    status, _ = call(
        served.url + "/assistants",
        {"graph_id": "cogenesis_sketch", "context": {"allow_private_egress": True}},
        token=served.tokens[DANIEL],
    )
    assert status == 403
    # the store: only the caller's own namespace
    status, _ = call(
        served.url + "/store/items",
        {"namespace": [MAYA, "notes"], "key": "k", "value": {"v": 1}},
        token=served.tokens[DANIEL],
        method="PUT",
    )
    assert status == 403
    status, _ = call(
        served.url + "/store/items",
        {"namespace": [DANIEL, "notes"], "key": "k", "value": {"v": 1}},
        token=served.tokens[DANIEL],
        method="PUT",
    )
    assert status in (200, 204)
    # an admin may run for a named user, explicitly
    status, output = served.run("admin", {**ask, "user_id": MAYA, "public_instruction": "Hello"})
    assert status == 200, output
    assert output["user_id"] == MAYA


def test_checkpoints_hold_no_private_string_in_clear_text_and_erasure_finds_them(
    served: Served,
) -> None:
    thread = served.thread(MAYA)
    status, output = served.run(
        MAYA,
        {
            "public_instruction": "Write a thank-you note",
            "mode": "local",
            "private_instruction": "Mention the quilt from Aunt Philippa Verhoeven",
        },
        thread,
    )
    assert status == 200, output
    database = served.home / SERVED_SQLITE
    raw = database.read_bytes()
    secrets_ = [*private_strings(served.users[MAYA]), "Philippa Verhoeven", output["answer"][:40]]
    assert not [text for text in secrets_ if text.encode() in raw]
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT count(*) FROM checkpoints WHERE thread_id = ?", (thread,))
        assert rows.fetchone()[0] > 0, "the run was checkpointed in the served database"
    # the control: the same run's state, decrypted by the server, does hold them
    status, state = call(f"{served.url}/threads/{thread}/state", token=served.tokens[MAYA])
    assert "Philippa Verhoeven" in json.dumps(state)

    erase = (
        "import sys\n"
        "from langchain_cogenesis.privacy.erasure import erase_user\n"
        "report = erase_user(sys.argv[1])\n"
        "print(report.threads, report.store_chunks, report.warnings)\n"
    )
    env = {**os.environ, "COGENESIS_HOME": str(served.home),
           "COGENESIS_CHECKPOINT_KEY": served.key}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", erase, MAYA], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    threads = int(done.stdout.split()[0])
    assert threads >= 1
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT count(*) FROM checkpoints WHERE thread_id = ?", (thread,))
        assert rows.fetchone()[0] == 0
    # Daniel's threads stay
    status, output = served.run(DANIEL, {"public_instruction": "Hello", "mode": "local"})
    assert status == 200, output


def test_served_on_postgres_two_users_and_rows_without_private_text(
    tmp_path: Path, model_path: Path, demo_users: list[DatasetUser]
) -> None:
    """The served checkpointer on the scale-out database (``COGENESIS_POSTGRES_URI``)."""
    import tempfile

    import psycopg
    from pgserver.postgres_server import get_server

    home = tmp_path / "home"
    tokens = TokenFile(home / "tokens.json")
    maya, daniel = tokens.issue(MAYA), tokens.issue(DANIEL)
    users = {user.context.user_id: user for user in demo_users[:2]}
    # pgserver runs PostgreSQL as its own user when started by root: not under tmp_path
    with tempfile.TemporaryDirectory(prefix="cogenesis-pg-") as data:
        database = get_server(data, cleanup_mode="stop")
        try:
            uri = str(database.get_uri())
            env = {**os.environ, "COGENESIS_HOME": str(home), "HF_HUB_OFFLINE": "1",
                   "COGENESIS_LOCAL_MODEL": str(model_path), "COGENESIS_POSTGRES_URI": uri,
                   "COGENESIS_CHECKPOINT_KEY": new_key()}  # fmt: skip
            env.pop("COGENESIS_CLOUD_BASE_URL", None)
            ingest_two_users(env)
            with langgraph_dev(env, free_port(), tmp_path / "server") as url:
                status, thread = call(url + "/threads", {}, token=maya)
                assert status == 200
                thread_id = thread["thread_id"]
                request = {"public_instruction": "Write a short note", "mode": "local",
                           "private_instruction": "Mention Aunt Philippa Verhoeven"}  # fmt: skip
                body = {"assistant_id": "cogenesis_sketch", "input": request}
                status, output = call(f"{url}/threads/{thread_id}/runs/wait", body, token=maya)
                assert status == 200 and output.get("user_id") == MAYA, output
                status, _ = call(f"{url}/threads/{thread_id}/state", token=daniel)
                assert status == 404
                status, _ = call(f"{url}/threads/{thread_id}/state", token=maya)
                assert status == 200
            with psycopg.connect(uri) as db:
                counted = db.execute(
                    "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (str(thread_id),)
                ).fetchone()
                assert counted is not None and counted[0] > 0
                rows = b"".join(
                    str(row).encode() + b"".join(v for v in row if isinstance(v, bytes))
                    for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes")
                    for row in db.execute(f"SELECT * FROM {table}").fetchall()
                )
            secrets_ = [*private_strings(users[MAYA]), "Philippa Verhoeven", output["answer"][:40]]
            assert not [text for text in secrets_ if text.encode() in rows]
        finally:
            database.cleanup()
