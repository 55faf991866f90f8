"""Every network destination this process (or a child process) reaches, seen by Python's
audit hooks, and a check that each one is on an explicit allow-list.

The guard's own records say what the package *meant* to send; this module sees what
the interpreter really did. CPython raises an audit event for every ``socket.connect``
(blocking, non-blocking and asyncio alike), ``sendto``/``sendmsg`` with an address, and
every name resolution (``getaddrinfo``, ``gethostbyname``...), from any thread:
langsmith's background sender, an HTTP client's pool, a library's telemetry.

In this process::

    with EgressRecorder() as egress:
        run_the_entry_point()
    egress.assert_only([Allowed("127.0.0.1", cloud_port, "the guard's endpoint")])

Audit hooks cannot be removed, so one hook is installed once per process; a recorder
only switches recording on while its block runs (process-wide: a connection made by
another thread during the block is recorded). Recorders may nest. Bytes written to a
socket that was connected before the block (a pooled keep-alive connection) raise no
event: make clients inside the block, so that their connections are seen.

In a child process (the ``cogenesis`` command): :func:`subprocess_recording` writes a
``sitecustomize.py`` that installs the same hook at interpreter start and appends each
destination to a file, for the child and for every Python process it starts.

Only the standard library is imported here: the child's ``sitecustomize`` loads this
file by path, before anything else is importable.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

RECORD_FILE_VARIABLE = "EGRESS_RECORD_FILE"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})

# events whose arguments name a remote address: (socket, address)
_ADDRESS_EVENTS = {
    "socket.connect": "connect",
    "socket.sendto": "sendto",
    "socket.sendmsg": "sendmsg",
}
# events whose first argument is a host name to resolve
_RESOLVE_EVENTS = {
    "socket.getaddrinfo": "resolve",
    "socket.gethostbyname": "resolve",
    "socket.gethostbyname_ex": "resolve",
    "socket.gethostbyaddr": "resolve",
    "socket.getnameinfo": "resolve",
}


@dataclass(frozen=True)
class Destination:
    """One outbound attempt: a connection, a datagram, or a name resolution."""

    action: str  # connect, sendto, sendmsg, resolve
    host: str  # an address, a host name, or a Unix socket path
    port: int | None
    family: str  # inet, inet6, unix, name
    thread: str = ""
    pid: int = 0

    def __str__(self) -> str:
        where = self.host if self.port is None else f"{self.host}:{self.port}"
        return f"{self.action} {where} ({self.family}, pid {self.pid}, thread {self.thread})"

    @property
    def leaves_the_process_tree(self) -> bool:
        """Unix sockets are local by construction (and ``start`` marks a recording
        child process); everything else is judged."""
        return self.family not in ("unix", "process")


@dataclass(frozen=True)
class Allowed:
    """An allowed destination, with the reason the test gives for it.

    ``host`` may be an address or ``localhost`` (which matches 127.0.0.1 and ::1);
    ``port=None`` allows every port of ``host`` (use it only for name resolution).
    """

    host: str
    port: int | None
    why: str

    def matches(self, destination: Destination) -> bool:
        if self.port is not None and destination.port != self.port:
            return False
        return _same_host(self.host, destination.host)


def destination_of(event: str, args: tuple[Any, ...]) -> Destination | None:
    """The destination an audit event names, or ``None`` for an unrelated event."""
    if event in _ADDRESS_EVENTS:
        if len(args) < 2 or args[1] is None:
            return None  # sendmsg on a connected socket: its connect was recorded
        return _address_destination(_ADDRESS_EVENTS[event], args[1])
    if event in _RESOLVE_EVENTS:
        if not args or args[0] is None:
            return None
        host = args[0]
        if event == "socket.getnameinfo":  # (sockaddr, flags)
            host = host[0] if isinstance(host, tuple) and host else host
        if isinstance(host, bytes):
            host = host.decode("utf-8", "replace")
        port = args[1] if event == "socket.getaddrinfo" and len(args) > 1 else None
        return Destination("resolve", str(host), _port(port), "name")
    return None


def _address_destination(action: str, address: Any) -> Destination:
    if isinstance(address, (str, bytes)):  # AF_UNIX path (bytes: abstract namespace)
        path = address.decode("utf-8", "replace") if isinstance(address, bytes) else address
        return Destination(action, path, None, "unix")
    if isinstance(address, tuple) and len(address) >= 2:
        host = address[0].decode() if isinstance(address[0], bytes) else str(address[0])
        family = "inet6" if len(address) == 4 or ":" in host else "inet"
        return Destination(action, host, _port(address[1]), family)
    return Destination(action, repr(address), None, "other")


def _port(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None  # a service name such as "https": the connect event has the number


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (a loopback address or ``localhost``)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def _same_host(allowed: str, seen: str) -> bool:
    if allowed.lower() in LOOPBACK_NAMES:
        return is_loopback(seen)
    try:
        left = ipaddress.ip_address(allowed)
        right = ipaddress.ip_address(seen.split("%", 1)[0])
    except ValueError:
        return allowed.lower() == seen.lower()
    right_mapped = getattr(right, "ipv4_mapped", None)
    return left == right or (right_mapped is not None and left == right_mapped)


# --- the one hook of this process -----------------------------------------------------

_active: list[EgressRecorder] = []
_active_lock = threading.Lock()
_installed = False
_inside = threading.local()


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not event.startswith("socket.") or not _active:
        return
    if getattr(_inside, "busy", False):
        return
    _inside.busy = True
    try:
        destination = destination_of(event, args)
        if destination is None:
            return
        stamped = Destination(
            destination.action,
            destination.host,
            destination.port,
            destination.family,
            threading.current_thread().name,
            os.getpid(),
        )
        with _active_lock:
            recorders = list(_active)
        for recorder in recorders:
            recorder._add(stamped)
    except Exception:  # an audit hook must never break the audited call
        pass
    finally:
        _inside.busy = False


def _install_once() -> None:
    global _installed
    with _active_lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True


class EgressRecorder:
    """Records every destination reached by any thread while the ``with`` block runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[Destination] = []

    def __enter__(self) -> EgressRecorder:
        _install_once()
        with _active_lock:
            _active.append(self)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        with _active_lock:
            if self in _active:
                _active.remove(self)

    def _add(self, destination: Destination) -> None:
        with self._lock:
            self._seen.append(destination)

    def extend(self, destinations: Iterable[Destination]) -> None:
        """Add destinations seen elsewhere (a child process's record)."""
        with self._lock:
            self._seen.extend(destinations)

    @property
    def destinations(self) -> list[Destination]:
        """Everything seen so far, oldest first."""
        with self._lock:
            return list(self._seen)

    def connections(self) -> list[Destination]:
        """Connections and datagrams (not name resolutions), Unix sockets excluded."""
        return [d for d in self.destinations if d.action != "resolve" and d.leaves_the_process_tree]

    def reached(self, host: str, port: int) -> bool:
        """Whether a connection or datagram went to ``host:port``."""
        target = Allowed(host, port, "")
        return any(target.matches(d) for d in self.connections())

    def violations(self, allowed: Iterable[Allowed]) -> list[Destination]:
        """Destinations not on ``allowed``.

        A connection or datagram must match an entry (host and port). A name
        resolution is a DNS query unless the name is loopback, so it must be of a
        loopback name or of a host that an entry allows.
        """
        allow = list(allowed)
        bad: list[Destination] = []
        for destination in self.destinations:
            if not destination.leaves_the_process_tree:
                continue
            if destination.action == "resolve":
                if is_loopback(destination.host) or any(
                    _same_host(entry.host, destination.host) for entry in allow
                ):
                    continue
            elif any(entry.matches(destination) for entry in allow):
                continue
            bad.append(destination)
        return bad

    def assert_only(self, allowed: Iterable[Allowed]) -> None:
        """Fail, naming each offender, when anything went outside ``allowed``."""
        allow = list(allowed)
        bad = self.violations(allow)
        if bad:
            listed = "\n  ".join(f"{a.host}:{a.port} ({a.why})" for a in allow)
            offenders = "\n  ".join(str(d) for d in dict.fromkeys(bad))
            raise AssertionError(
                f"egress outside the allow-list:\n  {offenders}\nallowed:\n  {listed}"
            )


