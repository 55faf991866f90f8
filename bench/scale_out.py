"""Scale-out: requests/s of the sketch graph with one and with two worker processes.

The workers share one PostgreSQL checkpointer (``postgres_checkpointer``; pgserver
starts one unless ``--postgres-uri`` is given) and one Chroma server (``chroma run``
unless ``--chroma-url``), as in docs/deployment.md. Each worker handles its share of
``--requests`` one after another (one local model per process, as deployed), every
request a thread of its own: retrieve from the Chroma server, the cloud's sketch
through the egress guard, the local model's answer, each step checkpointed to
PostgreSQL before the next (``durability="sync"``).

What is measured, by default, is the deployment's own cost per request: the cloud
is a fake OpenAI-compatible server on 127.0.0.1 that answers at once (``--cloud-latency``
adds a delay) and the local writer is a fake that answers at once, so the figures are
the throughput of checkpointing, retrieval (the bundled all-MiniLM-L6-v2 embeds each
query) and the guard's scan (the spaCy entity recognizer included). ``--writer llama``
uses Gemma 3 270M with ``--tokens`` new tokens instead. ``--light`` loads no model at
all (hash embeddings, entity rules alone), for a quick smoke run. The ratio (two
workers / one) is bounded by the machine's free cores, which the servers share with
the workers.

Prints requests/s, p50/p95 latency and the cloud requests counted per configuration,
and the ratio; ``--json PATH`` writes them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from langchain_cogenesis.graphs import Components, build_sketch_graph, run_sketch_graph
from langchain_cogenesis.graphs.checkpointers import postgres_checkpointer
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.privacy.detection.entities import EntityDetector
from langchain_cogenesis.retrievers import PrivateStore, chroma_server

USERS = [f"bench-user-{n}" for n in range(4)]
SKETCH = "1. Greet everyone\n2. Give the date\n3. Thank the helpers"


class InstantWriter(BaseChatModel):
    """A local writer that answers at once, so the deployment's own cost shows."""

    @property
    def _llm_type(self) -> str:
        return "instant-writer"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        answer = "Dear all, " + messages[-1].text[-80:]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(answer))])


class HashEmbeddings(Embeddings):
    """A vector from a text's hash: retrieval without an embedding model's cost."""

    def _vector(self, text: str) -> list[float]:
        digest = hashlib.sha256(text.encode()).digest()
        return [byte / 255 - 0.5 for byte in digest]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


# -- the fake cloud ------------------------------------------------------------------


class CountingCloud(ThreadingHTTPServer):
    """An OpenAI-compatible chat endpoint that streams :data:`SKETCH` and counts requests."""

    daemon_threads = True

    def __init__(self, latency: float) -> None:
        super().__init__(("127.0.0.1", 0), _CloudHandler)
        self.latency = latency
        self.requests = 0
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _CloudHandler(BaseHTTPRequestHandler):
    server: CountingCloud
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            self.server.requests += 1
        time.sleep(self.server.latency)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in [*SKETCH.split(" "), None]:
            delta = {"content": piece + " "} if piece else {}
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0,
                     "model": "fake", "choices": [{"index": 0, "delta": delta,
                     "finish_reason": None if piece else "stop"}]}  # fmt: skip
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


# -- the shared servers ----------------------------------------------------------------


@contextmanager
def postgres(uri: str | None) -> Iterator[str]:
    if uri:
        yield uri
        return
    from pgserver.postgres_server import get_server

    with tempfile.TemporaryDirectory(prefix="cogenesis-pg-") as data:
        server = get_server(data, cleanup_mode="stop")
        try:
            yield str(server.get_uri())
        finally:
            server.cleanup()


