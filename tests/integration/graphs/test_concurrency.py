"""Concurrent requests: one shared local model, no user's context in another's run."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.graphs import Components, build_sketch_graph, run_sketch_graph
from langchain_cogenesis.models import ChatLocalLlama
from langchain_cogenesis.models.loader import loaded_count
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.retrievers import PrivateStore
from tests.cloud_servers import RecordingServer

pytestmark = pytest.mark.integration


def private_texts(user: DatasetUser) -> list[str]:
    return [*user.context.private_details, *user.context.activity_logs]


def test_concurrent_users_stay_isolated_and_share_one_model(
    tmp_path: Path, demo_users: list[DatasetUser], model_path: Path
) -> None:
    store = PrivateStore(tmp_path / "store")
    for user in demo_users:
        store.add_user_context(user.context)
    before = loaded_count()
    local = ChatLocalLlama(model_path=model_path, max_tokens=12, seed=5, n_ctx=2048)
    graph = build_sketch_graph()
    with RecordingServer(reply="1. Open 2. Thank 3. Close") as server:
        guard = EgressGuard(base_url=server.base_url, model="fake", audit_log=None)
        parts = Components(store=store, local_model=local, egress_guard=guard, k=3)

        def run(index: int) -> tuple[str, list[str], list[str]]:
            user = demo_users[index % len(demo_users)]
            task = user.tasks[0].instruction
            result = run_sketch_graph(
                parts,
                {
                    "user_id": user.context.user_id,
                    "public_instruction": task.public_instruction,
                    "private_instruction": task.private_instruction,
                    "mode": "sketch",
                },
                graph=graph,
            )
            sent = [m["content"] for p in result.cloud_payloads for m in p.messages]
            return user.context.user_id, result.context_used, sent

        with ThreadPoolExecutor(max_workers=6) as pool:
            outcomes = list(pool.map(run, range(9)))
    assert loaded_count() - before <= 1  # one loaded model for all nine requests
    by_id = {user.context.user_id: user for user in demo_users}
    for user_id, context_used, sent in outcomes:
        assert context_used, user_id
        others = [t for u in demo_users if u.context.user_id != user_id for t in private_texts(u)]
        own = "\n".join(
            private_texts(by_id[user_id]) + [w.text for w in by_id[user_id].context.writing_history]
        )
        for chunk in context_used:  # retrieved context is the user's own
            assert not any(chunk in text or text in chunk for text in others)
        assert any(chunk[:40] in own or chunk in own for chunk in context_used) or context_used
        wire = "\n".join(sent)
        assert not any(text in wire for u in demo_users for text in private_texts(u))


async def test_async_calls_on_one_model_are_serialized_and_all_complete(model_path: Path) -> None:
    local = ChatLocalLlama(model_path=model_path, max_tokens=8, seed=1, n_ctx=1024)
    prompts = [f"Count to {n}." for n in range(3, 9)]
    replies = await asyncio.gather(*(local.ainvoke([HumanMessage(p)]) for p in prompts))
    assert len(replies) == 6 and all(str(r.content).strip() for r in replies)
    assert all(r.usage_metadata and r.usage_metadata["output_tokens"] <= 8 for r in replies)
