"""Per-user prompt prefixes: the cache's bound and order, which part of a prompt the
local chat model keeps (with a stand-in for llama.cpp's context), and erasure."""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from langchain_cogenesis.errors import UnknownUser
from langchain_cogenesis.models import loader, local
from langchain_cogenesis.models.loader import LoadedModel, ModelKey, forget_user_states
from langchain_cogenesis.models.local import MIN_REUSED_TOKENS, reuse_user_prefix
from langchain_cogenesis.models.prefix_cache import PrefixCache, PrefixEntry
from langchain_cogenesis.privacy.erasure import erase_user


def entry(size: int, tokens: Sequence[int] = (1, 2, 3)) -> PrefixEntry:
    return PrefixEntry(array("i", tokens), bytearray(b"\x07" * size), array("i", tokens))


# -- the cache -------------------------------------------------------------------


def test_one_entry_per_user_and_the_old_one_is_wiped() -> None:
    cache = PrefixCache(max_bytes=10_000)
    first, second = entry(100), entry(200)
    cache.put("ana", first)
    cache.put("ana", second)
    assert len(cache) == 1 and cache.get("ana") is second
    assert first.state == bytearray(100)  # replaced: overwritten with zeros


def test_the_bound_holds_and_the_least_recently_used_user_goes_first() -> None:
    cache = PrefixCache(max_bytes=1_000)
    for user in ("ana", "ben", "cleo"):
        cache.put(user, entry(300))  # 324 bytes each, with the token ids
    ben = cache.get("ben")
    cache.get("ana")
    cache.get("cleo")  # ben is now the least recently used
    cache.put("dov", entry(300))
    assert list(cache._entries) == ["ana", "cleo", "dov"]
    assert ben is not None and ben.state == bytearray(300)  # evicted: wiped
    assert cache.nbytes <= 1_000


def test_many_users_never_exceed_the_bound() -> None:
    cache = PrefixCache(max_bytes=5_000)
    sizes = [137 * (i % 7 + 1) for i in range(200)]
    for index, size in enumerate(sizes):
        cache.put(f"user-{index}", entry(size, range(index % 9 + 1)))
        assert cache.nbytes <= 5_000
    assert 0 < len(cache) < 200


def test_an_entry_larger_than_the_bound_is_not_kept() -> None:
    cache = PrefixCache(max_bytes=500)
    cache.put("ana", entry(100))
    big = entry(600)
    assert not cache.put("ana", big)
    assert "ana" not in cache and big.state == bytearray(600)


def test_a_bound_given_at_put_replaces_the_caches_own() -> None:
    cache = PrefixCache(max_bytes=10_000)
    for user in ("ana", "ben", "cleo"):
        cache.put(user, entry(1_000))
    cache.put("dov", entry(1_000), max_bytes=2_100)
    assert set(cache._entries) == {"cleo", "dov"} and cache.max_bytes == 2_100


def test_the_last_prompt_counts_toward_the_bound() -> None:
    cache = PrefixCache(max_bytes=1_000)
    cache.put("ana", entry(900))
    cache.remember_prompt("ana", range(20))  # 80 more bytes: still within
    assert "ana" in cache and len(cache._entries["ana"].last_prompt) == 20
    cache.remember_prompt("ana", range(40))  # 160 more: over the bound
    assert "ana" not in cache


def test_forget_and_clear_wipe_the_states() -> None:
    cache = PrefixCache()
    kept, other = entry(64), entry(64)
    cache.put("ana", kept)
    cache.put("ben", other)
    assert cache.forget("ana") == 1 and cache.forget("ana") == 0
    assert kept.state == bytearray(64) and "ben" in cache
    cache.clear()
    assert len(cache) == 0 and other.state == bytearray(64)


# -- which part of a prompt is kept (llama.cpp's context, simulated) ---------------


class FakeContext:
    def __init__(self, owner: FakeLlama) -> None:
        self.owner = owner

    def kv_cache_seq_rm(self, seq_id: int, p0: int, p1: int) -> bool:
        del self.owner.kv[p0:]
        return True

    def kv_cache_clear(self) -> None:
        self.owner.kv.clear()


class FakeLlama:
    """A context whose KV cache is the list of token ids it evaluated."""

    def __init__(self, n_ctx: int = 512) -> None:
        self.kv: list[int] = []
        self.input_ids = np.zeros(n_ctx, dtype=np.intc)
        self.n_tokens = 0
        self.evaluated = 0
        self._ctx = FakeContext(self)

    def eval(self, tokens: Sequence[int]) -> None:
        del self.kv[self.n_tokens :]
        self.kv.extend(tokens)
        self.input_ids[self.n_tokens : self.n_tokens + len(tokens)] = tokens
        self.n_tokens += len(tokens)
        self.evaluated += len(tokens)


def fake_save(llama: FakeLlama) -> bytearray:
    return bytearray(array("i", llama.kv).tobytes())


def fake_load(llama: FakeLlama, saved: PrefixEntry, keep: int) -> bool:
    llama.kv = list(array("i", bytes(saved.state)))[:keep]
    llama.input_ids[:keep] = saved.tokens[:keep]
    llama.n_tokens = keep
    return True


@pytest.fixture()
def fake_model(monkeypatch: pytest.MonkeyPatch) -> LoadedModel:
    monkeypatch.setattr(local, "save_sequence", fake_save)
    monkeypatch.setattr(local, "load_sequence", fake_load)
    key = ModelKey("fake.gguf", 512, None, "", False, "local")
    return LoadedModel(FakeLlama(), key)  # type: ignore[arg-type]


