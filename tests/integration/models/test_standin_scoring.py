"""The stand-in's log-probabilities (``models/standin_server.py``) are llama_cpp's.

The fast server and ``python -m llama_cpp.server`` as shipped serve the same GGUF;
a completion request with ``logprobs`` gets the same answer from both, next-token
and ``echo`` alike: tokens, text offsets, values, and top-k entries in llama_cpp's
order.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from langchain_cogenesis.models import StandInCloud
from langchain_cogenesis.models.standin_server import check_llama_cpp, top_k_ids

pytestmark = pytest.mark.integration

PROMPTS = (
    "<start_of_turn>user\nWrite a garden tip.<end_of_turn>\n<start_of_turn>model\nWater",
    "Café naïve — 東京 🌱 tomatoes",
)


def stock_order(row: np.ndarray, k: int) -> list[int]:
    """llama_cpp's own ranking of one row."""
    return [int(i) for _, i in sorted(zip(row, range(len(row)), strict=True), reverse=True)[:k]]


def test_top_k_matches_llama_cpps_sort_ties_included() -> None:
    rng = np.random.default_rng(7)
    rows = [rng.integers(-6, 0, size=size).astype(np.float32) for size in (1, 9, 300, 5000)]
    # a vocabulary-size row of few distinct values: ties at the k-th value across the
    # sample the bound is read from
    rows.append(np.repeat(np.float32([-1.0, -2.0, -3.0]), [3, 40_000, 222_101]))
    rows.append(rng.standard_normal(262_144).astype(np.float32))
    for row in rows:
        for k in (0, 1, 5, 10, 50):
            assert top_k_ids(row, k).tolist() == stock_order(row, k), (row.size, k)


def test_llama_cpp_still_has_what_the_fast_path_reads() -> None:
    check_llama_cpp()  # raises, naming what moved, after an incompatible upgrade


def test_standin_runs_our_server_unless_told_otherwise(tmp_path: Path) -> None:
    fast = StandInCloud(tmp_path / "m.gguf", chat_template="chatml", port=8125)
    stock = StandInCloud(
        tmp_path / "m.gguf", chat_template="chatml", port=8125, fast_logprobs=False
    )
    assert fast.command()[1:3] == ["-m", "langchain_cogenesis.models.standin_server"]
    assert stock.command()[1:3] == ["-m", "llama_cpp.server"]
    assert fast.command()[3:] == stock.command()[3:]  # the same arguments


@pytest.fixture(scope="module")
def servers(model_path: Path) -> Iterator[tuple[StandInCloud, StandInCloud]]:
    with (
        StandInCloud(model_path, n_ctx=256, logits_all=True) as fast,
        StandInCloud(model_path, n_ctx=256, logits_all=True, fast_logprobs=False) as stock,
    ):
        yield fast, stock


def complete(cloud: StandInCloud, prompt: str, **options: Any) -> dict[str, Any]:
    body = {"model": cloud.model, "prompt": prompt, "temperature": 0.0, **options}
    request = urllib.request.Request(
        f"{cloud.base_url}/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=300) as answer:
        return dict(json.loads(answer.read()))


def assert_same_logprobs(fast: dict[str, Any], stock: dict[str, Any]) -> None:
    assert fast["tokens"] == stock["tokens"]
    assert fast["text_offset"] == stock["text_offset"]
    assert [v is None for v in fast["token_logprobs"]] == [
        v is None for v in stock["token_logprobs"]
    ]
    for ours, theirs in zip(fast["token_logprobs"], stock["token_logprobs"], strict=True):
        assert ours == pytest.approx(theirs, abs=1e-5)
    for ours, theirs in zip(fast["top_logprobs"], stock["top_logprobs"], strict=True):
        if theirs is None:
            assert ours is None
            continue
        assert list(ours) == list(theirs)  # the same tokens, in the same order
        assert list(ours.values()) == pytest.approx(list(theirs.values()), abs=1e-5)


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize(
    "options",
    [
        {"max_tokens": 1, "logprobs": 10},  # next token, as per-token fusion asks
        {"max_tokens": 3, "logprobs": 5},
        {"max_tokens": 1, "logprobs": 10, "echo": True},  # every prompt token (drafting)
        {"max_tokens": 2, "logprobs": 3, "echo": True},
    ],
    ids=["next", "next-3", "echo", "echo-2"],
)
def test_fast_server_answers_as_stock_llama_cpp_server(
    servers: tuple[StandInCloud, StandInCloud], prompt: str, options: dict[str, Any]
) -> None:
    fast, stock = servers
    ours, theirs = complete(fast, prompt, **options), complete(stock, prompt, **options)
    assert ours["choices"][0]["text"] == theirs["choices"][0]["text"]
    assert ours["usage"] == theirs["usage"]
    ours_logprobs, theirs_logprobs = (
        ours["choices"][0]["logprobs"],
        theirs["choices"][0]["logprobs"],
    )
    assert_same_logprobs(ours_logprobs, theirs_logprobs)
    # every completion token scored, and with echo every prompt token but BOS
    usage = theirs["usage"]
    prompt_scored = usage["prompt_tokens"] - 1 if options.get("echo") else 0
    assert len(ours_logprobs["tokens"]) == prompt_scored + usage["completion_tokens"]


def test_fast_server_says_so_in_its_log(servers: tuple[StandInCloud, StandInCloud]) -> None:
    fast, stock = servers
    assert "partial selection" in fast.log_path.read_text(encoding="utf-8")
    assert "partial selection" not in stock.log_path.read_text(encoding="utf-8")


def test_requests_without_logprobs_are_untouched(
    servers: tuple[StandInCloud, StandInCloud],
) -> None:
    ours, theirs = (complete(cloud, PROMPTS[0], max_tokens=4) for cloud in servers)
    assert ours["choices"][0]["text"] == theirs["choices"][0]["text"]
    assert ours["choices"][0]["logprobs"] is None is theirs["choices"][0]["logprobs"]
    assert ours["usage"] == theirs["usage"]
