"""The private store against real Chroma and the real local embedding model."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from langchain_core.documents import Document

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.errors import NotAChromaStore, UnknownUser
from langchain_cogenesis.retrievers import (
    LocalEmbeddings,
    PrivateContextRetriever,
    PrivateStore,
)

pytestmark = pytest.mark.integration


def test_local_embeddings_are_real_and_normalized() -> None:
    embeddings = LocalEmbeddings()
    garden, compost, rocket = embeddings.embed_documents(
        ["community vegetable garden", "compost for tomato beds", "rocket engine thrust"]
    )
    assert len(garden) == 384
    assert abs(sum(v * v for v in garden) - 1.0) < 1e-4
    similarity = lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
    assert similarity(garden, compost) > similarity(garden, rocket)


def test_one_users_query_never_returns_another_users_documents(
    store: PrivateStore, demo_users: list[DatasetUser]
) -> None:
    for user in demo_users:
        store.add_user_context(user.context)
    # a near-duplicate planted in a second user's store must stay there
    store.add_documents("intruder", [Document("Maya's bitter leaf grows on the Lagos balcony.")])
    queries = [
        "garden festival speech",
        "robotics championship in Dayton",
        "freelance contract Brightwater invoices",
        "bitter leaf Lagos balcony",
    ]
    for user in [*demo_users]:
        user_id = user.context.user_id
        own_texts = set()
        for query in queries:
            results = store.search(user_id, query, k=50)
            assert results
            assert {d.metadata["user_id"] for d in results} == {user_id}
            own_texts |= {d.page_content for d in results}
        others = {
            detail
            for other in demo_users
            if other is not user
            for detail in other.context.private_details
        }
        assert not own_texts & others
        assert "Maya's bitter leaf grows on the Lagos balcony." not in own_texts
    assert store.list_users() == sorted([*(u.context.user_id for u in demo_users), "intruder"])


def test_search_ranks_by_meaning(store: PrivateStore, demo_users: list[DatasetUser]) -> None:
    store.add_user_context(demo_users[1].context)
    [best] = store.search("daniel-reyes", "knee operation recovery", k=1)
    assert "knee surgery" in best.page_content
    with pytest.raises(ValueError, match="k must be an integer of at least 1"):
        store.search("daniel-reyes", "x", k=0)


def test_reingest_is_idempotent_and_long_documents_are_chunked(store: PrivateStore) -> None:
    long_text = " ".join(f"Sentence {i} about the garden plan." for i in range(300))
    first = store.add_documents("ana", [Document(long_text, metadata={"source": "plan.md"})])
    assert first > 5
    assert (
        store.add_documents("ana", [Document(long_text, metadata={"source": "plan.md"})]) == first
    )
    assert store.count("ana") == first
    assert all(len(d.page_content) <= 600 for d in store.search("ana", "garden", k=first))


def test_delete_user_removes_everything_also_after_reopening(
    tmp_path: Path, demo_users: list[DatasetUser]
) -> None:
    path = tmp_path / "store"
    store = PrivateStore(path)
    store.add_user_context(demo_users[0].context)
    store.add_user_context(demo_users[1].context)
    store.delete_user("maya-okafor")
    assert not store.has_user("maya-okafor")
    reopened = PrivateStore(path)
    assert reopened.list_users() == ["daniel-reyes"]
    with pytest.raises(UnknownUser, match="maya-okafor"):
        reopened.search("maya-okafor", "garden")
    with pytest.raises(UnknownUser):
        reopened.delete_user("maya-okafor")
    assert reopened.count("daniel-reyes") > 0
    # no row of the deleted user survives in Chroma's own database
    with sqlite3.connect(path / "chroma.sqlite3") as db:
        rows = db.execute(
            "SELECT COUNT(*) FROM embedding_metadata WHERE string_value = 'maya-okafor'"
        ).fetchone()
    assert rows == (0,)


def test_paths_that_are_not_a_chroma_store(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("keep me", encoding="utf-8")
    with pytest.raises(NotAChromaStore, match="is a file"):
        PrivateStore(a_file)
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "thesis.docx").write_bytes(b"precious")
    with pytest.raises(NotAChromaStore, match="no Chroma store"):
        PrivateStore(folder)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "chroma.sqlite3").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(NotAChromaStore, match="not a readable Chroma database"):
        PrivateStore(broken)
    # nothing was touched
    assert a_file.read_text(encoding="utf-8") == "keep me"
    assert (folder / "thesis.docx").read_bytes() == b"precious"
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.docx"]
    assert (broken / "chroma.sqlite3").read_bytes() == b"this is not sqlite" * 100


def test_retriever_is_a_langchain_retriever(
    store: PrivateStore, demo_users: list[DatasetUser]
) -> None:
    store.add_user_context(demo_users[2].context)
    retriever = PrivateContextRetriever(store=store, user_id="lena-fischer", k=2)
    documents = retriever.invoke("overdue invoices from a client")
    assert len(documents) == 2
    assert any("Brightwater" in d.page_content for d in documents)
    unbound = PrivateContextRetriever(store=store)
    assert unbound.invoke("wedding", user_id="lena-fischer")
    with pytest.raises(ValueError, match="needs a user_id"):
        unbound.invoke("wedding")
    with pytest.raises(UnknownUser):
        unbound.invoke("wedding", user_id="nobody")