SYSTEM = list(range(1000, 1060))  # 60 tokens: system prompt and profile
PROFILE_B = list(range(2000, 2060))


def prompt(head: list[int], task: int, length: int = 10) -> list[int]:
    return [*head, *(task * 100 + i for i in range(length))]


def run(model: LoadedModel, ids: list[int], user: str) -> int:
    """One request: the prefix step, then the generation's own catch-up."""
    llama: Any = model.llama
    loaded = reuse_user_prefix(model, ids, user, max_bytes=1 << 20)
    shared = 0
    while shared < min(llama.n_tokens, len(ids)) and llama.input_ids[shared] == ids[shared]:
        shared += 1
    llama.n_tokens = min(shared, len(ids) - 1)
    llama.eval(ids[llama.n_tokens :])
    assert llama.kv == ids  # the context holds exactly the prompt, whatever was loaded
    return loaded


def test_first_request_keeps_all_then_the_next_one_learns_the_stable_part(
    fake_model: LoadedModel,
) -> None:
    cache = fake_model.prefix_cache
    first = prompt(SYSTEM, 1)
    assert run(fake_model, first, "ana") == 0
    assert list(cache.get("ana").tokens) == first[:-1]  # type: ignore[union-attr]
    run(fake_model, prompt(PROFILE_B, 7), "ben")  # another user in between
    second = prompt(SYSTEM, 2)
    assert run(fake_model, second, "ana") == len(SYSTEM)
    assert list(cache.get("ana").tokens) == SYSTEM  # type: ignore[union-attr]
    run(fake_model, prompt(PROFILE_B, 8), "ben")
    before = fake_model.llama.evaluated  # type: ignore[attr-defined]
    third = prompt(SYSTEM, 3)
    assert run(fake_model, third, "ana") == len(SYSTEM)
    assert fake_model.llama.evaluated - before == len(third) - len(SYSTEM)  # type: ignore[attr-defined]


def test_a_changed_context_replaces_the_state(fake_model: LoadedModel) -> None:
    cache = fake_model.prefix_cache
    run(fake_model, prompt(SYSTEM, 1), "ana")
    run(fake_model, prompt(SYSTEM, 2), "ana")
    assert list(cache.get("ana").tokens) == SYSTEM  # type: ignore[union-attr]
    changed = [*SYSTEM[:30], *range(5000, 5030)]  # the profile changed halfway
    run(fake_model, prompt(PROFILE_B, 9), "ben")
    assert run(fake_model, prompt(changed, 3), "ana") == 30  # what still matches
    assert list(cache.get("ana").tokens) == SYSTEM[:30]
    new = [*range(7000, 7060)]  # nothing in common: kept whole, learned again
    assert run(fake_model, prompt(new, 4), "ana") == 0
    assert list(cache.get("ana").tokens) == prompt(new, 4)[:-1]  # type: ignore[union-attr]


def test_no_state_is_loaded_when_the_context_already_holds_the_prefix(
    fake_model: LoadedModel,
) -> None:
    run(fake_model, prompt(SYSTEM, 1), "ana")
    run(fake_model, prompt(SYSTEM, 2), "ana")
    assert run(fake_model, prompt(SYSTEM, 3), "ana") == 0  # llama.cpp's own reuse suffices


def test_short_prompts_are_not_kept(fake_model: LoadedModel) -> None:
    assert run(fake_model, list(range(MIN_REUSED_TOKENS)), "ana") == 0
    assert "ana" not in fake_model.prefix_cache


# -- erasure ----------------------------------------------------------------------


@pytest.fixture()
def registered(fake_model: LoadedModel) -> Iterator[LoadedModel]:
    with loader._load_lock:
        loader._loaded[fake_model.key] = fake_model
    yield fake_model
    with loader._load_lock:
        loader._loaded.pop(fake_model.key, None)


def test_forget_user_states_wipes_the_users_state_and_the_live_context(
    registered: LoadedModel,
) -> None:
    run(registered, prompt(PROFILE_B, 1), "ben")
    run(registered, prompt(SYSTEM, 1), "ana")
    ana = registered.prefix_cache.get("ana")
    assert ana is not None
    assert forget_user_states("ana") == 1
    assert ana.state == bytearray(len(ana.state))
    assert "ben" in registered.prefix_cache and "ana" not in registered.prefix_cache
    llama: Any = registered.llama
    assert llama.n_tokens == 0 and not llama.kv and not llama.input_ids.any()


def test_erase_user_drops_the_states_even_of_a_user_unknown_on_disk(
    registered: LoadedModel, tmp_path: Path
) -> None:
    run(registered, prompt(SYSTEM, 1), "ana")
    with pytest.raises(UnknownUser):
        erase_user("ana", home=tmp_path)
    assert "ana" not in registered.prefix_cache


def test_forgetting_waits_for_a_generation_holding_the_model() -> None:
    key = ModelKey("fake.gguf", 512, None, "", False, "erasure-wait")
    model = LoadedModel(FakeLlama(), key)  # type: ignore[arg-type]
    model.prefix_cache.put("ana", entry(10))
    with loader._load_lock:
        loader._loaded[key] = model
    try:
        done = threading.Event()
        with model.lock:
            worker = threading.Thread(target=lambda: (forget_user_states("ana"), done.set()))
            worker.start()
            assert not done.wait(0.2)  # erasure waits: no state is wiped while in use
            assert "ana" in model.prefix_cache
        worker.join(5)
        assert done.is_set() and "ana" not in model.prefix_cache
    finally:
        with loader._load_lock:
            loader._loaded.pop(key, None)
