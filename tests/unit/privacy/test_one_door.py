"""Only the egress guard may hold a cloud client: checked on the source itself.

Every module that can open a connection, ship a trace or move the store off the
device is listed below with the one file allowed to import it and why. A new import
of any of them anywhere else fails this test: it is a second door, and it needs a
reason written here (and a socket-level test in ``tests/integration/privacy/test_every_exit.py``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PACKAGE_DIRS = ("langchain_cogenesis", "graphs", "retrievers")

NETWORK_MODULES = (
    # cloud model clients
    "openai",
    "langchain_openai",
    # HTTP and other network clients
    "httpx",
    "requests",
    "urllib.request",
    "urllib3",
    "http.client",
    "aiohttp",
    "websockets",
    "websocket",
    "grpc",
    "ftplib",
    "smtplib",
    "xmlrpc.client",
    "socket",
    "ssl",
    # libraries that reach the network on their own (model hubs, telemetry)
    "huggingface_hub",
    "posthog",
    # the private store: a remote Chroma moves it off the device
    "chromadb",
    # tracing: a tracer ships every run's inputs and outputs to a remote service
    "langsmith",
    "langchain_core.tracers.langchain",
    "langchain_core.tracers.LangChainTracer",
    "langchain_core.tracers.context",
)

ALLOWED: dict[str, dict[str, str]] = {
    "langchain_cogenesis/privacy/egress/guard.py": {
        "langchain_openai": "the one door: chat completions",
    },
    "langchain_cogenesis/privacy/egress/completions.py": {
        "openai": "the one door's fusion transport: completions with log-probabilities",
        "httpx": "the one door's fusion transport: tokenizer probes of the cloud endpoint",
    },
    "langchain_cogenesis/privacy/egress/retries.py": {
        "openai": "the one door's error mapping: the client's error types, no connection",
        "httpx": "the one door's error mapping: the client's error types, no connection",
    },
    "langchain_cogenesis/models/standin.py": {
        "urllib.request": "health check of the stand-in on 127.0.0.1; carries no payload",
        "socket": "picks a free port on 127.0.0.1 for the stand-in (bind only)",
    },
    "retrievers/server.py": {
        "urllib.request": "health check of the `chroma run` it started; carries no payload",
    },
    "retrievers/store.py": {
        "chromadb": "the private store itself: the embedded client, in a local folder",
    },
    "retrievers/_remote.py": {
        "chromadb": "a Chroma server's HttpClient; a remote chroma_url needs an explicit opt-in",
    },
    "langchain_cogenesis/privacy/tracing/private.py": {
        "langchain_core.tracers.langchain": "puts the scrubber in place of LangChain's tracer",
    },
    "langchain_cogenesis/privacy/tracing/_langchain_internals.py": {
        "langchain_core.tracers.context": "keeps in-process handlers (collect_runs) as they are",
        "langchain_core.tracers.langchain": "checks the tracer internals the scrubber copies",
    },
    "langchain_cogenesis/privacy/tracing/scrubbing.py": {
        "langsmith": "the scrubbing tracer hands runs to the LangSmith client, scrubbed",
        "langchain_core.tracers.langchain": "the scrubbing tracer wraps LangChain's tracer",
    },
}


def imported_modules(path: Path) -> set[str]:
    """Modules ``path`` imports: import statements, and ``importlib.import_module`` or
    ``__import__`` called with a literal name."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                modules.add(first.value)
    return modules


def _is_dynamic_import(function: ast.expr) -> bool:
    if isinstance(function, ast.Name):
        return function.id in ("__import__", "import_module")
    return isinstance(function, ast.Attribute) and function.attr == "import_module"


def network_imports(path: Path) -> set[str]:
    """The network-capable modules (of :data:`NETWORK_MODULES`) that ``path`` imports."""
    found: set[str] = set()
    for module in imported_modules(path):
        for network in NETWORK_MODULES:
            if module == network or module.startswith(network + "."):
                found.add(network)
    return found


def package_files() -> list[Path]:
    return [path for folder in PACKAGE_DIRS for path in sorted((REPO / folder).rglob("*.py"))]


def test_no_module_but_the_listed_ones_imports_a_network_client() -> None:
    offenders = {}
    for path in package_files():
        relative = path.relative_to(REPO).as_posix()
        found = network_imports(path) - set(ALLOWED.get(relative, {}))
        if found:
            offenders[relative] = sorted(found)
    assert offenders == {}


