"""``langgraph dev`` (langgraph-cli, in-memory runtime) serves the graphs of langgraph.json."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from langchain_cogenesis.models.standin import StandInCloud, free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def call(url: str, body: dict[str, Any] | None = None, timeout: float = 300) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"},
        method="POST" if data is not None else "GET",
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read())


@pytest.fixture()
def server(tmp_path: Path, standin: StandInCloud, model_path: Path) -> Iterator[str]:
    home = tmp_path / "home"
    env = {
        **os.environ,
        "COGENESIS_HOME": str(home),
        "COGENESIS_CLOUD_BASE_URL": standin.base_url,
        "COGENESIS_CLOUD_MODEL": standin.model,
        "COGENESIS_LOCAL_MODEL": str(model_path),
        "HF_HUB_OFFLINE": "1",
    }
    ingest = (
        "from langchain_cogenesis.data import load_demo_users\n"
        "from langchain_cogenesis.retrievers import PrivateStore\n"
        "PrivateStore().add_user_context(load_demo_users()[0].context)\n"
    )
    subprocess.run([sys.executable, "-c", ingest], env=env, check=True, timeout=300)
    port = free_port()
    cli = shutil.which("langgraph", path=str(Path(sys.executable).parent))
    assert cli, "langgraph-cli is a test dependency"
    process = subprocess.Popen(
        [cli, "dev", "--host", "127.0.0.1", "--port", str(port), "--no-browser", "--no-reload"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if call(f"{url}/ok", timeout=2).get("ok"):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("langgraph dev did not start: " + process.stderr.read().decode()[-2000:])  # type: ignore[union-attr]
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_langgraph_dev_serves_the_graphs_and_runs_one_over_http(server: str) -> None:
    graphs = {a["graph_id"] for a in call(f"{server}/assistants/search", {})}
    assert {"cogenesis_sketch", "cogenesis_fusion", "cogenesis_router"} <= graphs
    state = call(
        f"{server}/runs/wait",
        {
            "assistant_id": "cogenesis_sketch",
            "input": {
                "user_id": "maya-okafor",
                "public_instruction": "Write a welcome speech for a harvest festival",
                "private_instruction": "Thank Mr. Halvorsen for the raised beds",
                "mode": "sketch",
            },
        },
    )
    assert "answer" in state, state
    assert state["answer"].strip()
    assert state["sketch"].strip()
    sent = json.dumps(state["cloud_payloads"])
    assert "harvest festival" in sent and "Halvorsen" not in sent
