"""Tracing with LangSmith switched on: every entry point ships a useful trace, never
a private string.

A recording LangSmith-compatible endpoint on loopback takes what the LangSmith client
sends (``/runs/multipart`` or ``/runs/batch``). Each test runs an entry point for a
canary user (a private instruction, stored notes with a canary, a street address, a
health fact and a name), then checks both halves of the promise: the recorder got
the runs (names, nesting, the public sketch payload, egress decisions) and none of
the private strings is anywhere in the recorded bytes. Controls (raw tracing allowed,
or a model called without the scrubber) show the recorder does see such a leak.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableLambda

from langchain_cogenesis.errors import PrivacyViolation
from langchain_cogenesis.fusion import ChatCoGenesisFusion
from langchain_cogenesis.graphs import (
    ChatCoGenesis,
    Components,
    build_fusion_graph,
    build_router_graph,
    build_sketch_graph,
    cogenesis_tool,
    run_sketch_graph,
)
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.privacy.tracing.private import allow_raw_tracing
from langchain_cogenesis.privacy.tracing.privately_traced import (
    PrivatelyTracedGraph,
    with_private_tracing,
)
from langchain_cogenesis.retrievers import PrivateContextRetriever
from tests.cloud_servers import RecordingServer
from tests.fusion_fakes import ScriptScorer, echo_script
from tests.leak_harness import MemoryStore

USER = "user-7"
CANARY = "ZEPHYR-QUILL-4471"
NAME = "Odalys Pemberton"
ADDRESS = "42 Wrenfield Lane"
HEALTH = "type 1 diabetes"
PRIVATE_INSTRUCTION = f"{NAME} from {ADDRESS} thanks the volunteers"
NOTES = [
    f"Reference {CANARY}: {NAME} lives at {ADDRESS}.",
    f"{NAME} has managed {HEALTH} since 2019.",
]
PUBLIC = "Write a short welcome speech for a harvest festival"
ANSWER = f"Welcome, friends! {NAME} of {ADDRESS} thanks you all."
SECRETS = [CANARY, NAME, "Pemberton", ADDRESS, "Wrenfield", HEALTH, "diabetes"]
SKETCH = "1. Welcome everyone\n2. Thank the volunteers"
REQUEST: dict[str, Any] = {
    "user_id": USER,
    "public_instruction": PUBLIC,
    "private_instruction": PRIVATE_INSTRUCTION,
}


# --- a recording LangSmith endpoint -------------------------------------------------


class TraceRecorder(ThreadingHTTPServer):
    """Takes every request a LangSmith client makes; ``/info`` is unknown (defaults)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _TraceHandler)
        self.bodies: list[tuple[str, str, bytes]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def all_bytes(self) -> bytes:
        return b"\n".join(body for _, _, body in self.bodies)

    def runs(self) -> dict[str, dict[str, Any]]:
        """Run id -> its fields, posts and patches merged, from every batch."""
        runs: dict[str, dict[str, Any]] = {}
        for path, content_type, body in self.bodies:
            if path.endswith("/runs/multipart"):
                boundary = content_type.split("boundary=", 1)[1].encode()
                for part in body.split(b"--" + boundary):
                    head, _, data = part.partition(b"\r\n\r\n")
                    name = re.search(rb'name="(post|patch)\.([^".]+)(?:\.(\w+))?"', head)
                    if name is None:
                        continue
                    value = json.loads(data.strip().decode())
                    run = runs.setdefault(name.group(2).decode(), {})
                    if name.group(3):
                        run[name.group(3).decode()] = value
                    else:
                        run.update(value)
            elif path.endswith("/runs/batch"):
                batch = json.loads(body)
                for run in [*batch.get("post", []), *batch.get("patch", [])]:
                    runs.setdefault(str(run["id"]), {}).update(run)
        return runs

    def __enter__(self) -> TraceRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _TraceHandler(BaseHTTPRequestHandler):
    server: TraceRecorder

    def log_message(self, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding") == "chunked":
            data = b""
            while size := int(self.rfile.readline().strip(), 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return data
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_GET(self) -> None:
        self.send_response(404)
        self.end_headers()

    def do_POST(self) -> None:
        body = self._body()
        if self.headers.get("Content-Encoding"):
            raise AssertionError("compressed traces cannot be checked")
        self.server.bodies.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    do_PATCH = do_POST


def _forget_langsmith_settings() -> None:
    """LangSmith caches its environment and client; a test's endpoint needs fresh ones."""
    import langsmith.client
    import langsmith.run_trees
    import langsmith.utils

    for module in (langsmith.utils, langsmith.run_trees, langsmith.client):
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
    langsmith.run_trees._CLIENT = None


@pytest.fixture()
def tracing(monkeypatch: pytest.MonkeyPatch) -> Iterator[TraceRecorder]:
    with TraceRecorder() as recorder:
        monkeypatch.setenv("LANGSMITH_TRACING", "true")
        monkeypatch.setenv("LANGSMITH_ENDPOINT", recorder.url)
        monkeypatch.setenv("LANGSMITH_API_KEY", "test-key")
        monkeypatch.setenv("LANGSMITH_PROJECT", "tracing-privacy")
        _forget_langsmith_settings()
        yield recorder
        shipped(recorder)
    monkeypatch.undo()
    _forget_langsmith_settings()


def shipped(recorder: TraceRecorder) -> bytes:
    """Everything the tracer sent, once the client has flushed."""
    from langchain_core.tracers.langchain import wait_for_all_tracers

    wait_for_all_tracers()
    time.sleep(0.2)
    return recorder.all_bytes()


def assert_nothing_private(recorder: TraceRecorder) -> bytes:
    recorded = shipped(recorder)
    assert recorded, "the tracer received nothing: tracing must stay useful"
    leaked = [secret for secret in SECRETS if secret.encode() in recorded]
    assert not leaked, f"private strings reached the tracer: {leaked}"
    return recorded


def run_names(recorder: TraceRecorder) -> set[str]:
    return {run.get("name", "") for run in recorder.runs().values()}


# --- components ---------------------------------------------------------------------


def store() -> MemoryStore:
    return MemoryStore({USER: [Document(text, metadata={"kind": "note"}) for text in NOTES]})


def components(cloud: RecordingServer | None, **kwargs: Any) -> Components:
    guard = EgressGuard(base_url=cloud.base_url, model="fake", max_retries=0) if cloud else None
    local = GenericFakeChatModel(messages=iter([AIMessage(ANSWER)] * 5))
    return Components(store=store(), local_model=local, egress_guard=guard, **kwargs)  # type: ignore[arg-type]


def chat_model(cloud: RecordingServer, **kwargs: Any) -> ChatCoGenesis:
    parts = components(cloud)
    return ChatCoGenesis(
        store=parts.store,
        local_model=parts.local_model,
        egress_guard=parts.egress_guard,
        user_id=USER,
        **kwargs,
    )


def messages() -> list[HumanMessage]:
    return [
        HumanMessage(PUBLIC),
        HumanMessage(PRIVATE_INSTRUCTION, additional_kwargs={"private": True}),
    ]


def assert_sketch_trace_is_useful(recorder: TraceRecorder) -> None:
    recorded = recorder.all_bytes()
    assert {"cogenesis-sketch", "prepare", "retrieve", "sketch", "write"} <= run_names(recorder)
    assert PUBLIC.encode() in recorded  # the public sketch payload, as sent
    assert b"Welcome everyone" in recorded  # the cloud's reply, public
    assert b"cogenesis-egress:sent" in recorded  # the egress decision, as a tag
    assert b'"decision":"sent"' in recorded  # and as an event on the sketch run


# --- the chat models ----------------------------------------------------------------


def test_chat_model_invoke_ships_structure_not_private_text(tracing: TraceRecorder) -> None:
    with RecordingServer(reply=SKETCH) as cloud:
        reply = chat_model(cloud).invoke(messages())
    assert reply.content == ANSWER  # the caller gets the real answer
    assert_nothing_private(tracing)
    assert_sketch_trace_is_useful(tracing)
    runs = tracing.runs()
    [top] = [run for run in runs.values() if run.get("name") == "ChatCoGenesis"]
    graph_run = next(run for run in runs.values() if run.get("name") == "cogenesis-sketch")
    assert graph_run["parent_run_id"] == top["id"]  # the graph run nests under the model's
    assert top["inputs"]["messages"][0][0]["kwargs"]["type"] == "human"
    assert "[private:" in top["outputs"]["generations"][0][0]["text"]


def test_control_raw_tracing_ships_the_private_text(tracing: TraceRecorder) -> None:
    with RecordingServer(reply=SKETCH) as cloud, allow_raw_tracing():
        chat_model(cloud).invoke(messages())
    recorded = shipped(tracing)
    assert CANARY.encode() in recorded and NAME.encode() in recorded


def test_control_an_unwrapped_call_ships_the_private_text(tracing: TraceRecorder) -> None:
    with RecordingServer(reply=SKETCH) as cloud:
        model = chat_model(cloud, mode="local")
        BaseChatModel.generate(model, [messages()])  # the model's run, no scrubber
    assert PRIVATE_INSTRUCTION.encode() in shipped(tracing)


def test_nested_in_a_traced_chain_and_a_custom_handler(tracing: TraceRecorder) -> None:
    seen: list[str] = []

    class Exporter(BaseCallbackHandler):
        """A user's handler that would export whatever it is given."""

        def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
            seen.append(f"chain_start {kwargs.get('name')} {inputs!r}")

        def on_chain_end(self, outputs: Any, **kwargs: Any) -> None:
            seen.append(f"chain_end {outputs!r}")

        def on_chat_model_start(self, serialized: Any, batches: Any, **kwargs: Any) -> None:
            seen.append(f"chat_start {serialized!r} {batches!r}")

        def on_llm_end(self, response: Any, **kwargs: Any) -> None:
            seen.append(f"llm_end {response!r}")

        def on_custom_event(self, name: str, data: Any, **kwargs: Any) -> None:
            seen.append(f"event {name} {data!r}")

    with RecordingServer(reply=SKETCH) as cloud:
        model = chat_model(cloud)
        chain = RunnableLambda(lambda text: len(model.invoke(messages()).text), name="user_chain")
        length = chain.invoke(PUBLIC, config={"callbacks": [Exporter()]})
    assert length == len(ANSWER)
    assert_nothing_private(tracing)
    runs = tracing.runs()
    [outer] = [run for run in runs.values() if run.get("name") == "user_chain"]
    [inner] = [run for run in runs.values() if run.get("name") == "ChatCoGenesis"]
    assert inner["parent_run_id"] == outer["id"]  # our subtree still nests under the user's
    assert outer["inputs"] == {"input": PUBLIC}  # the user's own run is traced as it was
    text = "\n".join(seen)
    assert "chain_start cogenesis-sketch" in text and "event cogenesis_egress" in text
    assert not [secret for secret in SECRETS if secret in text]


def test_streaming_gives_the_caller_real_text(tracing: TraceRecorder) -> None:
    with RecordingServer(reply=SKETCH) as cloud:
        model = chat_model(cloud)
        streamed = "".join(str(chunk.content) for chunk in model.stream(messages()))
    assert streamed == ANSWER
    assert_nothing_private(tracing)
    assert "ChatCoGenesis" in run_names(tracing)


async def test_astream_events_give_the_caller_real_text(tracing: TraceRecorder) -> None:
    with RecordingServer(reply=SKETCH) as cloud:
        model = chat_model(cloud)
        events = [event async for event in model.astream_events(messages(), version="v2")]
    local = repr(events)
    assert ANSWER in local  # the caller's own stream is local and complete
    # the model's own stream (the runs inside it, the sketch's and the writer's, nest
    # under it and stream too)
    streamed = [
        e["data"]["chunk"].content
        for e in events
        if e["event"] == "on_chat_model_stream" and not e["parent_ids"]
    ]
    assert "".join(streamed) == ANSWER
    [top] = {
        e["run_id"] for e in events if e["event"] == "on_chat_model_start" and not e["parent_ids"]
    }
    nested = [
        e for e in events if e["event"] == "on_chain_start" and e["name"] == "cogenesis-sketch"
    ]
    assert nested and nested[0]["parent_ids"][-1] == top  # the graph run nests under the model's
    assert_nothing_private(tracing)


def test_fusion_chat_model(tracing: TraceRecorder) -> None:
    script = [" Dear", " friends,", " welcome", " Odalys", " Pemberton"]
    local = ScriptScorer(script, extra=[" the"])
    with RecordingServer() as cloud:
        cloud.tokenizer = lambda text: local.tokenize(text, add_bos=True)
        cloud.logprobs_for = echo_script(local)
        guard = EgressGuard(base_url=cloud.base_url, model="fake", max_retries=0)
        # the scripted vocabulary stands in for the cloud tokenizer's answer to the probes
        guard.remote_token_ids = lambda texts: [local.tokenize(t, add_bos=True) for t in texts]  # type: ignore[method-assign]
        retriever = PrivateContextRetriever.model_construct(store=store(), user_id=USER, k=4)
        model = ChatCoGenesisFusion(
            local_scorer=local, egress_guard=guard, retriever=retriever, max_tokens=8
        )
        reply = model.invoke(
            [HumanMessage(PRIVATE_INSTRUCTION, additional_kwargs={"private": True}), "Greet us."]
        )
    assert "Odalys Pemberton" in str(reply.content)
    recorded = assert_nothing_private(tracing)
    assert {"ChatCoGenesisFusion", "PrivateContextRetriever"} <= run_names(tracing)
    assert b"cloud_requests" in recorded


# --- the graphs ---------------------------------------------------------------------


def test_sketch_graph_invoke_as_the_docstring_shows(tracing: TraceRecorder) -> None:
    with RecordingServer(reply=SKETCH) as cloud:
        graph = build_sketch_graph()
        state = graph.invoke(
            {**REQUEST, "mode": "sketch"},
            config={"configurable": {"thread_id": "t1"}},
            context=components(cloud),
        )
    assert state["answer"] == ANSWER
    assert_nothing_private(tracing)
    assert_sketch_trace_is_useful(tracing)


def test_sketch_graph_as_a_subgraph_of_a_users_graph(tracing: TraceRecorder) -> None:
    """Our subgraph's runs are scrubbed; the user's graph holds the answer in its own
    state, so its runs are scrubbed once it is wrapped, as documented."""
    from langgraph.graph import END, START, StateGraph

    from langchain_cogenesis.graphs import WritingState

    builder = StateGraph(WritingState, context_schema=Components)
    builder.add_node("plan", lambda state: {**REQUEST, "mode": "local"})
    builder.add_node("cogenesis", build_sketch_graph(checkpointer=None))
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "cogenesis")
    builder.add_edge("cogenesis", END)
    app = builder.compile(name="users_app")
    assert app.invoke({"user_id": USER}, context=components(None))["answer"] == ANSWER
    shipped(tracing)
    ours = [r for r in tracing.runs().values() if r.get("name") in ("retrieve", "write")]
    assert ours and not [s for s in SECRETS if s in json.dumps(ours)]
    users = [r for r in tracing.runs().values() if r.get("name") == "users_app"]
    assert CANARY in json.dumps(users)  # control: the user's own state, traced raw

    tracing.bodies.clear()
    state = with_private_tracing(app).invoke({"user_id": USER}, context=components(None))
    assert state["answer"] == ANSWER
    assert_nothing_private(tracing)
    assert {"users_app", "plan", "retrieve", "write"} <= run_names(tracing)


def test_graph_message_stream_keeps_real_tokens(tracing: TraceRecorder) -> None:
    """The CLI streams the answer with stream_mode="messages": it must stay real."""
    graph = build_sketch_graph()
    tokens = [
        str(chunk.content)
        for chunk, metadata in graph.stream(
            {**REQUEST, "mode": "local"},
            config={"configurable": {"thread_id": "t2"}},
            context=components(None),
            stream_mode="messages",
        )
        if metadata.get("langgraph_node") == "write"
    ]
    assert "".join(tokens) == ANSWER
    assert_nothing_private(tracing)


def test_served_graphs_and_builders_are_traced_privately() -> None:
    from langchain_cogenesis.graphs import fusion, router, sketch

    for graph in (sketch.graph, fusion.graph, router.graph):
        assert isinstance(graph, PrivatelyTracedGraph)
        assert isinstance(graph.with_config({"tags": ["x"]}), PrivatelyTracedGraph)
    for builder in (build_sketch_graph, build_fusion_graph, build_router_graph):
        assert isinstance(builder(), PrivatelyTracedGraph)


async def test_served_sketch_graph_astream_local_mode(tracing: TraceRecorder) -> None:
    from langchain_cogenesis.graphs.sketch import graph

    state = await graph.ainvoke({**REQUEST, "mode": "local"}, context=components(None))
    assert state["answer"] == ANSWER
    assert_nothing_private(tracing)
    assert {"cogenesis-sketch", "write"} <= run_names(tracing)


@pytest.mark.parametrize("graph_mode", ["fusion", "router"])
def test_fusion_and_router_graphs(tracing: TraceRecorder, graph_mode: str) -> None:
    local = ScriptScorer([" Dear", " friends,", " welcome", " Odalys", " Pemberton"])
    parts = components(None)
    parts.local_scorer = local
    parts.cloud_scorer = local  # in-process cloud: fusion needs no endpoint
    graph = build_fusion_graph() if graph_mode == "fusion" else build_router_graph()
    state = graph.invoke(
        {**REQUEST, "mode": "fusion"}, config={"configurable": {"thread_id": "f"}}, context=parts
    )
    assert "Odalys Pemberton" in state["answer"]
    assert_nothing_private(tracing)
    assert "fuse" in run_names(tracing)


def test_run_sketch_graph_and_its_allow_tracing_control(tracing: TraceRecorder) -> None:
    with RecordingServer(reply=SKETCH) as cloud:
        result = run_sketch_graph(components(cloud), {**REQUEST, "mode": "sketch"})
    assert result.answer == ANSWER
    assert_nothing_private(tracing)
    assert_sketch_trace_is_useful(tracing)
    tracing.bodies.clear()
    with RecordingServer(reply=SKETCH) as cloud:
        allowed = components(cloud, allow_tracing=True)
        run_sketch_graph(allowed, {**REQUEST, "mode": "sketch"})
    assert CANARY.encode() in shipped(tracing)  # the explicit opt-out is raw


# --- error paths --------------------------------------------------------------------


def test_cloud_unreachable_degrades_and_the_trace_stays_clean(tracing: TraceRecorder) -> None:
    with RecordingServer() as cloud:
        closed = cloud.base_url
    parts = components(None)
    parts.egress_guard = EgressGuard(base_url=closed, model="fake", max_retries=0, timeout=2)
    parts.degrade_on_cloud_error = True
    result = run_sketch_graph(parts, {**REQUEST, "mode": "sketch"})
    assert result.degraded and result.answer == ANSWER
    assert_nothing_private(tracing)


def test_block_policy_error_reaches_the_tracer_without_private_text(
    tracing: TraceRecorder,
) -> None:
    leaky = {**REQUEST, "public_instruction": f"Write to {NAME} about {CANARY}", "mode": "sketch"}
    with RecordingServer(reply=SKETCH) as cloud:
        parts = components(cloud, policy="block")
        with pytest.raises(PrivacyViolation):
            build_sketch_graph().invoke(
                leaky, config={"configurable": {"thread_id": "b"}}, context=parts
            )
        assert not cloud.chat_requests
    assert_nothing_private(tracing)
    errors = [run["error"] for run in tracing.runs().values() if run.get("error")]
    assert errors and all("PrivacyViolation" in error for error in errors)
    assert all('File "' in error for error in errors)  # where it was raised still shows


def test_an_error_quoting_private_text_is_scrubbed(tracing: TraceRecorder) -> None:
    class Failing(GenericFakeChatModel):
        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"cannot write for {NAME} at {ADDRESS}")

    parts = components(None)
    parts.local_model = Failing(messages=iter([]))
    with pytest.raises(RuntimeError, match="Pemberton"):  # the caller sees the real error
        run_sketch_graph(parts, {**REQUEST, "mode": "local"})
    assert_nothing_private(tracing)
    errors = [run["error"] for run in tracing.runs().values() if run.get("error")]
    assert errors and all("RuntimeError: [private:" in error for error in errors)


# --- tool, retriever, user agents ---------------------------------------------------


def test_cogenesis_tool_and_a_wrapped_agent(tracing: TraceRecorder) -> None:
    with RecordingServer(reply=SKETCH) as cloud:
        tool = cogenesis_tool(chat_model(cloud), user_id=USER)
        text = tool.invoke({"instruction": f"{PUBLIC}. Mention {NAME}."})
        assert text == ANSWER
        # a user's own runnable that returns the tool's text, wrapped as documented
        agent = with_private_tracing(RunnableLambda(lambda _: tool.invoke(PUBLIC), name="agent"))
        assert agent.invoke("go") == ANSWER
    assert_nothing_private(tracing)
    assert {"write_privately", "agent", "ChatCoGenesis"} <= run_names(tracing)


def test_private_context_retriever(tracing: TraceRecorder) -> None:
    retriever = PrivateContextRetriever.model_construct(store=store(), user_id=USER, k=4)
    documents = retriever.invoke("harvest festival")
    assert [d.page_content for d in documents] == NOTES
    assert_nothing_private(tracing)
    [run] = [r for r in tracing.runs().values() if r.get("name") == "PrivateContextRetriever"]
    assert len(run["outputs"]["documents"]) == 2  # how many came back, not what


# --- the real components ------------------------------------------------------------


@pytest.mark.integration
def test_cli_write_with_tracing_on_ships_nothing_private(tmp_path: Path, model_path: Path) -> None:
    """``cogenesis write`` with the real store and local model, tracing on."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "me.md").write_text("\n".join(NOTES), encoding="utf-8")
    env = {
        **os.environ,
        "COGENESIS_HOME": str(tmp_path / "home"),
        "HF_HUB_OFFLINE": "1",
        "COGENESIS_LOCAL_MODEL": str(model_path),
    }
    env.pop("COGENESIS_CLOUD_BASE_URL", None)
    cli = [sys.executable, "-m", "langchain_cogenesis.cli"]
    ingest = subprocess.run(
        [*cli, "ingest", "--user", USER, str(notes)], env=env, capture_output=True, timeout=600
    )
    assert ingest.returncode == 0, ingest.stderr
    with TraceRecorder() as recorder:
        traced = {
            **env,
            "LANGSMITH_TRACING": "true",
            "LANGSMITH_ENDPOINT": recorder.url,
            "LANGSMITH_API_KEY": "test-key",
        }
        write = [*cli, "write", "--user", USER, "--mode", "local", "--max-tokens", "12"]
        written = subprocess.run(
            [*write, "--private", PRIVATE_INSTRUCTION, PUBLIC],
            env=traced,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert written.returncode == 0, written.stderr
        assert NAME in written.stdout  # the user's own terminal shows the private part
        recorded = recorder.all_bytes()
    assert recorded, "the CLI's run was not traced"
    assert not [secret for secret in SECRETS if secret.encode() in recorded]
    assert b"cogenesis-sketch" in recorded and b'"langgraph_node":"write"' in recorded


class _MeetingWriter(GenericFakeChatModel):
    """A local writer that waits for the other user's run at a barrier, so the two
    runs are in flight together (both have asked the cloud before either writes)."""

    barrier: Any = None

    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        self.barrier.wait(timeout=30)
        return super()._generate(*args, **kwargs)


def test_two_users_interleaved_do_not_change_each_others_trace(tracing: TraceRecorder) -> None:
    """What one user's run exchanged with the cloud is public in that run only: the
    same text, private to another user running at the same time, stays a digest in the
    other run's trace (a process-wide record of public text would show it there)."""
    shared = "Cheers to the corner bakery and everyone who bakes there"
    barrier = threading.Barrier(2)
    with RecordingServer(reply=shared) as cloud_a, RecordingServer(reply=SKETCH) as cloud_b:
        store_ = store()
        store_.stored["user-b"] = [Document("Teodor keeps the keys", metadata={"kind": "note"})]
        writer = _MeetingWriter(messages=iter([AIMessage("A warm note.")] * 2))
        writer.barrier = barrier

        def model(cloud: RecordingServer) -> ChatCoGenesis:
            guard = EgressGuard(base_url=cloud.base_url, model="fake", max_retries=0)
            return ChatCoGenesis(store=store_, local_model=writer, egress_guard=guard)

        requests = {
            # A's cloud answers with the text that is B's private note
            "run-a": (model(cloud_a), USER, [HumanMessage("Write a toast for a bakery")]),
            "run-b": (
                model(cloud_b),
                "user-b",
                [
                    HumanMessage("Write a thank-you note"),
                    # the very text A's cloud streamed back (word by word, each with a space)
                    HumanMessage(shared + " ", additional_kwargs={"private": True}),
                ],
            ),
        }
        errors: list[BaseException] = []

        def run(tag: str) -> None:
            chat, user, messages = requests[tag]
            try:
                chat.invoke(messages, config={"configurable": {"user_id": user}, "tags": [tag]})
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=run, args=(tag,)) for tag in requests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        wire_b = b"".join(json.dumps(r["body"]).encode() for r in cloud_b.chat_requests)
    assert not errors, errors
    assert wire_b and shared.encode() not in wire_b  # the door kept B's note on the device
    shipped(tracing)
    runs = tracing.runs()

    def root_tag(run: dict[str, Any]) -> str:
        while run.get("parent_run_id") and str(run["parent_run_id"]) in runs:
            run = runs[str(run["parent_run_id"])]
        return next((t for t in run.get("tags") or [] if t.startswith("run-")), "")

    trees: dict[str, str] = {"run-a": "", "run-b": ""}
    for run in runs.values():
        tag = root_tag(run)
        if tag:
            trees[tag] += json.dumps(run, default=str)
    assert trees["run-a"] and trees["run-b"]
    assert shared in trees["run-a"]  # public in A's run: its trace shows it (the control)
    assert shared not in trees["run-b"]  # private in B's run: a digest there
    assert "[private:" in trees["run-b"]
