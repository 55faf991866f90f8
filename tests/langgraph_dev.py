"""``langgraph dev`` (langgraph-cli's in-memory runtime) serving this repository's graphs.

The server runs in a scratch folder with a copy of ``langgraph.json`` whose paths point
back at the repository, so its state (``.langgraph_api``) stays out of the working tree
and two servers started by parallel test workers do not share it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def call_server(
    url: str, body: dict[str, Any] | None = None, timeout: float = 300, token: str | None = None
) -> Any:
    """GET ``url`` (or POST ``body`` as JSON) and decode the JSON answer."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url,
        data=data,
        headers=headers,
        method="POST" if data is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read())


def scratch_config(folder: Path) -> Path:
    """``langgraph.json`` for ``folder``, every path made absolute into the repository."""
    config = json.loads((REPO / "langgraph.json").read_text(encoding="utf-8"))
    config["dependencies"] = [str(REPO / entry) for entry in config["dependencies"]]
    config["graphs"] = {name: str(REPO / spec) for name, spec in config["graphs"].items()}
    for section in ("auth", "checkpointer"):  # a file path, or a module of the package
        if section in config and config[section]["path"].startswith("."):
            config[section]["path"] = str(REPO / config[section]["path"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "langgraph.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


@contextmanager
def langgraph_dev(env: Mapping[str, str], port: int, folder: Path) -> Iterator[str]:
    """Serve the graphs on 127.0.0.1:``port`` until the block ends; yields the base URL."""
    cli = shutil.which("langgraph", path=str(Path(sys.executable).parent))
    assert cli, "langgraph-cli is a test dependency"
    config = scratch_config(folder)
    process = subprocess.Popen(
        [cli, "dev", "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
         "--no-browser", "--no-reload"],
        cwd=folder,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if call_server(f"{url}/ok", timeout=2).get("ok"):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    assert process.stderr is not None
                    raise AssertionError(
                        "langgraph dev did not start: " + process.stderr.read().decode()[-2000:]
                    ) from None
                time.sleep(0.5)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
