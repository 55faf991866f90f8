"""A real `chroma run` reached through this machine's network address, not loopback:
refused without the opt-in (before any connection), used and recorded with it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.errors import RemoteStoreNotAllowed
from langchain_cogenesis.privacy import AuditLog
from langchain_cogenesis.retrievers import PrivateStore
from langchain_cogenesis.retrievers.server import chroma_server
from tests.unit.retrievers.test_remote_store import recorded_connections

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
    # served off loopback for this test only: chroma_server needs the opt-in for that
    folder = tmp_path_factory.mktemp("remote-chroma")
    with chroma_server(folder, host=address, allow_network=True) as url:
        yield url


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
