"""The sketch request leaves while the store is searched and the local model reads
ahead; the answer is the same as in order. (The real model's greedy answer, in order
and overlapped, is compared in tests/integration/models/test_read_ahead.py.)"""

from __future__ import annotations

import threading
import time
from typing import Any

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage

from langchain_cogenesis.graphs import run_sketch_graph
from langchain_cogenesis.graphs.nodes import SKETCH_MARK
from tests.cloud_servers import RecordingServer
from tests.unit.graphs.test_sketch_graph import REQUEST, SECRET, make_components


class ReadingModel(GenericFakeChatModel):
    """A fake local model that also reads ahead, and notes when."""

    reads: list[tuple[float, list[BaseMessage], str]] = []  # noqa: RUF012

    def read_ahead(self, messages: list[BaseMessage], *, until: str) -> int:
        self.reads.append((time.perf_counter(), messages, until))
        return 1


def logged(log: dict[str, float], name: str, call: Any, wait: Any = None) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        log[f"{name}-start"] = time.perf_counter()
        if wait is not None:
            log[f"{name}-saw-the-sketch-leave"] = float(wait())
        try:
            return call(*args, **kwargs)
        finally:
            log[f"{name}-end"] = time.perf_counter()

    return wrapper


def run(overlap: bool) -> tuple[Any, dict[str, float], ReadingModel]:
    log: dict[str, float] = {}
    sketch_sent = threading.Event()
    with RecordingServer(reply="1. Greet\n2. Thank the volunteers") as server:
        parts = make_components(server, overlap=overlap)
        # overlapped, the search holds until the sketch request has left: it can only
        # end because the sketch was asked for meanwhile (in order, it does not wait)
        wait = (lambda: sketch_sent.wait(timeout=60)) if overlap else None
        parts.store.search = logged(log, "search", parts.store.search, wait)  # type: ignore[method-assign]
        guard = parts.egress_guard
        assert guard is not None
        chat = guard.chat

        def sending(*args: Any, **kwargs: Any) -> Any:
            sketch_sent.set()
            return chat(*args, **kwargs)

        guard.chat = logged(log, "sketch", sending)  # type: ignore[method-assign]
        local = ReadingModel(messages=iter([AIMessage("Dear neighbors, welcome.")] * 3))
        local.reads = []
        parts.local_model = local
        result = run_sketch_graph(parts, {**REQUEST, "mode": "sketch"})
        assert len(server.chat_requests) == 1
    return result, log, local


def test_the_sketch_is_asked_for_while_the_store_is_searched() -> None:
    overlapped, log, local = run(overlap=True)
    in_order, order_log, order_local = run(overlap=False)
    assert overlapped.answer == in_order.answer
    assert overlapped.sketch == in_order.sketch and overlapped.sketch
    # overlapped, the sketch left while the search was running; in order, after it
    assert log["search-saw-the-sketch-leave"] == 1.0
    assert log["sketch-start"] < log["search-end"]
    assert order_log["sketch-start"] >= order_log["search-end"]
    # the read-ahead: after the search, with the private context, up to the sketch's place
    [(read_at, messages, until)] = local.reads
    text = "\n".join(str(m.content) for m in messages)
    assert until == SKETCH_MARK and text.count(SKETCH_MARK) == 1
    assert SECRET in text.split(SKETCH_MARK)[0]
    assert read_at >= log["search-end"]
    assert order_local.reads == []
    assert "local_read_ahead" in overlapped.timings
    assert "local_read_ahead" not in in_order.timings


def test_a_local_model_without_read_ahead_still_overlaps_the_sketch() -> None:
    with RecordingServer(reply="1. Greet") as server:
        parts = make_components(server)  # GenericFakeChatModel: no read_ahead
        result = run_sketch_graph(parts, {**REQUEST, "mode": "sketch"})
    assert result.answer and result.sketch
    assert "local_read_ahead" not in result.timings
