"""Steady resources under repeated calls: the soak benchmark, short, with asserted bounds.

``bench/soak.py`` runs in its own process (so its figures are its own, not the test
session's): 20 sketch calls through one ChatCoGenesis and 10 fused calls through one
ChatCoGenesisFusion against the real stand-in, store and local model taken from the
environment. After the first window of 5 calls (the warm-up: models load, caches
fill), the bounds are: open file descriptors and threads grow by at most 2, resident
memory by less than 40 MB, the guards and stores alive stay as many as after the
warm-up (reused, not rebuilt per call), and no checkpointed thread is kept.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FD_AND_THREAD_SLACK = 2
RSS_GROWTH_MB = 40.0


@pytest.fixture(scope="module")
def soak(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("soak") / "soak.json"
    done = subprocess.run(
        [
            sys.executable, "bench/soak.py", "--chat-calls", "15", "--fusion-calls", "10",
            "--every", "5", "--tokens", "4", "--model", str(model_path), "--json", str(out),
        ],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    figures: dict[str, Any] = json.loads(out.read_text())
    return figures


@pytest.mark.parametrize("part", ["chat", "fusion"])
def test_resources_stay_flat_after_warm_up(soak: dict[str, Any], part: str) -> None:
    windows = soak[part]["windows"]
    assert soak[part]["calls"] == (15 if part == "chat" else 10)
    assert len(windows) == (3 if part == "chat" else 2)
    warm, *later = windows
    for window in later:
        assert window["open_fds"] <= warm["open_fds"] + FD_AND_THREAD_SLACK, windows
        assert window["threads"] <= warm["threads"] + FD_AND_THREAD_SLACK, windows
        assert window["rss_mb"] - warm["rss_mb"] < RSS_GROWTH_MB, windows
    # one guard and one default store, reused by every call
    assert {w["live_guards"] for w in windows} == {1}
    assert {w["live_stores"] for w in windows} == {1}
    assert all(w["checkpointer_threads"] == 0 for w in windows)
    assert all(w["latency_mean_s"] > 0 for w in windows)


def test_the_soak_reports_slopes_per_thousand_calls(soak: dict[str, Any]) -> None:
    chat = soak["chat"]
    assert set(chat["slope_per_1000_calls"]) == {"rss_mb", "open_fds", "threads", "latency_mean_s"}
    # after the warm-up no descriptor leaks per call: one per call is a slope of 1,000;
    # a single descriptor opened once between two windows 5 calls apart reads as 200
    # (measured once: 29 -> 30 fds between calls 10 and 15)
    assert abs(chat["slope_per_1000_calls"]["open_fds"]) < 500
