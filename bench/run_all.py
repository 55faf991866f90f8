"""Run the benchmarks in bench/ and write bench/results.json with machine info.

``python bench/run_all.py`` runs every benchmark and replaces the file;
``python bench/run_all.py privacy redaction`` runs those two and updates only their
entries, each of which keeps the time and machine of the run that produced it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent


def machine() -> dict[str, object]:
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "packages": {
            name: installed(name)
            for name in (
                "llama-cpp-python",
                "chromadb",
                "torch",
                "transformers",
                "peft",
                "langchain-core",
                "langgraph",
                "langchain-cogenesis",
            )
        },
    }


def main(names: list[str]) -> int:
    path = BENCH / "results.json"
    when = datetime.now(UTC).isoformat(timespec="seconds")
    run = {"when": when, "machine": machine()}
    results: dict[str, Any] = {**run, "benchmarks": {}}
    if names and path.exists():
        results = json.loads(path.read_text(encoding="utf-8"))
    scripts = [s for s in sorted(BENCH.glob("*.py")) if s.name != Path(__file__).name]
    if names:
        unknown = set(names) - {s.stem for s in scripts}
        if unknown:
            print(f"no such benchmark: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        scripts = [s for s in scripts if s.stem in names]
    failed = []
    for script in scripts:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            done = subprocess.run([sys.executable, str(script), "--json", out.name])
            if done.returncode != 0:
                failed.append(script.name)
                continue
            figures = json.loads(Path(out.name).read_text())
            results["benchmarks"][script.stem] = {**figures, "run": run}
    path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {BENCH / 'results.json'}")
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
