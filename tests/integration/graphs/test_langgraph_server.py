"""``langgraph dev`` (langgraph-cli, in-memory runtime) serves the graphs of langgraph.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from langchain_cogenesis.graphs.tokens import TokenFile, new_key
from langchain_cogenesis.models.standin import StandInCloud, free_port
from tests.langgraph_dev import call_server, langgraph_dev

pytestmark = pytest.mark.integration


@pytest.fixture()
def server(tmp_path: Path, standin: StandInCloud, model_path: Path) -> Iterator[tuple[str, str]]:
    home = tmp_path / "home"
    token = TokenFile(home / "tokens.json").issue("maya-okafor")
    env = {
        **os.environ,
        "COGENESIS_HOME": str(home),
        "COGENESIS_CLOUD_BASE_URL": standin.base_url,
        "COGENESIS_CLOUD_MODEL": standin.model,
        "COGENESIS_LOCAL_MODEL": str(model_path),
        "HF_HUB_OFFLINE": "1",
        "COGENESIS_CHECKPOINT_KEY": new_key(),
    }
    ingest = (
        "from langchain_cogenesis.data import load_demo_users\n"
        "from langchain_cogenesis.retrievers import PrivateStore\n"
        "PrivateStore().add_user_context(load_demo_users()[0].context)\n"
    )
    subprocess.run([sys.executable, "-c", ingest], env=env, check=True, timeout=300)
    with langgraph_dev(env, free_port(), tmp_path / "server") as url:
        yield url, token


def test_langgraph_dev_serves_the_graphs_and_runs_one_over_http(server: tuple[str, str]) -> None:
    url, token = server
    graphs = {a["graph_id"] for a in call_server(f"{url}/assistants/search", {}, token=token)}
    assert {"cogenesis_sketch", "cogenesis_fusion", "cogenesis_router"} <= graphs
    state = call_server(
        f"{url}/runs/wait",
        {
            "assistant_id": "cogenesis_sketch",
            "input": {
                "user_id": "maya-okafor",
                "public_instruction": "Write a welcome speech for a harvest festival",
                "private_instruction": "Thank Mr. Halvorsen for the raised beds",
                "mode": "sketch",
            },
        },
        token=token,
    )
    assert "answer" in state, state
    assert state["answer"].strip()
    assert state["sketch"].strip()
    sent = json.dumps(state["cloud_payloads"])
    assert "harvest festival" in sent and "Halvorsen" not in sent