@contextmanager
def chroma(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with (
        tempfile.TemporaryDirectory(prefix="cogenesis-chroma-") as data,
        chroma_server(Path(data)) as served,
    ):
        yield served


# -- a worker process ------------------------------------------------------------------


def worker(args: argparse.Namespace) -> int:
    """Warm up, say ``ready``, then run each batch read from stdin and report its timings.

    A batch is ``{"run": ID, "first": F, "step": S}``: requests F, F+S, F+2S, ... of
    ``--requests``, each a thread of its own.
    """
    # light: the entity rules without the spaCy model, passed to every scanner of the run
    entities = EntityDetector.rules_only() if args.light else None
    embeddings = HashEmbeddings() if args.light else None
    store = PrivateStore(chroma_url=args.chroma_url, embeddings=embeddings, audit_log=None)
    local_model: BaseChatModel = InstantWriter()
    if args.writer == "llama":
        from langchain_cogenesis.models import ChatLocalLlama, bundled_model_path

        local_model = ChatLocalLlama(
            model_path=bundled_model_path(), max_tokens=args.tokens, seed=0, n_ctx=1024
        )
    components = Components(
        store=store,
        local_model=local_model,
        egress_guard=EgressGuard(base_url=args.cloud_url, model="fake", max_retries=0),
        k=2,
        sketch_max_tokens=32,
        entity_detector=entities,
    )
    saver = postgres_checkpointer(args.postgres_uri, audit_log=None)
    graph = build_sketch_graph(checkpointer=saver)

    def one(thread_id: str, user: str) -> None:
        request: Any = {"user_id": user, "public_instruction": "Write a note for the open day"}
        config: Any = {"configurable": {"thread_id": thread_id}}
        run_sketch_graph(components, request, graph=graph, config=config)

    one(uuid.uuid4().hex, USERS[0])  # warm-up: connections, caches, lazy imports
    print("ready", flush=True)
    for line in sys.stdin:
        batch = json.loads(line)
        latencies, failed = [], 0
        for index in range(batch["first"], args.requests, batch["step"]):
            started = time.perf_counter()
            try:
                one(f"{batch['run']}-{index}", USERS[index % len(USERS)])
            except Exception as error:  # counted and shown, the batch goes on
                failed += 1
                print(f"request {index} failed: {type(error).__name__}: {error}", file=sys.stderr)
            latencies.append(time.perf_counter() - started)
        print(json.dumps({"latencies": latencies, "failed": failed}), flush=True)
    saver.conn.close()
    return 0


# -- the benchmark ---------------------------------------------------------------------


def start_workers(args: argparse.Namespace, count: int, cloud_url: str) -> list[Any]:
    command = [
        sys.executable, __file__, "--worker", "--requests", str(args.requests),
        "--postgres-uri", args.postgres_uri, "--chroma-url", args.chroma_url,
        "--cloud-url", cloud_url, "--writer", args.writer, "--tokens", str(args.tokens),
        *(["--light"] * args.light),
    ]  # fmt: skip
    processes = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    for process in processes:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"a worker did not start (exit code {process.wait()})")
    return processes


def measure(processes: list[Any], cloud: CountingCloud) -> dict[str, Any]:
    """Release ``processes`` (warm workers) on one batch together; time the whole batch."""
    run_id = uuid.uuid4().hex[:12]
    cloud_before = cloud.requests
    started = time.perf_counter()
    for first, process in enumerate(processes):
        batch = {"run": run_id, "first": first, "step": len(processes)}
        process.stdin.write(json.dumps(batch) + "\n")
        process.stdin.flush()
    reports = [json.loads(process.stdout.readline()) for process in processes]
    wall = time.perf_counter() - started
    latencies = sorted(latency for report in reports for latency in report["latencies"])
    return {
        "workers": len(processes),
        "requests": len(latencies),
        "failed": sum(report["failed"] for report in reports),
        "wall_seconds": wall,
        "requests_per_second": len(latencies) / wall,
        "p50_seconds": statistics.median(latencies),
        "p95_seconds": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
        "cloud_requests": cloud.requests - cloud_before,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--writer", choices=("fake", "llama"), default="fake")
    parser.add_argument("--tokens", type=int, default=8, help="new tokens (--writer llama)")
    parser.add_argument("--light", action="store_true", help="load no embedding or NER model")
    parser.add_argument("--cloud-latency", type=float, default=0.0)
    parser.add_argument("--postgres-uri", default=None)
    parser.add_argument("--chroma-url", default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cloud-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    load_before = os.getloadavg()[0]  # other work on the machine shares its cores
    cloud = CountingCloud(args.cloud_latency)
    threading.Thread(target=cloud.serve_forever, daemon=True).start()
    with ExitStack() as servers:
        args.postgres_uri = servers.enter_context(postgres(args.postgres_uri))
        args.chroma_url = servers.enter_context(chroma(args.chroma_url))
        embeddings = HashEmbeddings() if args.light else None
        store = PrivateStore(chroma_url=args.chroma_url, embeddings=embeddings, audit_log=None)
        for user in USERS:
            notes = [Document(f"{user} note {n}: bed {n} needs compost") for n in range(12)]
            store.add_documents(user, notes)
        # the same two warm workers: one of them alone, then both
        workers = start_workers(args, 2, cloud.base_url)
        try:
            rows = {
                "one_worker": measure(workers[:1], cloud),
                "two_workers": measure(workers, cloud),
            }
        finally:
            for process in workers:
                process.stdin.close()
                process.wait(timeout=60)
    cloud.shutdown()
    ratio = rows["two_workers"]["requests_per_second"] / rows["one_worker"]["requests_per_second"]
    figures = {
        "writer": args.writer,
        "light": args.light,
        "cloud_latency_seconds": args.cloud_latency,
        **rows,
        "ratio": ratio,
        "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]},
    }
    for name, row in rows.items():
        print(
            f"{name.replace('_', ' '):>12}: {row['requests']} requests in "
            f"{row['wall_seconds']:.1f} s = {row['requests_per_second']:.2f} requests/s "
            f"(p50 {row['p50_seconds'] * 1000:.0f} ms, p95 {row['p95_seconds'] * 1000:.0f} ms, "
            f"{row['failed']} failed, {row['cloud_requests']} cloud requests)"
        )
    print(f"ratio (two workers / one): {ratio:.2f}")
    print(f"load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
