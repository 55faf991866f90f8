"""Run every benchmark in bench/ and write bench/results.json with machine info."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

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


def main() -> int:
    results: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "benchmarks": {},
    }
    failed = []
    for script in sorted(BENCH.glob("*.py")):
        if script.name == Path(__file__).name:
            continue
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            done = subprocess.run([sys.executable, str(script), "--json", out.name])
            if done.returncode != 0:
                failed.append(script.name)
                continue
            results["benchmarks"][script.stem] = json.loads(Path(out.name).read_text())  # type: ignore[index]
    (BENCH / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {BENCH / 'results.json'}")
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
