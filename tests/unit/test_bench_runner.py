"""bench/run_all.py: entries per benchmark, NAME:LABEL entries, unknown names refused."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.bench_modules import load_bench

# a stand-in benchmark: writes its arguments as its figures
ECHO = """
import json, sys
args = sys.argv[1:]
out = args[args.index("--json") + 1]
rest = [a for i, a in enumerate(args) if a != "--json" and (i == 0 or args[i - 1] != "--json")]
json.dump({"benchmark": "echo", "args": rest}, open(out, "w"))
"""


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = load_bench("run_all")
    (tmp_path / "echo.py").write_text(ECHO, encoding="utf-8")
    (tmp_path / "broken.py").write_text("import sys; sys.exit(3)\n", encoding="utf-8")
    # shared code, not a benchmark: a run of every benchmark leaves it alone
    (tmp_path / "_common.py").write_text("import sys; sys.exit(4)\n", encoding="utf-8")
    monkeypatch.setattr(module, "BENCH", tmp_path)
    # one machine record, not a probe of this machine per test
    monkeypatch.setattr(module, "machine", lambda: {"cpu_count": 2})
    return module


def entries(folder: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    benchmarks: dict[str, Any] = found["benchmarks"]
    return benchmarks


def test_a_labelled_entry_sits_beside_the_plain_one(runner: ModuleType, tmp_path: Path) -> None:
    assert runner.main(["echo"]) == 0
    assert runner.main(["echo:paper", "--", "--dataset", "paper"]) == 0
    found = entries(tmp_path)
    assert found["echo"]["args"] == []
    assert found["echo:paper"]["args"] == ["--dataset", "paper"]
    assert found["echo:paper"]["run"]["machine"] == {"cpu_count": 2}
    # running the plain one again replaces it alone
    assert runner.main(["echo", "--", "--again"]) == 0
    found = entries(tmp_path)
    assert found["echo"]["args"] == ["--again"] and "echo:paper" in found


def test_unknown_and_failing_benchmarks(
    runner: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert runner.main(["nothing:paper"]) == 2
    assert "no such benchmark: nothing:paper" in capsys.readouterr().err
    assert runner.main(["echo", "broken:x"]) == 1
    assert "failed: broken:x" in capsys.readouterr().err
    assert set(entries(tmp_path)) == {"echo"}


def test_a_run_of_every_benchmark_replaces_the_file(runner: ModuleType, tmp_path: Path) -> None:
    assert runner.main(["echo:old"]) == 0
    (tmp_path / "broken.py").unlink()
    assert runner.main([]) == 0
    assert set(entries(tmp_path)) == {"echo"}
