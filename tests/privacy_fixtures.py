"""A user full of private facts, a recording LangSmith-compatible endpoint, and leak checks.

Shared by the privacy tests. :func:`watched` records one run at every exit (cloud,
tracer, sockets, error messages); :func:`assert_nothing_private` judges it.

The user carries a canary, a person's name, a street address, a health fact and an
employer, both in the private store and in the private part of the instruction; the
public part names none of them. A leak is any of :data:`PRIVATE_MARKERS` (whole
values and distinctive pieces of them) in a recorded body or an error message.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_cogenesis.schema import UserContext, UserProfile, Writing
from tests.cloud_servers import RecordingServer
from tests.egress_recorder import Allowed, EgressRecorder

USER_ID = "reader-4471"  # names none of the private facts
CANARY = "CANARY-Zq7x31-Vellichor"
PERSON = "Oksana Threlkeld"
ADDRESS = "42 Wintergreen Terrace, Dunmore"
HEALTH = "narcolepsy"
MEDICINE = "modafinil"
EMPLOYER = "Brackenridge Turbines"

PRIVATE_MARKERS: dict[str, str] = {
    "canary": CANARY,
    "canary token": "Zq7x31",
    "name": PERSON,
    "surname": "Threlkeld",
    "first name": "Oksana",
    "address": ADDRESS,
    "street": "Wintergreen",
    "health": HEALTH,
    "medicine": MEDICINE,
    "employer": EMPLOYER,
    "employer name": "Brackenridge",
}
"""Label → private string; none of them occurs in the public instruction or prompts."""

PUBLIC_INSTRUCTION = "Write a short invitation to a neighbourhood book swap"
PRIVATE_INSTRUCTION = (
    f"Sign it as {PERSON} of {ADDRESS}; say I work at {EMPLOYER}, that my {HEALTH} "
    f"means I may doze off, and add the code {CANARY}."
)
ONE_PART_INSTRUCTION = f"{PUBLIC_INSTRUCTION}: {PRIVATE_INSTRUCTION}"
LEAKY_PUBLIC_INSTRUCTION = f"{PUBLIC_INSTRUCTION} hosted by {PERSON} at {ADDRESS}"
"""A public part the user filled with private facts (the block policy must refuse it)."""

LOCAL_ANSWER = (
    f"Dear neighbours, join {PERSON} at {ADDRESS} for a book swap. I test blades at "
    f"{EMPLOYER}; my {HEALTH} (and the {MEDICINE}) may make me doze. Code {CANARY}."
)
"""What the fake local model writes: the personalized answer holds every private fact."""

CLOUD_SKETCH = "1. Greet the neighbours\n2. Give the date and place\n3. Ask guests to bring books"
"""What the recording cloud answers (public)."""


def private_user() -> UserContext:
    """The user, with every private fact in the store."""
    return UserContext(
        user_id=USER_ID,
        profile=UserProfile(
            name=PERSON,
            age="41",
            occupation=f"test engineer at {EMPLOYER}",
            location=ADDRESS,
            personal_traits="reads crime novels, hosts neighbours",
            writing_style="warm, short sentences",
        ),
        private_details=[
            f"{PERSON} lives at {ADDRESS} with two cats.",
            f"She was diagnosed with {HEALTH} in 2019 and takes {MEDICINE} every morning.",
            f"She has worked at {EMPLOYER} since 2014, testing turbine blades.",
            f"Vault note: {CANARY}.",
        ],
        activity_logs=[f"Renewed the {MEDICINE} prescription at the Dunmore pharmacy."],
        writing_history=[
            Writing(
                title="Street party",
                text=f"Hello from {ADDRESS}! Bring a chair and a story. - {PERSON}",
            )
        ],
    )


def private_texts() -> list[str]:
    """Every private fact as a text (for scanners that take explicit texts)."""
    user = private_user()
    return [*user.private_details, *user.activity_logs, PRIVATE_INSTRUCTION]


def find_private(texts: Iterable[str]) -> list[str]:
    """Labels of the private markers found in ``texts`` (also JSON-escaped, any case)."""
    found = []
    lowered = [text.lower() for text in texts]
    for label, marker in PRIVATE_MARKERS.items():
        forms = {marker.lower(), json.dumps(marker)[1:-1].lower()}
        if any(form in text for text in lowered for form in forms):
            found.append(label)
    return found


# --- a recording LangSmith-compatible endpoint -----------------------------------------


class TracingServer(ThreadingHTTPServer):
    """Answers what a LangSmith client asks (``/info``, run ingestion) and records every
    request it receives, decompressed; a remote tracer as far as the package can tell."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _TracingHandler)
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up early is expected."""

    def __enter__(self) -> TracingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()

    def ingested(self) -> list[dict[str, Any]]:
        """The requests that carried data (not ``GET /info``)."""
        with self.lock:
            return [r for r in self.requests if r["method"] != "GET"]

    def texts(self) -> list[str]:
        """Every recorded body as text, plus every string inside its JSON parts."""
        texts: list[str] = []
        for request in self.ingested():
            body: bytes = request["body"]
            texts.append(body.decode("utf-8", "replace"))
            for document in _json_documents(body, request["content_type"]):
                texts.extend(_strings(document))
        return texts

    def runs(self) -> list[dict[str, Any]]:
        """The run objects (posted or patched) found in the recorded bodies."""
        runs: list[dict[str, Any]] = []
        for request in self.ingested():
            for document in _json_documents(request["body"], request["content_type"]):
                runs.extend(_runs_in(document))
        return runs

    def run_names(self) -> set[str]:
        return {str(run["name"]) for run in self.runs() if run.get("name")}

    def wait_quiet(self, seconds: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until no request arrived for ``seconds`` (background senders are done)."""
        deadline = time.monotonic() + timeout
        count = -1
        while time.monotonic() < deadline:
            with self.lock:
                now = len(self.requests)
            if now == count:
                return
            count = now
            time.sleep(seconds)


