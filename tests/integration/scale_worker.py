"""A worker process of a scaled-out deployment, for the scale-out tests.

    python -m tests.integration.scale_worker POSTGRES_URI CHROMA_URL CLOUD_URL NAME

It builds the sketch graph on the shared PostgreSQL checkpointer, the private
store on the shared Chroma server and a guard to the cloud, prints ``{"ready": NAME}``,
then takes one JSON request a line on stdin, as a load balancer would hand them out:

    {"run": THREAD, "user": USER, "instruction": TEXT, "hang": false}
    {"resume": THREAD}
    {"ingest": USER, "start": START, "count": COUNT}

and answers with JSON lines: ``{"done": STEP}`` per finished step, ``{"writing":
THREAD}`` when the local model starts, then ``{"result": THREAD, ...}``. With
``"hang": true`` the local model never finishes: the test kills the worker there.

The local model is a fake that writes at once and the guard finds entities by rules
alone, without the spaCy model (what is tested is where a run's state lives, not the
writing or the recognizer); the cloud is a real HTTP server that counts requests.
``ingest`` stores notes ``START`` to ``START + COUNT - 1`` for ``USER`` in small batches,
so concurrent writers interleave, and answers ``{"stored": N}``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from langchain_cogenesis.graphs import (
    Components,
    build_sketch_graph,
    private_run,
    result_from_state,
    resume_sketch_graph,
)
from langchain_cogenesis.graphs.checkpointers import postgres_checkpointer
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.privacy.detection.entities import EntityDetector
from langchain_cogenesis.retrievers import PrivateStore
from langchain_cogenesis.schema import WritingResult
from tests.integration.store_worker import HashEmbeddings


def say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


class EchoWriter(BaseChatModel):
    """Writes at once: the worker's name and the last prompt it was given (which holds
    the retrieved private context and the cloud's sketch)."""

    worker: str

    @property
    def _llm_type(self) -> str:
        return "echo-writer"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        answer = f"written by {self.worker}: {messages[-1].text}"
        return ChatResult(generations=[ChatGeneration(message=AIMessage(answer))])


class NeverFinishes(BaseChatModel):
    """Says the local model started, then hangs until the worker is killed."""

    thread_id: str

    @property
    def _llm_type(self) -> str:
        return "never-finishes"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        say({"writing": self.thread_id})
        time.sleep(600)
        raise TimeoutError("the worker was not killed")


def result_message(thread_id: str, result: WritingResult, worker: str) -> dict[str, Any]:
    return {
        "result": thread_id,
        "worker": worker,
        "pid": os.getpid(),
        "answer": result.answer,
        "sketch": result.sketch.text if result.sketch else "",
        "cloud_payloads": len(result.cloud_payloads),
    }


def serve(postgres_uri: str, chroma_url: str, cloud_url: str, name: str) -> None:
    rules_only = EntityDetector.rules_only()  # the entity rules without the spaCy model
    graph = build_sketch_graph(checkpointer=postgres_checkpointer(postgres_uri, audit_log=None))
    store = PrivateStore(chroma_url=chroma_url, embeddings=HashEmbeddings(), audit_log=None)
    guard = EgressGuard(base_url=cloud_url, model="fake", max_retries=0)

    def parts(local_model: BaseChatModel) -> Components:
        return Components(
            store=store,
            local_model=local_model,
            egress_guard=guard,
            k=2,
            entity_detector=rules_only,
        )

    say({"ready": name, "pid": os.getpid()})
    for line in sys.stdin:
        request = json.loads(line)
        if "ingest" in request:
            say({"stored": ingest(store, request["ingest"], request["start"], request["count"])})
            continue
        if "resume" in request:
            thread_id = request["resume"]
            result = resume_sketch_graph(parts(EchoWriter(worker=name)), thread_id, graph=graph)
            say({**result_message(thread_id, result, name), "resumed": True})
            continue
        thread_id = request["run"]
        writer = NeverFinishes(thread_id=thread_id) if request.get("hang") else None
        components = parts(writer or EchoWriter(worker=name))
        config: Any = {"configurable": {"thread_id": thread_id}}
        payload: Any = {"user_id": request["user"], "public_instruction": request["instruction"]}
        with private_run(components):
            for update in graph.stream(
                payload, config, context=components, stream_mode="updates", durability="sync"
            ):
                say({"done": ",".join(update)})
        state = graph.get_state(config).values
        say(result_message(thread_id, result_from_state(state), name))


def ingest(store: PrivateStore, user: str, start: int, count: int) -> int:
    stored = 0
    for batch in range(start, start + count, 10):
        notes = [
            Document(note(user, n), metadata={"source": f"note-{n}"})
            for n in range(batch, min(batch + 10, start + count))
        ]
        stored += store.add_documents(user, notes)
    return stored


def note(user: str, number: int) -> str:
    return f"{user} note {number}: bed {number % 17} needs compost on day {number}"


if __name__ == "__main__":
    serve(*sys.argv[1:5])
