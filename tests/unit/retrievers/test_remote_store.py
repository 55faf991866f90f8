"""A Chroma server off this machine needs an explicit opt-in; TLS and token auth."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import chromadb
import pytest

from langchain_cogenesis.config import Settings, is_loopback_host, shown_url
from langchain_cogenesis.errors import ConfigurationError, RemoteStoreNotAllowed, StoreError
from langchain_cogenesis.privacy import AuditLog
from langchain_cogenesis.retrievers import PrivateStore
from tests.integration.store_worker import HashEmbeddings

# -- a recorder of outbound connections (audit hooks cannot be removed: one, switched) --

_connections: list[tuple[str, Any]] | None = None


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _connections is not None and event in ("socket.connect", "socket.getaddrinfo"):
        _connections.append((event, args[1] if event == "socket.connect" else args[0]))


sys.addaudithook(_hook)


@contextmanager
def recorded_connections() -> Iterator[list[tuple[str, Any]]]:
    global _connections
    _connections = seen = []
    try:
        yield seen
    finally:
        _connections = None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True), ("LOCALHOST.", True), ("127.0.0.1", True), ("127.9.8.7", True),
        ("::1", True), ("[::1]", True), ("::ffff:127.0.0.1", True),
        ("10.0.0.5", False), ("192.168.1.20", False), ("0.0.0.0", False),
        ("chroma.example.org", False), ("localhost.example.org", False),
        ("127.0.0.1.nip.io", False),
    ],
)  # fmt: skip
def test_only_this_machine_counts_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_credentials_in_a_url_are_never_shown() -> None:
    assert shown_url("https://me:pw@chroma.example.org:8443") == "https://chroma.example.org:8443"
    assert shown_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000"


class FakeHttpClient:
    """Stands in for chromadb.HttpClient: records how it was built, connects nowhere."""

    built: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **kwargs: Any) -> None:
        FakeHttpClient.built.append(kwargs)


@pytest.fixture()
def fake_client(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    FakeHttpClient.built = []
    monkeypatch.setattr(chromadb, "HttpClient", FakeHttpClient)
    return FakeHttpClient.built


@pytest.mark.parametrize(
    "url", ["http://10.20.30.40:8000", "https://chroma.example.org", "http://[2001:db8::1]:8000"]
)
def test_a_remote_url_without_the_opt_in_raises_before_any_connection(
    url: str, tmp_path: Path, fake_client: list[dict[str, Any]]
) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    with recorded_connections() as seen, pytest.raises(RemoteStoreNotAllowed) as refused:
        PrivateStore(chroma_url=url, embeddings=HashEmbeddings(), audit_log=audit)
    assert seen == [] and fake_client == [] and audit.entries() == []
    message = str(refused.value)
    assert "leaves" in message or "off the device" in message
    assert "COGENESIS_ALLOW_REMOTE_STORE=1" in message and "allow_remote_store=True" in message
    assert isinstance(refused.value, ConfigurationError)


def test_the_environment_url_is_checked_too(
    monkeypatch: pytest.MonkeyPatch, fake_client: list[dict[str, Any]], tmp_path: Path
) -> None:
    monkeypatch.setenv("COGENESIS_CHROMA_URL", "http://10.20.30.40:8000")
    with pytest.raises(RemoteStoreNotAllowed):
        PrivateStore(embeddings=HashEmbeddings(), audit_log=None)
    monkeypatch.setenv("COGENESIS_ALLOW_REMOTE_STORE", "1")
    assert Settings.from_env().allow_remote_store is True
    store = PrivateStore(embeddings=HashEmbeddings(), audit_log=AuditLog(tmp_path / "a.sqlite3"))
    assert store.location == "http://10.20.30.40:8000" and len(fake_client) == 1


def test_the_opt_in_builds_a_tls_client_with_token_auth_and_is_recorded(
    tmp_path: Path, fake_client: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    with caplog.at_level(logging.WARNING, logger="langchain_cogenesis"):
        store = PrivateStore(
            chroma_url="https://admin:pw@chroma.example.org",
            chroma_token="tok-3141",
            allow_remote_store=True,
            embeddings=HashEmbeddings(),
            audit_log=audit,
        )
    [built] = fake_client
    assert (built["host"], built["port"], built["ssl"]) == ("chroma.example.org", 443, True)
    settings = built["settings"]
    assert settings.chroma_client_auth_provider == (
        "chromadb.auth.token_authn.TokenAuthClientProvider"
    )
    assert settings.chroma_client_auth_credentials == "tok-3141"
    assert store.location == "https://chroma.example.org"  # no credentials shown
    [row] = audit.entries()
    assert (row.purpose, row.decision, row.destination) == (
        "remote-store", "sent_with_private_context", "https://chroma.example.org",
    )  # fmt: skip
    assert "TLS, token auth" in (row.payload or "")
    assert b"tok-3141" not in audit.path.read_bytes() and b"pw@" not in audit.path.read_bytes()
    assert any("leaves this device" in r.getMessage() for r in caplog.records)
    assert not any("tok-3141" in r.getMessage() for r in caplog.records)


def test_loopback_needs_no_opt_in_and_records_nothing(
    tmp_path: Path, fake_client: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COGENESIS_CHROMA_TOKEN", "env-token")
    audit = AuditLog(tmp_path / "audit.sqlite3")
    PrivateStore(chroma_url="http://localhost:8123", embeddings=HashEmbeddings(), audit_log=audit)
    [built] = fake_client
    assert (built["host"], built["port"], built["ssl"]) == ("localhost", 8123, False)
    assert built["settings"].chroma_client_auth_credentials == "env-token"
    assert audit.entries() == []


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:8000", "127.0.0.1:8000", "http://"])
def test_a_url_that_is_not_http_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="not an http:// or https:// URL"):
        PrivateStore(chroma_url=url, embeddings=HashEmbeddings(), audit_log=None)


class _HeaderRecorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, str]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        _HeaderRecorder.seen.append({"path": self.path, **dict(self.headers.items())})
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error": "unauthorized"}')

    do_GET = do_POST = _answer


def test_the_token_goes_on_the_wire_as_a_bearer_header() -> None:
    """A real HttpClient against a loopback server that records the request headers."""
    _HeaderRecorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HeaderRecorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(StoreError):
            PrivateStore(chroma_url=url, chroma_token="wire-7", embeddings=HashEmbeddings()
                         ).list_users()  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert _HeaderRecorder.seen
    assert all(request.get("Authorization") == "Bearer wire-7" for request in _HeaderRecorder.seen)


def test_a_chroma_server_that_cannot_start_is_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_cogenesis.retrievers import server as module

    # a "chroma" that exits at once: the error names the exit, nothing hangs
    monkeypatch.setattr(module, "chroma_command", lambda: "false")
    with pytest.raises(StoreError, match="exited with code 1"), module.chroma_server(tmp_path):
        pytest.fail("the server never answered")