class _TracingHandler(BaseHTTPRequestHandler):
    server: TracingServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # silence
        pass

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = self._read_chunked()
        else:
            raw = self.rfile.read(length) if length else b""
        body = _decoded(raw, self.headers.get("Content-Encoding", ""))
        with self.server.lock:
            self.server.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type", ""),
                    "body": body,
                }
            )

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._record()
        if self.path.rstrip("/").endswith("/info"):
            return self._answer(200, {"version": "0.10.0"})
        self._answer(200, {})

    def do_POST(self) -> None:
        self._record()
        self._answer(200, {})

    do_PATCH = do_POST
    do_PUT = do_POST


def _decoded(raw: bytes, encoding: str) -> bytes:
    encoding = encoding.lower().strip()
    if encoding == "gzip":
        return gzip.decompress(raw)
    if encoding == "zstd":
        import zstandard  # langsmith compresses only when it is installed

        reader = zstandard.ZstdDecompressor().stream_reader(raw)
        return bytes(reader.read())
    return raw


def _json_documents(body: bytes, content_type: str) -> list[Any]:
    """The JSON documents in a body: the body itself, or each part of a multipart form."""
    chunks = [body]
    if "multipart/" in content_type and "boundary=" in content_type:
        boundary = content_type.split("boundary=", 1)[1].split(";")[0].strip('"')
        chunks = [
            part.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in part else part
            for part in body.split(b"--" + boundary.encode())
        ]
    documents = []
    for chunk in chunks:
        text = chunk.strip().removesuffix(b"--").strip()
        if not text:
            continue
        try:
            documents.append(json.loads(text))
        except ValueError:
            continue
    return documents


def _strings(document: Any) -> Iterator[str]:
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        for key, value in document.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(document, list):
        for value in document:
            yield from _strings(value)


def _runs_in(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, dict):
        if "run_type" in document or ("id" in document and "trace_id" in document):
            yield document
        for value in document.values():
            yield from _runs_in(value)
    elif isinstance(document, list):
        for value in document:
            yield from _runs_in(value)


# --- LangSmith tracing switched on, the way an application switches it on -----------

TRACING_VARIABLES = (
    "LANGSMITH_TRACING",
    "LANGSMITH_TRACING_V2",
    "LANGSMITH_ENDPOINT",
    "LANGSMITH_API_KEY",
    "LANGSMITH_PROJECT",
    "LANGCHAIN_TRACING_V2",
    "LANGCHAIN_TRACING",
    "LANGCHAIN_ENDPOINT",
    "LANGCHAIN_API_KEY",
    "LANGCHAIN_PROJECT",
)


