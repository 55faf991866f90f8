"""Run ``cogenesis`` inside the test process.

A child process pays for importing LangChain, Chroma, torch and spaCy and for loading
the model on every command (10-30 s each on two cores). Most CLI tests are about what a
command does, not about process start-up, so they call ``main(argv)`` here with the
environment the command would see; the tests that are about the process itself (the
demo, ``serve-cloud`` and its signals, the egress of a child process) still start one.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path


@contextlib.contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for ``None``, remove) environment variables for the block."""
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_in_process(*args: str, env: Mapping[str, str | None]) -> subprocess.CompletedProcess[str]:
    """``cogenesis ARGS`` through ``main``; stdout, stderr and the exit status as a child's."""
    from langchain_cogenesis.cli import main

    out, err = io.StringIO(), io.StringIO()
    # a child process with no logging configured prints warnings to stderr (logging's
    # last resort); here pytest's handlers would swallow them, so they are copied
    package_logger = logging.getLogger("langchain_cogenesis")
    last_resort = logging.StreamHandler(err)
    last_resort.setLevel(logging.WARNING)
    package_logger.addHandler(last_resort)
    with environment(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(args))
        except SystemExit as exit_:  # argparse errors exit like the command does
            status = exit_.code if isinstance(exit_.code, int) else 2
        finally:
            package_logger.removeHandler(last_resort)
    return subprocess.CompletedProcess(["cogenesis", *args], status, out.getvalue(), err.getvalue())


def cli_environment(
    home: Path, *, cloud: str | None = None, model: Path | None = None
) -> dict[str, str | None]:
    """What the tests' ``cogenesis`` helpers put in a command's environment."""
    env: dict[str, str | None] = {
        "COGENESIS_HOME": str(home),
        "HF_HUB_OFFLINE": "1",
        "COGENESIS_CLOUD_BASE_URL": cloud,
        "COGENESIS_CLOUD_MODEL": "cogenesis-standin" if cloud else None,
    }
    if model:
        env["COGENESIS_LOCAL_MODEL"] = str(model)
    return env
