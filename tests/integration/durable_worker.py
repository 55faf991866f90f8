"""A run of the sketch graph in its own process, for the kill -9 test.

    python -m tests.integration.durable_worker STORE CHECKPOINTS CLOUD_URL THREAD_ID

It prints each finished step and ``writing`` when the local model starts, then the
local model never finishes: the test kills the process while it writes.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from langchain_cogenesis.graphs import Components, build_sketch_graph
from langchain_cogenesis.graphs.checkpointers import sqlite_checkpointer
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.retrievers import PrivateStore


class NeverFinishes(BaseChatModel):
    """A local model that signals it started and then hangs until killed."""

    @property
    def _llm_type(self) -> str:
        return "never-finishes"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        print("writing", flush=True)
        time.sleep(600)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(""))])


def main() -> None:
    store_path, checkpoints, cloud_url, thread_id = sys.argv[1:5]
    graph = build_sketch_graph(checkpointer=sqlite_checkpointer(checkpoints))
    components = Components(
        store=PrivateStore(store_path),
        local_model=NeverFinishes(),
        egress_guard=EgressGuard(base_url=cloud_url, model="fake", max_retries=0),
    )
    request: Any = {
        "user_id": "maya-okafor",
        "public_instruction": "Write a short welcome for the garden's open day",
        "mode": "sketch",
    }
    config: Any = {"configurable": {"thread_id": thread_id}}
    for update in graph.stream(
        request, config, context=components, stream_mode="updates", durability="sync"
    ):
        print("done " + ",".join(update), flush=True)


if __name__ == "__main__":
    main()
