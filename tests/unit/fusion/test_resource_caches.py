"""Steady resources: bounded caches, reused parts, no per-call growth, closed files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document

from langchain_cogenesis.caches import BoundedCache, DerivedPerUser
from langchain_cogenesis.errors import TokenizerMismatch
from langchain_cogenesis.fusion import ChatCoGenesisFusion, tokenizer
from langchain_cogenesis.fusion.tokenizer import (
    PROBES,
    check_same_tokenizer,
    piece_map,
    verify_remote_tokenizer,
)
from langchain_cogenesis.graphs import ChatCoGenesis, defaults, scanners
from langchain_cogenesis.privacy import AuditLog, EgressGuard
from tests.cloud_servers import RecordingServer
from tests.fusion_fakes import ScriptScorer, echo_script
from tests.leak_harness import MemoryStore
from tests.unit.graphs.test_sketch_graph import make_components

SCRIPT = [" Dear", " neighbors,", " welcome", " to", " the", " garden"]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FileScorer(ScriptScorer):
    """A scripted scorer that names a model file (so its vocabulary can be cached)
    and counts how often its vocabulary is read token by token."""

    def __init__(self, model_path: Path, script: list[str] = SCRIPT, **kwargs: Any) -> None:
        super().__init__(script, **kwargs)
        self.model_path = model_path
        self.single_reads = 0

    def detokenize(self, token_ids: Any) -> str:
        self.single_reads += len(token_ids) == 1
        return super().detokenize(token_ids)


class ProbeGuard:
    """What verify_remote_tokenizer needs of a guard: an endpoint and the probe."""

    def __init__(self, answer: Any, base_url: str = "http://cloud/v1") -> None:
        self.base_url, self.model = base_url, "m"
        self.answer = answer
        self.probes = 0

    def remote_token_ids(self, texts: Any) -> Any:
        self.probes += 1
        return self.answer


@pytest.fixture(autouse=True)
def fresh_tokenizer_caches() -> None:
    tokenizer.clear_tokenizer_caches()


@pytest.fixture()
def gguf(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"weights")
    return path


# --- the cache itself -----------------------------------------------------------------


def test_cache_drops_the_least_recently_used_beyond_its_size() -> None:
    cache: BoundedCache[str, int] = BoundedCache(max_size=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recently used
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_cache_forgets_entries_older_than_its_age() -> None:
    clock = Clock()
    cache: BoundedCache[str, int] = BoundedCache(max_size=10, max_age=60, clock=clock)
    cache.put("old", 1)
    clock.now = 30
    cache.put("young", 2)
    assert cache.get("old") == 1  # a read does not make an entry younger
    clock.now = 61
    assert cache.get("old") is None and cache.get("young") == 2
    clock.now = 91
    assert len(cache) == 0


def test_get_or_create_builds_once_and_again_after_expiry() -> None:
    clock = Clock()
    cache: BoundedCache[str, list[int]] = BoundedCache(max_size=2, max_age=10, clock=clock)
    built: list[int] = []

    def build() -> list[int]:
        built.append(1)
        return [len(built)]

    first = cache.get_or_create("k", build)
    assert cache.get_or_create("k", build) is first and len(built) == 1
    clock.now = 10
    assert cache.get_or_create("k", build) == [2]
    cache.discard_where(lambda key: key == "k")
    assert cache.get("k") is None


def test_cache_refuses_nonsense_bounds() -> None:
    with pytest.raises(ValueError):
        BoundedCache(max_size=0)
    with pytest.raises(ValueError):
        BoundedCache(max_size=1, max_age=0)


# --- tokenizer checks and piece maps ----------------------------------------------------


def test_piece_map_is_built_once_per_model_file_and_again_when_it_changes(gguf: Path) -> None:
    scorer = FileScorer(gguf)
    pieces = piece_map(scorer)
    reads = scorer.single_reads
    assert reads == scorer.vocab_size() and pieces[" Dear"] == scorer.index[" Dear"]
    assert piece_map(FileScorer(gguf)) is pieces  # another scorer of the same file
    gguf.write_bytes(b"other weights")  # replaced: size and time differ
    assert piece_map(scorer) is not pieces and scorer.single_reads == 2 * reads


def test_piece_map_of_a_scorer_without_a_file_is_never_cached() -> None:
    scorer = ScriptScorer(SCRIPT)
    assert piece_map(scorer) is not piece_map(scorer)


def test_fingerprints_are_cached_and_one_file_needs_none(gguf: Path, tmp_path: Path) -> None:
    other = tmp_path / "cloud.gguf"
    other.write_bytes(b"cloud weights")
    local, cloud = FileScorer(gguf), FileScorer(other)
    check_same_tokenizer(local, FileScorer(gguf))
    assert local.single_reads == 0  # the same file: the same tokenizer
    check_same_tokenizer(local, cloud)
    check_same_tokenizer(local, cloud)
    assert local.single_reads == cloud.single_reads == local.vocab_size()
    third = tmp_path / "third.gguf"
    third.write_bytes(b"third weights")
    with pytest.raises(TokenizerMismatch, match="differs"):
        check_same_tokenizer(cloud, FileScorer(third, script=[" Hello"]))
    assert cloud.single_reads == cloud.vocab_size()  # its fingerprint came from the cache


def test_remote_verdict_is_cached_per_endpoint_model_and_file(gguf: Path) -> None:
    local = FileScorer(gguf)
    good = [local.tokenize(text, add_bos=True) for text in PROBES]
    guard = ProbeGuard(good)
    verify_remote_tokenizer(guard, local)
    verify_remote_tokenizer(guard, FileScorer(gguf))
    assert guard.probes == 1
    elsewhere = ProbeGuard(good, base_url="http://other/v1")
    verify_remote_tokenizer(elsewhere, local)
    assert elsewhere.probes == 1
    # a mismatch is remembered too (the router then falls back without a probe)
    wrong = ProbeGuard([[1, 2]] * len(PROBES), base_url="http://wrong/v1")
    for _ in range(2):
        with pytest.raises(TokenizerMismatch, match="differently"):
            verify_remote_tokenizer(wrong, local)
    assert wrong.probes == 1


def test_an_endpoint_that_did_not_answer_is_asked_again(gguf: Path) -> None:
    silent = ProbeGuard(None)
    for _ in range(2):
        with pytest.raises(TokenizerMismatch, match="does not expose"):
            verify_remote_tokenizer(silent, FileScorer(gguf))
    assert silent.probes == 2


def test_a_scorer_without_a_file_is_probed_every_time() -> None:
    local = ScriptScorer(SCRIPT)
    guard = ProbeGuard([local.tokenize(text, add_bos=True) for text in PROBES])
    verify_remote_tokenizer(guard, local)
    verify_remote_tokenizer(guard, local)
    assert guard.probes == 2


def test_fusion_calls_probe_through_the_guard_once(gguf: Path, tmp_path: Path) -> None:
    """The probe still goes through the guard (audited); later calls reuse its verdict."""
    local = FileScorer(gguf, extra=[" the"])
    with RecordingServer() as server:
        server.tokenizer = lambda text: local.tokenize(text, add_bos=True)
        server.logprobs_for = echo_script(local)
        audit = AuditLog(tmp_path / "audit.sqlite3")
        guard = EgressGuard(base_url=server.base_url, model="fake", max_retries=0, audit_log=audit)
        model = ChatCoGenesisFusion(local_scorer=local, egress_guard=guard, max_tokens=3)
        replies = [model.invoke("Write a welcome note.") for _ in range(3)]
        probes = [r for r in server.requests if r["path"].endswith("/extras/tokenize")]
    assert [r.content for r in replies] == [" Dear neighbors, welcome"] * 3
    usage = replies[0].usage_metadata
    assert usage is not None and usage["input_tokens"] > 3 and usage["output_tokens"] == 3
    assert len(probes) == len(PROBES)
    audited = [e for e in audit.entries() if e.purpose == "tokenizer-probe"]
    # the door's row format, as for every payload: "<role>\ntext"
    assert [e.payload for e in audited] == [f"<probe>\n{probe}" for probe in PROBES]
    # the piece map was read once for the three calls' cloud scorers
    assert local.single_reads < 2 * local.vocab_size() + 30


# --- reused parts, no checkpointer growth ----------------------------------------------


def test_chat_cogenesis_reuses_its_guard_until_the_endpoint_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parts = make_components(None)
    model = ChatCoGenesis(store=parts.store, local_model=parts.local_model)
    monkeypatch.setenv("COGENESIS_CLOUD_BASE_URL", "http://127.0.0.1:9/v1")
    first = model.components().egress_guard
    assert isinstance(first, EgressGuard) and model.components().egress_guard is first
    monkeypatch.setenv("COGENESIS_CLOUD_BASE_URL", "http://127.0.0.1:10/v1")
    moved = model.components().egress_guard
    assert moved is not first and moved.base_url == "http://127.0.0.1:10/v1"


def test_fusion_model_reuses_its_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGENESIS_CLOUD_BASE_URL", "http://127.0.0.1:9/v1")
    model = ChatCoGenesisFusion(local_scorer=ScriptScorer(SCRIPT))
    assert model.guard() is model.guard()


def test_default_store_is_opened_once_per_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    opened: list[object] = []

    class CountingStore:
        def __init__(self) -> None:
            opened.append(self)

    monkeypatch.setattr(defaults, "PrivateStore", CountingStore)
    monkeypatch.setattr(defaults, "_default_stores", BoundedCache(max_size=4))
    monkeypatch.setenv("COGENESIS_HOME", str(tmp_path / "a"))
    assert defaults.default_store() is defaults.default_store()
    monkeypatch.setenv("COGENESIS_HOME", str(tmp_path / "b"))
    defaults.default_store()
    assert len(opened) == 2


def test_one_shot_calls_leave_no_checkpointed_threads() -> None:
    with RecordingServer(reply="1. Welcome") as server:
        parts = make_components(server, answer="Dear neighbors.")
        model = ChatCoGenesis(
            store=parts.store, local_model=parts.local_model, egress_guard=parts.egress_guard
        )
        config = {"configurable": {"user_id": "maya"}}
        for _ in range(2):
            assert model.invoke("Write a welcome speech", config=config).content
        streamed = list(model.stream("Write a welcome speech", config=config))
    assert model._graph.checkpointer is None
    assert streamed[-1].response_metadata["mode"] == "sketch"  # the final state, unsaved


def test_private_index_cache_is_bounded() -> None:
    store = MemoryStore({f"user-{n}": [Document(f"secret {n}")] for n in range(5)})
    store.kept = DerivedPerUser(max_size=2)
    indexes = [scanners.private_index(store, f"user-{n}") for n in range(5)]  # type: ignore[arg-type]
    assert len(store.kept) == 2
    assert scanners.private_index(store, "user-4") is indexes[4]  # type: ignore[arg-type]
    assert scanners.private_index(store, "user-0") is not indexes[0]  # type: ignore[arg-type]


def test_audit_log_closes_every_connection(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3")

    def open_on_log() -> int:
        fds = Path("/proc/self/fd")
        return sum(str(log.path) in os.path.realpath(fds / fd) for fd in os.listdir(fds))

    for n in range(5):
        log.record(
            user_id="u",
            destination="x",
            purpose="sketch",
            decision="sent",
            hits=[],
            payload=f"p{n}",
        )
    assert len(log.entries()) == 5 and log.verify().ok
    assert open_on_log() == 0
