"""Who may run the served graphs, for whom, and what stays encrypted at rest: tokens,
the auth handlers, the graphs' own check, checkpoint encryption and loopback binds."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph_sdk import Auth

from langchain_cogenesis.errors import (
    CheckpointKeyMissing,
    ConfigurationError,
    InvalidToken,
    NotPermitted,
)
from langchain_cogenesis.graphs import Components, build_sketch_graph
from langchain_cogenesis.graphs.auth import (
    authenticate,
    own_crons,
    own_namespace,
    own_runs,
    owner_only,
)
from langchain_cogenesis.graphs.caller import served_caller
from langchain_cogenesis.graphs.encryption import checkpoint_serde, key_id, parse_key
from langchain_cogenesis.graphs.tokens import (
    ADMIN,
    Identity,
    JwtVerifier,
    TokenFile,
    new_key,
    verifier_from_env,
)
from langchain_cogenesis.models.standin import StandInCloud
from tests.unit.graphs.test_sketch_graph import REQUEST, SECRET, make_components

HTTPException = Auth.exceptions.HTTPException


# ------------------------------------------------------------------ tokens


def test_token_file_keeps_digests_only_and_revokes_at_once(tmp_path: Path) -> None:
    tokens = TokenFile(tmp_path / "tokens.json")
    maya, admin = tokens.issue("maya"), tokens.issue("ops", admin=True)
    assert maya not in tokens.path.read_text() and admin not in tokens.path.read_text()
    assert tokens.path.stat().st_mode & 0o777 == 0o600
    assert tokens.verify(maya) == Identity("maya")
    assert tokens.verify(f"  {admin}\n").is_admin
    with pytest.raises(InvalidToken):
        tokens.verify(maya[:-1] + ("A" if maya[-1] != "A" else "B"))
    assert tokens.revoke("maya") == 1
    with pytest.raises(InvalidToken, match="revoked"):
        tokens.verify(maya)
    assert [entry["user_id"] for entry in tokens.entries()] == ["ops"]


def test_token_file_expiry_and_damage(tmp_path: Path) -> None:
    tokens = TokenFile(tmp_path / "tokens.json")
    token = tokens.issue("maya", expires_in=0.05)
    time.sleep(0.1)
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token)
    tokens.path.write_text("{not json")
    with pytest.raises(ConfigurationError, match="damaged"):
        tokens.verify(token)
    with pytest.raises(ConfigurationError):
        TokenFile(tmp_path / "t2.json").issue("  ")


def test_jwt_verifier_checks_signature_dates_issuer_and_audience() -> None:
    key = "a-shared-secret-of-the-identity-provider-0123456789"
    verifier = JwtVerifier(key, issuer="https://idp.example", audience="cogenesis")

    def token(**claims: Any) -> str:
        base = {"sub": "maya", "exp": time.time() + 60, "iss": "https://idp.example",
                "aud": "cogenesis"}  # fmt: skip
        return jwt.encode({**base, **claims}, key, algorithm="HS256")

    assert verifier.verify(token()) == Identity("maya")
    assert verifier.verify(token(scope=f"read {ADMIN}")).is_admin
    assert verifier.verify(token(permissions=[ADMIN])).is_admin
    for bad in (
        token(exp=time.time() - 600),
        token(iss="https://other.example"),
        token(aud="someone-else"),
        jwt.encode(
            {
                "sub": "maya",
                "exp": time.time() + 60,
                "iss": "https://idp.example",
                "aud": "cogenesis",
            },
            "another-secret-of-the-same-length-0123456789x",
            algorithm="HS256",
        ),
        jwt.encode({"sub": "maya", "exp": time.time() + 60}, None, algorithm="none"),
        "not.a.token",
    ):
        with pytest.raises(InvalidToken):
            verifier.verify(bad)
    with pytest.raises(ConfigurationError):
        JwtVerifier(key, algorithms=("none",))


def test_the_environment_picks_the_verifier(tmp_path: Path) -> None:
    assert isinstance(verifier_from_env({"COGENESIS_JWT_KEY": "k" * 40}), JwtVerifier)
    chosen = verifier_from_env({"COGENESIS_TOKEN_FILE": str(tmp_path / "t.json")})
    assert isinstance(chosen, TokenFile) and chosen.path == tmp_path / "t.json"
    with pytest.raises(ConfigurationError, match="cannot be read"):
        verifier_from_env({"COGENESIS_JWT_KEY_FILE": str(tmp_path / "missing.pem")})


# ------------------------------------------------------------------ the auth handlers


def test_authenticate_refuses_anonymous_and_forged_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = TokenFile(tmp_path / "tokens.json")
    monkeypatch.setenv("COGENESIS_TOKEN_FILE", str(tokens.path))
    monkeypatch.delenv("COGENESIS_JWT_KEY", raising=False)
    token = tokens.issue("maya")
    for header in (None, "", token, f"Basic {token}", "Bearer ", "Bearer cgt_forged"):
        with pytest.raises(HTTPException) as refused:
            asyncio.run(authenticate(header))
        assert refused.value.status_code == 401
    user = asyncio.run(authenticate(f"Bearer {token}"))
    assert user["identity"] == "maya" and user["permissions"] == []
    tokens.path.write_text("[]")
    with pytest.raises(HTTPException) as broken:
        asyncio.run(authenticate(f"Bearer {token}"))
    assert broken.value.status_code == 503


def context(identity: str, action: str, *, admin: bool = False, resource: str = "threads") -> Any:
    permissions = [ADMIN] if admin else []
    user = SimpleNamespace(identity=identity, permissions=permissions)
    return SimpleNamespace(user=user, permissions=permissions, action=action, resource=resource)


def test_owner_is_stamped_on_what_is_made_and_filters_everything_else() -> None:
    value: dict[str, Any] = {"metadata": {"topic": "x"}}
    assert asyncio.run(owner_only(context("maya", "create"), value)) == {"owner": "maya"}
    assert value["metadata"] == {"topic": "x", "owner": "maya"}
    bare: dict[str, Any] = {}
    asyncio.run(owner_only(context("maya", "create"), bare))
    assert bare["metadata"] == {"owner": "maya"}
    for action in ("read", "search", "update", "delete"):
        assert asyncio.run(owner_only(context("ben", action), {})) == {"owner": "ben"}


def test_a_run_for_another_user_or_with_a_context_is_refused_unless_admin() -> None:
    def run(identity: str, body: dict[str, Any], admin: bool = False, **extra: Any) -> Any:
        value: Any = {"kwargs": {"input": body, **extra}, "metadata": {}}
        return asyncio.run(own_runs(context(identity, "create_run", admin=admin), value)), value

    assert run("maya", {"public_instruction": "hi"})[0] == {"owner": "maya"}
    assert run("maya", {"user_id": "maya"})[1]["metadata"] == {"owner": "maya"}
    for body, extra in (({"user_id": "ben"}, {}), ({}, {"context": {"k": 9}})):
        with pytest.raises(HTTPException) as refused:
            run("maya", body, **extra)
        assert refused.value.status_code == 403
    assert run("ops", {"user_id": "ben"}, admin=True)[0] == {"owner": "ops"}
    # a scheduled run is checked when it is scheduled
    cron: Any = {"payload": {"input": {"user_id": "ben"}}, "schedule": "0 * * * *"}
    with pytest.raises(HTTPException):
        asyncio.run(own_crons(context("maya", "create", resource="crons"), cron))
    cron["payload"]["input"]["user_id"] = "maya"
    assert asyncio.run(own_crons(context("maya", "create", resource="crons"), cron))


def test_store_items_live_under_the_callers_namespace() -> None:
    asyncio.run(own_namespace(context("maya", "put", resource="store"), {"namespace": ("maya",)}))
    listing: dict[str, Any] = {"namespace": None}
    asyncio.run(own_namespace(context("maya", "list_namespaces", resource="store"), listing))
    assert listing["namespace"] == ("maya",)
    for action, namespace in (("put", ("ben", "notes")), ("search", ("ben",)), ("get", ())):
        with pytest.raises(HTTPException) as refused:
            asyncio.run(
                own_namespace(context("maya", action, resource="store"), {"namespace": namespace})
            )
        assert refused.value.status_code == 403


# ------------------------------------------------------------------ the graphs' own check


def served_config(user_id: str, admin: bool = False) -> Any:
    return {"configurable": {"thread_id": "t", "langgraph_auth_user_id": user_id,
                             "langgraph_auth_permissions": [ADMIN] if admin else []}}  # fmt: skip


def test_a_served_run_is_for_the_caller_whatever_the_body_says() -> None:
    graph = build_sketch_graph()
    parts = make_components(None)
    state = graph.invoke(
        {**REQUEST, "user_id": "", "mode": "local"}, served_config("maya"), context=parts
    )
    assert state["user_id"] == "maya" and SECRET in state["context"][0].page_content
    with pytest.raises(NotPermitted, match="'ben' only, not 'maya'"):
        graph.invoke({**REQUEST, "user_id": "maya", "mode": "local"}, served_config("ben"),
                     context=make_components(None))  # fmt: skip
    # an admin names the user explicitly
    state = graph.invoke(
        {**REQUEST, "mode": "local"}, served_config("ops", admin=True), context=parts
    )
    assert state["user_id"] == "maya"
    # the control: a run started in-process names any user it holds the store of
    state = graph.invoke({**REQUEST, "mode": "local"}, {"configurable": {"thread_id": "u"}},
                         context=make_components(None))  # fmt: skip
    assert state["user_id"] == "maya"


def test_a_served_run_cannot_change_the_servers_parts() -> None:
    graph = build_sketch_graph()
    for loosened in (Components(allow_private_egress=True), Components(canaries=("x",)),
                     Components(allow_tracing=True),
                     Components(stored_fact_threshold=None)):  # fmt: skip
        with pytest.raises(NotPermitted, match="environment"):
            graph.invoke({**REQUEST, "user_id": "", "mode": "local"}, served_config("maya"),
                         context=loosened)  # fmt: skip
    assert served_caller({"thread_id": "t"}) is None
    user = SimpleNamespace(identity="maya", permissions=[ADMIN])
    assert served_caller({"langgraph_auth_user": user}) == Identity("maya", (ADMIN,))


# ------------------------------------------------------------------ checkpoint encryption


def test_keys_parse_rotate_and_name_themselves() -> None:
    old, new = new_key(), new_key()
    assert len(parse_key(new)) == 32 and key_id(parse_key(new)) not in new
    with pytest.raises(ConfigurationError, match="base64"):
        parse_key("not a key!")
    with pytest.raises(ConfigurationError, match="16, 24 or 32"):
        parse_key("c2hvcnQ=")
    with pytest.raises(CheckpointKeyMissing, match="COGENESIS_CHECKPOINT_KEY"):
        checkpoint_serde(required=True, environ={})
    assert checkpoint_serde(environ={}) is None
    before = checkpoint_serde(old)
    assert before is not None
    sealed = before.dumps_typed({"answer": SECRET})
    assert SECRET.encode() not in sealed[1] and key_id(parse_key(old)) in sealed[0]
    after = checkpoint_serde(environ={"COGENESIS_CHECKPOINT_KEY": new,
                                      "COGENESIS_CHECKPOINT_OLD_KEYS": f" {old} "})  # fmt: skip
    assert after is not None and after.loads_typed(sealed) == {"answer": SECRET}
    assert key_id(parse_key(new)) in after.dumps_typed("x")[0]
    alone = checkpoint_serde(new)
    assert alone is not None
    with pytest.raises(ConfigurationError, match="not configured"):
        alone.loads_typed(sealed)
    tampered = (sealed[0], sealed[1][:-1] + bytes([sealed[1][-1] ^ 1]))
    with pytest.raises(ConfigurationError, match="integrity"):
        before.loads_typed(tampered)


def test_an_encrypted_sqlite_thread_holds_no_private_text_and_is_erased(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_core.documents import Document

    from langchain_cogenesis.privacy.erasure import erase_user
    from langchain_cogenesis.retrievers import PrivateStore
    from tests.integration.store_worker import HashEmbeddings

    key = new_key()
    home = tmp_path / "home"
    store = PrivateStore(home / "store", embeddings=HashEmbeddings(), audit_log=None)
    store.add_documents("maya", [Document(SECRET, metadata={"kind": "private_detail"})])
    path = home / "served-threads.sqlite3"
    connection = sqlite3.connect(str(path), check_same_thread=False)
    graph = build_sketch_graph(SqliteSaver(connection, serde=checkpoint_serde(key)))
    parts = make_components(None)
    parts.store = store
    state = graph.invoke({**REQUEST, "mode": "local"}, {"configurable": {"thread_id": "s"}},
                         context=parts)  # fmt: skip
    assert SECRET in state["context"][0].page_content
    connection.commit()
    connection.close()
    raw = path.read_bytes()
    for text in (SECRET, "Halvorsen", state["answer"]):
        assert text.encode() not in raw
    # without the key, erasure cannot read the thread and says what to set
    monkeypatch.delenv("COGENESIS_CHECKPOINT_KEY", raising=False)
    report = erase_user("maya", home=home, store=store)
    assert report.threads == 0
    assert any("COGENESIS_CHECKPOINT_KEY" in warning for warning in report.warnings)
    # with it, the thread goes
    store.add_documents("maya", [Document(SECRET, metadata={"kind": "private_detail"})])
    monkeypatch.setenv("COGENESIS_CHECKPOINT_KEY", key)
    report = erase_user("maya", home=home, store=store)
    assert report.threads == 1
    with sqlite3.connect(str(path)) as db:
        assert db.execute("SELECT count(*) FROM checkpoints").fetchone()[0] == 0


# ------------------------------------------------------------------ listening sockets


def test_servers_bind_loopback_unless_told_otherwise_with_a_key(tmp_path: Path) -> None:
    from langchain_cogenesis.retrievers.server import chroma_server

    with pytest.raises(ConfigurationError, match="api_key"):
        StandInCloud(tmp_path / "m.gguf", host="0.0.0.0")
    standin = StandInCloud(tmp_path / "m.gguf", chat_template="chatml", port=8123)
    assert standin.command()[standin.command().index("--host") + 1] == "127.0.0.1"
    keyed = StandInCloud(
        tmp_path / "m.gguf", chat_template="chatml", host="0.0.0.0", api_key="k-123", port=8124
    )
    assert "0.0.0.0" in keyed.command() and "k-123" not in json.dumps(keyed.command())
    assert keyed._environment()["API_KEY"] == "k-123"
    assert keyed.base_url == "http://127.0.0.1:8124/v1"
    refused = pytest.raises(ConfigurationError, match="allow_network=True")
    with refused, chroma_server(tmp_path / "chroma", host="0.0.0.0"):
        pass


def test_langgraph_json_names_the_auth_and_the_encrypted_checkpointer() -> None:
    """The paths load the way langgraph-api loads them: ``module:name`` for auth,
    ``module.name`` for a checkpointer (one module object, so its classes match)."""
    import importlib

    from langchain_cogenesis.graphs import auth as auth_module
    from langchain_cogenesis.graphs import encryption

    config = json.loads((Path(__file__).resolve().parents[3] / "langgraph.json").read_text())
    module, name = config["auth"]["path"].rsplit(":", 1)
    assert getattr(importlib.import_module(module), name) is auth_module.auth
    assert config["auth"]["disable_studio_auth"] is True
    module, name = config["checkpointer"]["path"].rsplit(".", 1)
    assert getattr(importlib.import_module(module), name) is encryption.served_checkpointer


def test_the_tokens_and_serve_cloud_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from langchain_cogenesis.cli import main

    file = str(tmp_path / "tokens.json")
    assert main(["tokens", "issue", "maya", "--file", file]) == 0
    token = capsys.readouterr().out.splitlines()[0]
    assert TokenFile(file).verify(token) == Identity("maya")
    assert main(["tokens", "issue", "ops", "--admin", "--expires-days", "2", "--file", file]) == 0
    capsys.readouterr()
    assert main(["tokens", "list", "--file", file]) == 0
    listed = capsys.readouterr().out
    assert "maya\tuser\texpires never" in listed and "ops\tadmin" in listed
    assert token not in listed
    assert main(["tokens", "revoke", "maya", "--file", file]) == 0
    assert main(["tokens", "revoke", "maya", "--file", file]) == 1
    assert main(["tokens", "new-key"]) == 0
    assert len(parse_key(capsys.readouterr().out.splitlines()[-1])) == 32
    # the stand-in beyond loopback needs a key; nothing starts without one
    assert main(["serve-cloud", "--host", "0.0.0.0"]) == 2
    assert "api_key" in capsys.readouterr().err
