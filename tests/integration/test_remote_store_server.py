"""A real `chroma run` reached through this machine's network address, not loopback:
refused without the opt-in (before any connection), used and recorded with it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.errors import RemoteStoreNotAllowed
from langchain_cogenesis.models.standin import free_port
from langchain_cogenesis.privacy import AuditLog
from langchain_cogenesis.retrievers import PrivateStore
from tests.unit.test_remote_store import recorded_connections

pytestmark = pytest.mark.integration


def network_address() -> str | None:
    """This machine's address on its default route (a UDP connect sends no packet)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


@pytest.fixture(scope="module")
def remote_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # Without a routed address, 0.0.0.0: not loopback by its name (so the opt-in is
    # required), and on Linux a connection to it reaches this host's own server.
    address = network_address() or "0.0.0.0"
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    data = tmp_path_factory.mktemp("remote-chroma")
    process = subprocess.Popen(
        [chroma, "run", "--path", str(data), "--host", address, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{address}:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("chroma run did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_server_off_loopback_needs_the_opt_in(
    remote_url: str, tmp_path: Path, demo_users: list[DatasetUser]
) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    with recorded_connections() as seen, pytest.raises(RemoteStoreNotAllowed):
        PrivateStore(chroma_url=remote_url, audit_log=audit)
    assert seen == [] and audit.entries() == []

    store = PrivateStore(
        chroma_url=remote_url, allow_remote_store=True, chroma_token="tok", audit_log=audit
    )
    store.add_user_context(demo_users[0].context)
    assert store.list_users() == ["maya-okafor"]
    [row] = audit.entries()
    assert (row.purpose, row.decision, row.destination) == (
        "remote-store", "sent_with_private_context", remote_url,
    )  # fmt: skip
    assert audit.verify().ok