def tracing_environment(endpoint: str) -> dict[str, str]:
    """The variables a LangChain application sets to trace to ``endpoint``."""
    return {
        "LANGSMITH_TRACING": "true",
        "LANGSMITH_ENDPOINT": endpoint,
        "LANGSMITH_API_KEY": "test",
        "LANGSMITH_PROJECT": "cogenesis-privacy-tests",
    }


def reset_langsmith() -> None:
    """Forget langsmith's cached environment and client, so the next run reads the
    current variables (langsmith caches both for the life of the process)."""
    from langsmith import run_trees
    from langsmith import utils as ls_utils

    ls_utils.get_env_var.cache_clear()  # type: ignore[attr-defined]
    ls_utils.get_tracer_project.cache_clear()
    run_trees._CLIENT = None  # the cached client holds the old endpoint


def flush_tracers(server: TracingServer | None = None) -> None:
    """Send every queued run now, then wait until ``server`` stops receiving."""
    from langchain_core.tracers.langchain import wait_for_all_tracers

    wait_for_all_tracers()
    if server is not None:
        server.wait_quiet()


@contextmanager
def langsmith_tracing(server: TracingServer) -> Iterator[None]:
    """LangSmith tracing on, to ``server``, through the environment; restored after."""
    saved = {name: os.environ.get(name) for name in TRACING_VARIABLES}
    for name in TRACING_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(tracing_environment(server.url))
    reset_langsmith()
    try:
        yield
    finally:
        flush_tracers(server)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_langsmith()


# --- what one run saw at every exit ----------------------------------------------------


@dataclass
class Exits:
    """The recorders of one case, and how the entry point ended."""

    tracer: TracingServer
    clouds: list[RecordingServer]
    egress: EgressRecorder
    allowed: list[Allowed]
    error: BaseException | None = None
    result: Any = None
    cli_output: list[str] = field(default_factory=list)

    def run(self, entry_point: Callable[[], Any]) -> None:
        """Run ``entry_point``; its exception is kept (its message is an exit too)."""
        try:
            self.result = entry_point()
        except Exception as error:  # judged by the assertions
            self.error = error

    def leaks(self) -> dict[str, list[str]]:
        """Where each private fact was seen: cloud, tracer, error messages."""
        seen = {
            "cloud": find_private(cloud_texts(self.clouds)),
            "tracer": find_private(self.tracer.texts()),
            "error message": find_private([error_text(self.error)] if self.error else []),
            "CLI error output": find_private(self.cli_output),
        }
        return {where: labels for where, labels in seen.items() if labels}


def cloud_texts(servers: list[RecordingServer]) -> list[str]:
    """Every byte the recording clouds received, and every string inside its JSON."""
    texts: list[str] = []
    for server in servers:
        for raw in list(server.raw_bodies):
            texts.append(raw.decode("utf-8", "replace"))
            with suppress(ValueError):
                texts.append(json.dumps(json.loads(raw), ensure_ascii=False))
    return texts


def error_text(error: BaseException) -> str:
    """The whole traceback, chained exceptions and notes included, as a log would show."""
    return "".join(traceback.format_exception(error)) + repr(error)


def assert_nothing_private(exits: Exits) -> None:
    leaks = exits.leaks()
    assert leaks == {}, f"private facts left the device: {leaks}"
    exits.egress.assert_only(exits.allowed)


@contextmanager
def watched(
    tracer: TracingServer, clouds: list[RecordingServer], allowed: list[Allowed]
) -> Iterator[Exits]:
    """Record every exit while the block runs; traces are flushed before it closes, so
    the background sender's connections are recorded too. The LangSmith client is made
    anew, so its connection is opened (and seen) inside the block, not reused."""
    flush_tracers(tracer)
    reset_langsmith()
    tracer.clear()
    with EgressRecorder() as egress:
        exits = Exits(tracer, clouds, egress, allowed)
        try:
            yield exits
        finally:
            flush_tracers(tracer)


def tracer_allowed(tracer: TracingServer) -> Allowed:
    return Allowed("127.0.0.1", tracer.port, "the remote tracer (recording LangSmith endpoint)")


def cloud_allowed(port: int, what: str = "the guard's endpoint (recording cloud)") -> Allowed:
    return Allowed("127.0.0.1", port, what)