def test_every_exception_is_still_needed() -> None:
    """An exception whose file no longer imports the module is a stale open door."""
    stale = {}
    for relative, modules in ALLOWED.items():
        path = REPO / relative
        used = network_imports(path) if path.exists() else set()
        unused = set(modules) - used
        if unused:
            stale[relative] = sorted(unused)
    assert stale == {}


def test_every_exception_says_why() -> None:
    for modules in ALLOWED.values():
        for module, why in modules.items():
            assert module in NETWORK_MODULES
            assert len(why) > 20


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from langchain_openai import ChatOpenAI\nimport httpx\n", {"langchain_openai", "httpx"}),
        ("import chromadb\n", {"chromadb"}),
        ("from langsmith import Client\n", {"langsmith"}),
        ("from langsmith.run_helpers import traceable\n", {"langsmith"}),
        (
            "from langchain_core.tracers.langchain import LangChainTracer\n",
            {"langchain_core.tracers.langchain"},
        ),
        ("from langchain_core.tracers import langchain\n", {"langchain_core.tracers.langchain"}),
        (
            "from langchain_core.tracers import LangChainTracer\n",
            {"langchain_core.tracers.LangChainTracer"},
        ),
        (
            "from langchain_core.tracers.context import tracing_v2_enabled\n",
            {"langchain_core.tracers.context"},
        ),
        ("import aiohttp\n", {"aiohttp"}),
        ("from http.client import HTTPSConnection\n", {"http.client"}),
        ("from http import client\n", {"http.client"}),
        ("import urllib.request as fetch\n", {"urllib.request"}),
        ("from urllib import request\n", {"urllib.request"}),
        ("import urllib3\n", {"urllib3"}),
        ("import websockets.sync.client\n", {"websockets"}),
        ("import socket\n", {"socket"}),
        ("import importlib\nimportlib.import_module('requests')\n", {"requests"}),
        ("__import__('openai')\n", {"openai"}),
        ("from urllib.parse import urlparse\nimport asyncio\nimport json\n", set()),
        ("from .socket import thing\n", set()),  # a relative import is our own module
    ],
)
def test_the_check_sees_an_offender(tmp_path: Path, source: str, expected: set[str]) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(source, encoding="utf-8")
    assert network_imports(sneaky) == expected


# --- one place acts on a decision ---------------------------------------------------

ACTS_ON_DECISIONS = {
    # the calls that act on a decision: choosing it, adding to the run's public record,
    # writing an audit row; only the door makes them (decision.py defines the first two)
    "decide": {"langchain_cogenesis/privacy/egress/door.py"},
    "mark_public": {"langchain_cogenesis/privacy/egress/door.py"},
    "record": {
        "langchain_cogenesis/privacy/egress/door.py",
        # the remote store's own row: a store, not a payload (no decision to act on)
        "langchain_cogenesis/privacy/egress/audit.py",
    },
}


def decision_acts(path: Path) -> set[str]:
    """The acts of :data:`ACTS_ON_DECISIONS` that ``path`` performs: a call of
    ``decide(...)`` or ``mark_public(...)`` by name, or an audit row
    (``.record(..., decision=...)``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id in ("decide", "mark_public"):
            found.add(function.id)
        keywords = {keyword.arg for keyword in node.keywords}
        if (
            isinstance(function, ast.Attribute)
            and function.attr == "record"
            and "decision" in keywords
        ):
            found.add("record")
    return found


def test_only_the_door_acts_on_a_decision() -> None:
    offenders = {}
    for path in package_files():
        relative = path.relative_to(REPO).as_posix()
        acts = {act for act in decision_acts(path) if relative not in ACTS_ON_DECISIONS[act]}
        if acts:
            offenders[relative] = sorted(acts)
    assert offenders == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("verdict = decide(pairs, scanner)\n", {"decide"}),
        ("mark_public([reply])\n", {"mark_public"}),
        ("log.record(user_id='', decision='sent', payload=text)\n", {"record"}),
        ("verdict = door.decide(pairs, scanner, purpose='x')\nDoor.received([t])\n", set()),
        ("self.pending.record(run, 'create_run', {})\n", set()),  # not an audit row
    ],
)
def test_the_door_check_sees_an_offender(tmp_path: Path, source: str, expected: set[str]) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(source, encoding="utf-8")
    assert decision_acts(sneaky) == expected
