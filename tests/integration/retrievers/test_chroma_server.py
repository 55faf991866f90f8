"""The private store through HttpClient against a real `chroma run` on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.errors import StoreError, UnknownUser
from langchain_cogenesis.models.standin import free_port
from langchain_cogenesis.retrievers import PrivateStore
from langchain_cogenesis.retrievers.server import chroma_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with chroma_server(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


def test_store_over_http_client(chroma_url: str, demo_users: list[DatasetUser]) -> None:
    store = PrivateStore(chroma_url=chroma_url)
    assert store.location == chroma_url
    for user in demo_users[:2]:
        store.add_user_context(user.context)
    results = store.search("maya-okafor", "gluten-free bread", k=3)
    assert results and {d.metadata["user_id"] for d in results} == {"maya-okafor"}
    assert any("celiac" in d.page_content for d in results)
    # a second client (another process would do the same) sees the same data
    assert PrivateStore(chroma_url=chroma_url).list_users() == ["daniel-reyes", "maya-okafor"]
    store.delete_user("daniel-reyes")
    with pytest.raises(UnknownUser):
        PrivateStore(chroma_url=chroma_url).search("daniel-reyes", "robot")


def test_environment_variable_selects_the_server(
    chroma_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COGENESIS_CHROMA_URL", chroma_url)
    assert PrivateStore().location == chroma_url


def test_unreachable_server_is_a_typed_error() -> None:
    with pytest.raises(StoreError, match="Could not open the private store"):
        PrivateStore(chroma_url=f"http://127.0.0.1:{free_port()}")


def test_several_processes_write_through_the_server(chroma_url: str) -> None:
    """Multi-process use goes through `chroma run`: writers in four processes at once."""
    from tests.integration.store_worker import HashEmbeddings, note

    root = Path(__file__).resolve().parents[3]
    command = [sys.executable, "-m", "tests.integration.store_worker", "ingest", chroma_url]
    workers = [
        subprocess.Popen(
            [*command, f"proc-{n}", "150"], cwd=root, stdout=subprocess.PIPE, text=True
        )
        for n in range(4)
    ]
    outputs = [process.communicate(timeout=300)[0] for process in workers]
    assert [process.returncode for process in workers] == [0] * 4, outputs
    store = PrivateStore(chroma_url=chroma_url, embeddings=HashEmbeddings())
    assert {f"proc-{n}" for n in range(4)} <= set(store.list_users())
    for n in range(4):
        assert store.count(f"proc-{n}") == 150
        [hit] = store.search(f"proc-{n}", note(f"proc-{n}", 99), k=1)
        assert hit.page_content == note(f"proc-{n}", 99)