# --- child processes ------------------------------------------------------------------

_SITECUSTOMIZE = '''\
"""Installed by the tests: record every network destination of this process."""
import importlib.util as _util
import os as _os
import sys as _sys

_spec = _util.spec_from_file_location("_egress_recorder", {module!r})
_module = _util.module_from_spec(_spec)
_sys.modules["_egress_recorder"] = _module
_spec.loader.exec_module(_module)
_module.record_to_file(_os.environ[{variable!r}])
'''


def record_to_file(path: str) -> None:
    """Record every destination of this process, one JSON line each, appended to ``path``.

    Called by the ``sitecustomize`` of :func:`subprocess_recording` at start-up.
    """
    lock = threading.Lock()

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if not event.startswith("socket.") or getattr(_inside, "busy", False):
            return
        _inside.busy = True
        try:
            destination = destination_of(event, args)
            if destination is None:
                return
            line = json.dumps(
                {
                    "action": destination.action,
                    "host": destination.host,
                    "port": destination.port,
                    "family": destination.family,
                    "thread": threading.current_thread().name,
                    "pid": os.getpid(),
                }
            )
            with lock:
                descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(descriptor, (line + "\n").encode("utf-8"))
                finally:
                    os.close(descriptor)
        except Exception:  # never break the audited call
            pass
        finally:
            _inside.busy = False

    sys.addaudithook(hook)
    started = {"action": "start", "host": " ".join(sys.argv), "port": None,
               "family": "process", "thread": "", "pid": os.getpid()}  # fmt: skip
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, (json.dumps(started) + "\n").encode("utf-8"))
    finally:
        os.close(descriptor)


@dataclass(frozen=True)
class SubprocessRecording:
    """The environment that makes a child process record, and what it recorded."""

    shim_folder: Path
    record_file: Path

    def environment(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """``base`` (default ``os.environ``) with the recording ``sitecustomize`` first on
        ``PYTHONPATH``; inherited by the child's own Python children."""
        env = dict(os.environ if base is None else base)
        path = env.get("PYTHONPATH", "")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(self.shim_folder), path) if p)
        env[RECORD_FILE_VARIABLE] = str(self.record_file)
        return env

    def destinations(self) -> list[Destination]:
        """Everything the children recorded so far."""
        if not self.record_file.exists():
            return []
        seen = []
        for line in self.record_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                seen.append(Destination(**json.loads(line)))
        return seen

    def processes(self) -> list[Destination]:
        """One ``start`` record per process that ran with the hook (its command line)."""
        return [d for d in self.destinations() if d.action == "start"]


def subprocess_recording(folder: Path) -> SubprocessRecording:
    """Write the recording ``sitecustomize.py`` under ``folder``.

    See :class:`SubprocessRecording` for the environment that uses it."""
    shim = folder / "egress-shim"
    shim.mkdir(parents=True, exist_ok=True)
    (shim / "sitecustomize.py").write_text(
        _SITECUSTOMIZE.format(module=str(Path(__file__).resolve()), variable=RECORD_FILE_VARIABLE),
        encoding="utf-8",
    )
    return SubprocessRecording(shim, folder / "egress-record.jsonl")
