"""OpenAI-compatible HTTP servers on 127.0.0.1 for tests: scripted fakes and a recording proxy.

Every request body that reaches one of these servers is recorded byte for byte, so a
test can check what really left the process, independent of the guard's own records.

Faults (``behaviour``), for chat and completion requests alike: ``error500``,
``rate-limit`` (429 with ``Retry-After``), ``garbage`` (malformed JSON), ``cut`` (the
answer stops mid-way and the connection closes), ``slow`` (waits ``delay`` seconds),
``no-logprobs`` (completions without log-probabilities), ``unauthorized`` (401),
``flaky`` (the first request fails with 500). With ``faults`` set, only that many
requests meet the fault; the ones after it are answered normally.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        behaviour: str = "ok",
        *,
        reply: str = "1. First point\n2. Second point",
        upstream: str | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.reply = reply
        self.upstream = upstream.rstrip("/") if upstream else None
        self.requests: list[dict[str, Any]] = []
        self.raw_bodies: list[bytes] = []
        self.chunks_sent = 0
        self.delay = 1.0
        self.faults: int | None = None
        self.retry_after = "0"
        self.tokenizer: Any = None  # text -> ids, for /extras/tokenize
        self.top_logprobs: dict[str, float] = {" the": -2.3}
        # (prompt, echo, k) -> the "logprobs" object of a completion, when set
        self.logprobs_for: Any = None
        # request body -> the "message" of a (non-streamed) chat completion, when set
        self.chat_for: Any = None
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up early (a timeout, a bounded stream) is expected."""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def all_bytes(self) -> bytes:
        return b"\n".join(self.raw_bodies)

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def _chunk(text: str, finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "fake",
        "choices": [
            {"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}
        ],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


class _Handler(BaseHTTPRequestHandler):
    server: RecordingServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # silence
        pass

    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        self.server.raw_bodies.append(raw)
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = {}
        self.server.requests.append(
            {"path": self.path, "body": parsed, "headers": dict(self.headers.items())}
        )
        behaviour = self.server.behaviour
        if self.server.faults is not None and behaviour not in ("ok", "endless"):
            if self.server.faults <= 0:
                behaviour = "ok"
            self.server.faults -= 1
        if self._fault(behaviour):
            return
        if self.server.upstream:
            return self._forward(raw)
        if self.path.endswith("/extras/tokenize") and self.server.tokenizer is not None:
            return self._json(200, {"tokens": self.server.tokenizer(parsed.get("input", ""))})
        if self.path.endswith("/v1/completions") and behaviour in ("ok", "slow", "flaky"):
            if behaviour == "slow":
                time.sleep(self.server.delay)
            if behaviour == "flaky" and len(self.server.requests) % 2 == 1:
                return self._json(500, {"error": {"message": "internal"}})
            top = self.server.top_logprobs
            if self.server.logprobs_for is not None:
                logprobs = self.server.logprobs_for(
                    parsed["prompt"], bool(parsed.get("echo")), int(parsed["logprobs"])
                )
                choice = {"index": 0, "text": "", "finish_reason": "length", "logprobs": logprobs}
                return self._json(
                    200, {"id": "c", "object": "text_completion", "created": 0, "model": "fake",
                          "choices": [choice]},
                )  # fmt: skip
            return self._json(
                200,
                {
                    "id": "cmpl-test",
                    "object": "text_completion",
                    "created": 0,
                    "model": "fake",
                    "choices": [
                        {
                            "index": 0,
                            "text": next(iter(top), ""),
                            "finish_reason": "length",
                            "logprobs": {
                                "tokens": list(top)[:1],
                                "token_logprobs": [0.0],
                                "top_logprobs": [top] if top else [],
                                "text_offset": [0],
                            },
                        }
                    ],
                },
            )
        if self.server.chat_for is not None and self.path.endswith("/chat/completions"):
            message = self.server.chat_for(parsed)
            finish = "tool_calls" if message.get("tool_calls") else "stop"
            choice = {"index": 0, "message": message, "finish_reason": finish}
            return self._json(
                200, {"id": "chat", "object": "chat.completion", "created": 0, "model": "fake",
                      "choices": [choice]},
            )  # fmt: skip
        if behaviour == "slow":
            time.sleep(self.server.delay)
        if behaviour == "flaky":
            # the first request fails, later ones succeed: a client retry resends
            behaviour = "error500" if len(self.server.chat_requests) == 1 else "ok"
        if behaviour == "error500":
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "internal"}}')
            return
        if behaviour == "garbage":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b"data: {this is not json\n\n")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            if behaviour == "endless":
                # Ignores every token bound, like llama_cpp.server with max_completion_tokens.
                for _ in range(100_000):
                    self.wfile.write(_chunk(" word"))
                    self.wfile.flush()
                    self.server.chunks_sent += 1
                    time.sleep(0.001)
            else:
                for word in self.server.reply.split(" "):
                    self.wfile.write(_chunk(word + " "))
                    self.server.chunks_sent += 1
                self.wfile.write(_chunk("", finish="stop"))
                if (parsed.get("stream_options") or {}).get("include_usage"):
                    # as OpenAI does: a last chunk with no choices and the token counts
                    prompt = sum(len(str(m.get("content", "")).split())
                                 for m in parsed.get("messages", []))  # fmt: skip
                    answer = len(self.server.reply.split(" "))
                    usage = {"prompt_tokens": prompt, "completion_tokens": answer,
                             "total_tokens": prompt + answer}  # fmt: skip
                    body = {"id": "chatcmpl-test", "object": "chat.completion.chunk",
                            "created": 0, "model": "fake", "choices": [],
                            "usage": usage}  # fmt: skip
                    self.wfile.write(f"data: {json.dumps(body)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):
            return

    def _fault(self, behaviour: str) -> bool:
        """Answer with the injected fault; ``False`` when the request is answered normally."""
        completion = self.path.endswith("/v1/completions")
        if behaviour == "unauthorized":
            self._json(401, {"error": {"message": "invalid api key"}})
            return True
        if behaviour == "rate-limit":
            self.send_response(429)
            self.send_header("Retry-After", self.server.retry_after)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "rate limited"}}')
            return True
        if behaviour == "garbage" and completion:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"choices": [{"text": ')
            return True
        if behaviour == "cut":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            if completion:
                self.send_header("Content-Length", "4096")
            self.end_headers()
            self.wfile.write(b'{"id": "c", "object": "text_comp' if completion else _chunk("Half"))
            return True
        if behaviour == "no-logprobs" and completion:
            choice = {"index": 0, "text": " the", "finish_reason": "length", "logprobs": None}
            self._json(200, {"id": "c", "object": "text_completion", "created": 0,
                             "model": "fake", "choices": [choice]})  # fmt: skip
            return True
        return False

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _forward(self, raw: bytes) -> None:
        assert self.server.upstream is not None
        root = self.server.upstream.removesuffix("/v1")
        request = urllib.request.Request(
            root + self.path,
            data=raw,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=300) as answer:
                self.send_response(answer.status)
                self.send_header(
                    "Content-Type", answer.headers.get("Content-Type", "application/json")
                )
                self.end_headers()
                while True:
                    line = answer.readline()
                    if not line:
                        break
                    self.wfile.write(line)
                    self.wfile.flush()
                    if line.startswith(b"data:"):
                        self.server.chunks_sent += 1
        except (BrokenPipeError, ConnectionResetError):
            return
