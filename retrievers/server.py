"""Serve a private store's Chroma database with ``chroma run`` on this machine.

For a store shared by several processes on one machine (workers of a LangGraph
Server, benchmark workers, tests): :func:`chroma_server` starts Chroma's own server
on loopback, waits until it answers, and stops it on exit. Point
:class:`~langchain_cogenesis.retrievers.store.PrivateStore` at the URL it yields::

    with chroma_server(Path("~/.cogenesis/chroma").expanduser()) as url:
        store = PrivateStore(chroma_url=url)

Loopback is the default; any other address needs ``allow_network=True``:
``chroma run`` has no authentication of its own, so a store served beyond this
machine must sit on an isolated network or behind a proxy that authenticates and
encrypts (see ``docs/deployment.md``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langchain_cogenesis.config import is_loopback_host
from langchain_cogenesis.errors import ConfigurationError, StoreError
from langchain_cogenesis.models.standin import free_port

HEARTBEAT = "/api/v2/heartbeat"


def chroma_command() -> str:
    """The ``chroma`` executable: on ``PATH``, or beside this interpreter."""
    found = shutil.which("chroma")
    if found:
        return found
    beside = Path(sys.executable).parent / "chroma"
    if not beside.exists():
        raise StoreError("the `chroma` command is not installed (it comes with chromadb)")
    return str(beside)


@contextmanager
def chroma_server(
    data: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    start_timeout: float = 60.0,
    allow_network: bool = False,
) -> Iterator[str]:
    """Run ``chroma run`` over the database folder ``data``; yields the server's base URL.

    Args:
        allow_network: serve on a ``host`` other than loopback. ``chroma run`` has no
            authentication, so everyone who reaches that address reads the store:
            only for an isolated network (a test namespace, a host-only link), or
            behind a proxy that checks ``COGENESIS_CHROMA_TOKEN``.

    Raises:
        ConfigurationError: ``host`` is not loopback and ``allow_network`` is not set
            (nothing is started).
        StoreError: the command is missing, exits, or does not answer within
            ``start_timeout`` seconds.
    """
    if not is_loopback_host(host) and not allow_network:
        raise ConfigurationError(
            f"chroma run would serve the private store on {host} to anyone who reaches it "
            "(it has no authentication): bind loopback and put an authenticating TLS "
            "proxy in front of it, then point COGENESIS_CHROMA_URL and "
            "COGENESIS_CHROMA_TOKEN at the proxy (or pass allow_network=True on an "
            "isolated network)."
        )
    port = port or free_port()
    process = subprocess.Popen(
        [chroma_command(), "run", "--path", str(data), "--host", host, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                with urllib.request.urlopen(url + HEARTBEAT, timeout=1):
                    break
            except OSError:
                if process.poll() is not None:
                    raise StoreError(f"chroma run exited with code {process.returncode}") from None
                if time.monotonic() > deadline:
                    waited = f"{start_timeout:.0f} s"
                    raise StoreError(f"chroma run did not answer in {waited}") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
