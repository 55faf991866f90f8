"""Every public entry point, watched at every exit: nothing private leaves the device.

Each case runs one entry point with LangSmith tracing switched on the way an
application switches it on (``LANGSMITH_TRACING=true`` and an endpoint, here a
recording LangSmith-compatible server on loopback), under the socket recorder
(every connection, datagram and name resolution of the process, from any thread),
against a recording OpenAI-compatible cloud, for a user whose store and private
instruction hold a canary, a name, a street address, a health fact and an employer.
Then it asserts:

* the recording cloud received none of the private facts;
* the recording tracer received none of them;
* no exception message (with its chain) carries any of them;
* no connection went anywhere but the guard's endpoint, the tracer, and the test
  servers the case names (the agent's own model, the stand-in behind the proxy).

The local models are scripted fakes that write every private fact into their answer
(the answer is private too), except in the two runs with the real stand-in and the
real Gemma model. Controls prove each recorder sees a leak when there is one.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest
from langchain.agents import create_agent
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableLambda
from langchain_openai import ChatOpenAI

from langchain_cogenesis import ChatCoGenesisFusion, CoGenesisError, PrivacyViolation
from langchain_cogenesis.graphs import (
    ChatCoGenesis,
    Components,
    PrivacyMiddleware,
    build_fusion_graph,
    build_router_graph,
    build_sketch_graph,
    cogenesis_tool,
    run_sketch_graph,
)
from langchain_cogenesis.graphs import fusion as fusion_module
from langchain_cogenesis.graphs import router as router_module
from langchain_cogenesis.graphs import sketch as sketch_module
from langchain_cogenesis.graphs.tokens import TokenFile, new_key
from langchain_cogenesis.models import ChatLocalLlama, StandInCloud
from langchain_cogenesis.models.standin import free_port
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.privacy.tracing.privately_traced import with_private_tracing
from langchain_cogenesis.retrievers import PrivateContextRetriever, PrivateStore
from tests.cloud_servers import RecordingServer
from tests.egress_recorder import Allowed, EgressRecorder, subprocess_recording
from tests.fusion_fakes import ScriptScorer, echo_script
from tests.langgraph_dev import call_server, langgraph_dev
from tests.privacy_fixtures import (
    CANARY,
    CLOUD_SKETCH,
    LEAKY_PUBLIC_INSTRUCTION,
    LOCAL_ANSWER,
    ONE_PART_INSTRUCTION,
    PERSON,
    PRIVATE_INSTRUCTION,
    PUBLIC_INSTRUCTION,
    USER_ID,
    TracingServer,
    assert_nothing_private,
    cloud_allowed,
    error_text,
    langsmith_tracing,
    private_user,
    tracer_allowed,
    tracing_environment,
    watched,
)

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]

MODES = ("sketch", "local", "fusion", "cloud-public")
FAULTS = ("unreachable", "error500", "block")
CONFIG: dict[str, Any] = {"configurable": {"user_id": USER_ID}}


@pytest.fixture(scope="module")
def tracer() -> Iterator[TracingServer]:
    """The remote tracer, with LangSmith tracing on for the whole module."""
    with TracingServer() as server, langsmith_tracing(server):
        yield server


@pytest.fixture(scope="module")
def private_store(tmp_path_factory: pytest.TempPathFactory) -> PrivateStore:
    """A real on-device store (Chroma, local embeddings) holding the private user."""
    store = PrivateStore(tmp_path_factory.mktemp("every-exit") / "store")
    store.add_user_context(private_user())
    return store


# --- one case: an entry point, a mode, a fault -----------------------------------------


def local_script() -> list[str]:
    return [" " + word for word in LOCAL_ANSWER.split()]


def fake_local_model() -> GenericFakeChatModel:
    """A local chat model that writes every private fact (streams word by word)."""
    return GenericFakeChatModel(messages=itertools.repeat(AIMessage(LOCAL_ANSWER)))


@dataclass
class Setup:
    """The parts of one case. ``cloud_url`` is the guard's endpoint."""

    store: PrivateStore
    cloud: RecordingServer
    cloud_url: str
    mode: str
    fault: str = "ok"
    scorer: ScriptScorer = field(default_factory=lambda: ScriptScorer(local_script()))
    agent_cloud: RecordingServer | None = None
    agent_url: str = ""  # the agent's own model (agent cases)

    @property
    def policy(self) -> Any:
        return "block" if self.fault == "block" else None

    @property
    def public(self) -> str:
        return LEAKY_PUBLIC_INSTRUCTION if self.fault == "block" else PUBLIC_INSTRUCTION

    @property
    def degrade(self) -> bool:
        # faults are met without degrading, so the typed errors (and their messages)
        # are exercised; the ok runs use the default
        return self.fault == "ok"

    def guard(self) -> EgressGuard:
        return EgressGuard(
            base_url=self.cloud_url,
            model="fake",
            timeout=3.0,
            max_retries=0,
            audit_log=None,
            policy=self.policy or "redact",
        )

    def components(self) -> Components:
        return Components(
            store=self.store,
            local_model=fake_local_model(),
            egress_guard=self.guard(),
            k=4,
            sketch_max_tokens=32,
            answer_max_tokens=32,
            fusion_max_tokens=len(local_script()) + 2,
            policy=self.policy,
            local_scorer=self.scorer,
            degrade_on_cloud_error=self.degrade,
        )

    def request(self) -> dict[str, Any]:
        return {
            "user_id": USER_ID,
            "public_instruction": self.public,
            "private_instruction": PRIVATE_INSTRUCTION,
            "mode": self.mode,
        }

    def messages(self) -> list[BaseMessage]:
        return [
            HumanMessage(PRIVATE_INSTRUCTION, additional_kwargs={"private": True}),
            HumanMessage(self.public),
        ]


def chat_model(setup: Setup) -> ChatCoGenesis:
    return ChatCoGenesis(
        store=setup.store,
        local_model=fake_local_model(),
        egress_guard=setup.guard(),
        mode=setup.mode,
        policy=setup.policy,
        max_tokens=32,
        sketch_max_tokens=32,
        max_retries=0,
    )


def fusion_chat_model(setup: Setup) -> ChatCoGenesisFusion:
    return ChatCoGenesisFusion(
        local_scorer=setup.scorer,
        egress_guard=setup.guard(),
        retriever=PrivateContextRetriever(store=setup.store, user_id=USER_ID, k=4),
        max_tokens=len(local_script()) + 2,
        max_retries=0,
        user_id=USER_ID,
    )


def graph_call(factory: Callable[[], Any], method: str) -> Callable[[Setup], Any]:
    def run(setup: Setup) -> Any:
        graph = factory()
        config = {"configurable": {"thread_id": uuid.uuid4().hex}}
        arguments = (setup.request(),)
        options = {"config": config, "context": setup.components()}
        if method == "invoke":
            return graph.invoke(*arguments, **options)
        if method == "stream":
            return list(graph.stream(*arguments, **options))
        return asyncio.run(graph.ainvoke(*arguments, **options))

    return run


def agent_model_reply(body: dict[str, Any]) -> dict[str, Any]:
    """The agent's own cloud model: call the writing tool once, then say it is done."""
    if any(m["role"] == "tool" for m in body["messages"]):
        return {"role": "assistant", "content": "Done: the invitation is written."}
    if body.get("tools"):
        arguments = json.dumps({"instruction": PUBLIC_INSTRUCTION})
        call = {"id": "call_1", "type": "function",
                "function": {"name": "write_privately", "arguments": arguments}}  # fmt: skip
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    return {"role": "assistant", "content": "Here is a warm invitation for your book swap."}


def agent_model(setup: Setup) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=setup.agent_url,
        api_key="test",  # type: ignore[arg-type]
        model="agent-model",
        max_retries=0,
        timeout=3.0,
    )


def tool_in_agent(setup: Setup) -> Any:
    """The agent is wrapped as documented: it carries the tool's private answer."""
    tool = cogenesis_tool(chat_model(setup), user_id=USER_ID)
    agent = with_private_tracing(create_agent(agent_model(setup), tools=[tool]))
    return agent.invoke({"messages": [{"role": "user", "content": "Write my book swap invite"}]})


def middleware_in_agent(setup: Setup) -> Any:
    """The agent's model is the cloud here; the middleware is its door. The agent is
    wrapped as documented: its input holds the private text the middleware redacts."""
    middleware = PrivacyMiddleware(
        store=setup.store, user_id=USER_ID, policy=setup.policy or "redact"
    )
    agent = with_private_tracing(
        create_agent(
            agent_model(setup),
            tools=[],
            system_prompt=f"You write invitations for {PERSON}. Reference {CANARY}.",
            middleware=[middleware],
        )
    )
    content = ONE_PART_INSTRUCTION if setup.fault != "block" else LEAKY_PUBLIC_INSTRUCTION
    return agent.invoke({"messages": [{"role": "user", "content": content}]})


def retriever_call(setup: Setup) -> Any:
    retriever = PrivateContextRetriever(store=setup.store, user_id=USER_ID, k=4)
    return retriever.invoke(PUBLIC_INSTRUCTION)


ENTRY_POINTS: dict[str, Callable[[Setup], Any]] = {
    "ChatCoGenesis.invoke": lambda s: chat_model(s).invoke(s.messages(), config=CONFIG),
    "ChatCoGenesis.stream": lambda s: list(chat_model(s).stream(s.messages(), config=CONFIG)),
    "ChatCoGenesis.ainvoke": lambda s: asyncio.run(
        chat_model(s).ainvoke(s.messages(), config=CONFIG)
    ),
    "ChatCoGenesisFusion.invoke": lambda s: fusion_chat_model(s).invoke(s.messages()),
    "ChatCoGenesisFusion.stream": lambda s: list(fusion_chat_model(s).stream(s.messages())),
    **{
        f"{name}.{method}": graph_call(factory, method)
        for name, factory in (
            ("build_sketch_graph()", build_sketch_graph),
            ("graphs.sketch.graph", lambda: sketch_module.graph),
            ("build_fusion_graph()", build_fusion_graph),
            ("graphs.fusion.graph", lambda: fusion_module.graph),
            ("build_router_graph()", build_router_graph),
            ("graphs.router.graph", lambda: router_module.graph),
        )
        for method in ("invoke", "stream", "ainvoke")
    },
    "run_sketch_graph": lambda s: run_sketch_graph(s.components(), s.request()),
    "cogenesis_tool in create_agent": tool_in_agent,
    "PrivacyMiddleware in create_agent": middleware_in_agent,
    "PrivateContextRetriever.invoke": retriever_call,
}

FUSION_ONLY = ("ChatCoGenesisFusion", "build_fusion_graph", "graphs.fusion", "build_router",
               "graphs.router")  # fmt: skip


def modes_of(entry_point: str) -> tuple[str, ...]:
    if entry_point.startswith(FUSION_ONLY):
        return ("fusion",)
    if entry_point == "cogenesis_tool in create_agent":
        return ("sketch", "local")
    if entry_point == "PrivacyMiddleware in create_agent":
        return ("cloud-public",)  # the agent's own model is the cloud
    if entry_point == "PrivateContextRetriever.invoke":
        return ("local",)
    return MODES


CASES = [
    pytest.param(entry, mode, "ok", id=f"{entry}-{mode}")
    for entry in ENTRY_POINTS
    for mode in modes_of(entry)
]
FAULT_ENTRY_POINTS = {
    "ChatCoGenesis.invoke": "sketch",
    "build_sketch_graph().invoke": "sketch",
    "graphs.sketch.graph.ainvoke": "cloud-public",
    "run_sketch_graph": "fusion",
    "graphs.router.graph.stream": "fusion",
    "ChatCoGenesisFusion.invoke": "fusion",
    "cogenesis_tool in create_agent": "sketch",
    "PrivacyMiddleware in create_agent": "cloud-public",
}
FAULT_CASES = [
    pytest.param(entry, mode, fault, id=f"{entry}-{mode}-{fault}")
    for entry, mode in FAULT_ENTRY_POINTS.items()
    for fault in FAULTS
    # the tool's instruction comes from the agent's model, which wrote it: nothing to block
    if not (entry == "cogenesis_tool in create_agent" and fault == "block")
]


AGENTS = ("cogenesis_tool in create_agent", "PrivacyMiddleware in create_agent")


@contextmanager
def case_setup(store: PrivateStore, entry_point: str, mode: str, fault: str) -> Iterator[Setup]:
    """The recording cloud of a case (and the agent's own model, for the agent cases),
    with its fault. For the middleware, the agent's model is the cloud that fails."""
    middleware = entry_point == "PrivacyMiddleware in create_agent"
    behaviour = "error500" if fault == "error500" else "ok"
    with ExitStack() as stack:
        cloud = stack.enter_context(
            RecordingServer("ok" if middleware else behaviour, reply=CLOUD_SKETCH)
        )
        agent_cloud = None
        if entry_point in AGENTS:
            agent_cloud = stack.enter_context(RecordingServer(behaviour if middleware else "ok"))
            if not (middleware and fault == "error500"):  # chat_for answers before a fault
                agent_cloud.chat_for = agent_model_reply
        url = cloud.base_url
        agent = agent_cloud.base_url if agent_cloud is not None else ""
        if fault == "unreachable":
            closed = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
            url, agent = (url, closed) if middleware else (closed, agent)
        setup = Setup(store, cloud, url, mode, fault, agent_cloud=agent_cloud, agent_url=agent)
        cloud.tokenizer = lambda text: setup.scorer.tokenize(text, add_bos=True)
        cloud.logprobs_for = echo_script(setup.scorer)  # the cloud agrees: prefixes grow
        yield setup


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def case_allowed(setup: Setup, tracer: TracingServer) -> list[Allowed]:
    allowed = [cloud_allowed(port_of(setup.cloud_url)), tracer_allowed(tracer)]
    if setup.agent_cloud is not None:
        allowed.append(cloud_allowed(port_of(setup.agent_url), "the agent's own model"))
    return allowed


def asked_cloud(setup: Setup, entry_point: str) -> RecordingServer:
    """The server that plays the cloud the package guards in this case."""
    if entry_point == "PrivacyMiddleware in create_agent":
        assert setup.agent_cloud is not None
        return setup.agent_cloud
    return setup.cloud


def clouds_of(setup: Setup) -> list[RecordingServer]:
    return [setup.cloud] + ([setup.agent_cloud] if setup.agent_cloud is not None else [])


@pytest.mark.parametrize(("entry_point", "mode", "fault"), CASES + FAULT_CASES)
def test_nothing_private_leaves(
    entry_point: str,
    mode: str,
    fault: str,
    tracer: TracingServer,
    private_store: PrivateStore,
    model_path: Path,  # ChatCoGenesis(mode="fusion") loads the bundled model as scorer
) -> None:
    with (
        case_setup(private_store, entry_point, mode, fault) as setup,
        watched(tracer, clouds_of(setup), case_allowed(setup, tracer)) as exits,
    ):
        exits.run(lambda: ENTRY_POINTS[entry_point](setup))
    if fault == "ok":
        assert exits.error is None, error_text(exits.error)
    elif fault == "block":
        assert isinstance(exits.error, PrivacyViolation), exits.error and error_text(exits.error)
    else:
        assert exits.error is None or isinstance(exits.error, (CoGenesisError, openai.APIError)), (
            error_text(exits.error)
        )
    assert_nothing_private(exits)
    asked = asked_cloud(setup, entry_point)
    if mode == "local":
        assert asked.requests == []  # the cloud was not asked at all
    elif fault in ("ok", "error500"):
        assert asked.requests, "the cloud was never asked: the case proves nothing"


def unwrapped_tool_agent(setup: Setup) -> Any:
    tool = cogenesis_tool(chat_model(setup), user_id=USER_ID)
    agent = create_agent(agent_model(setup), tools=[tool])
    return agent.invoke({"messages": [{"role": "user", "content": "Write my book swap invite"}]})


def unwrapped_middleware_agent(setup: Setup) -> Any:
    # LangChain's agent traces its own input and each middleware's request (system
    # prompt included) before any middleware code runs: that is the caller's data,
    # recorded by the caller's tracer (docs/privacy.md says so). What the middleware
    # would add (restored private values) must not reach it: the middleware refuses.
    middleware = PrivacyMiddleware(store=setup.store, user_id=USER_ID)
    agent = create_agent(agent_model(setup), tools=[], middleware=[middleware])
    return agent.invoke({"messages": [{"role": "user", "content": PUBLIC_INSTRUCTION}]})


@pytest.mark.parametrize(
    ("entry_point", "mode", "run_agent"),
    [
        pytest.param(AGENTS[0], "sketch", unwrapped_tool_agent, id="cogenesis_tool"),
        pytest.param(AGENTS[1], "cloud-public", unwrapped_middleware_agent, id="middleware"),
    ],
)
def test_an_agent_without_the_tracing_wrapper_leaks_nothing(
    entry_point: str,
    mode: str,
    run_agent: Callable[[Setup], Any],
    tracer: TracingServer,
    private_store: PrivateStore,
) -> None:
    """The agent as LangChain's docs build it, without ``with_private_tracing``: its own
    run holds the tool's private answer (or the text the middleware redacts). Either
    nothing private reaches the tracer, or the run refuses with a PrivacyViolation
    that says how to trace it privately."""
    with (
        case_setup(private_store, entry_point, mode, "ok") as setup,
        watched(tracer, clouds_of(setup), case_allowed(setup, tracer)) as exits,
    ):
        exits.run(lambda: run_agent(setup))
    assert isinstance(exits.error, PrivacyViolation), error_text(exits.error)
    assert "with_private_tracing" in str(exits.error)
    assert_nothing_private(exits)


TRACED_ENTRY_POINTS = [
    pytest.param(entry, modes_of(entry)[0], id=entry)
    for entry in ENTRY_POINTS
    if entry.endswith(".invoke") or entry in ("run_sketch_graph", *AGENTS)
]


@pytest.mark.parametrize(("entry_point", "mode"), TRACED_ENTRY_POINTS)
def test_tracing_still_shows_the_run(
    entry_point: str, mode: str, tracer: TracingServer, private_store: PrivateStore
) -> None:
    """Tracing stays useful: each entry point's run reaches the tracer, scrubbed."""
    with (
        case_setup(private_store, entry_point, mode, "ok") as setup,
        watched(tracer, clouds_of(setup), case_allowed(setup, tracer)) as exits,
    ):
        exits.run(lambda: ENTRY_POINTS[entry_point](setup))
    assert exits.error is None, error_text(exits.error)
    assert_nothing_private(exits)
    assert tracer.runs(), f"{entry_point} sent no run to the tracer: tracing is off, not scrubbed"


# --- the command line, in a child process ----------------------------------------------


def cogenesis_command(
    home: Path, env: dict[str, str], *args: str, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "langchain_cogenesis.cli", *args],
        env={**env, "COGENESIS_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def child_environment(
    recording_env: dict[str, str], tracer: TracingServer, cloud_url: str, model_path: Path
) -> dict[str, str]:
    env = dict(recording_env)
    env.update(tracing_environment(tracer.url))
    env.update(
        HF_HUB_OFFLINE="1",
        COGENESIS_LOCAL_MODEL=str(model_path),
        COGENESIS_CLOUD_BASE_URL=cloud_url,
        COGENESIS_CLOUD_MODEL="fake",
    )
    env.pop("COGENESIS_CHROMA_URL", None)
    return env


def write_notes(folder: Path) -> Path:
    notes = folder / "notes"
    notes.mkdir()
    user = private_user()
    (notes / "profile.md").write_text(
        "# About me\n" + "\n".join(user.private_details + user.activity_logs), encoding="utf-8"
    )
    (notes / "letters.md").write_text(user.writing_history[0].text, encoding="utf-8")
    return notes


@pytest.mark.parametrize("mode", ["sketch", "local", "fusion", "sketch-unreachable"])
def test_the_command_line_sends_nothing_private(
    mode: str, tmp_path: Path, tracer: TracingServer, model_path: Path
) -> None:
    """``cogenesis ingest`` then ``cogenesis write`` with the real local model."""
    recording = subprocess_recording(tmp_path)
    home = tmp_path / "home"
    with RecordingServer(reply=CLOUD_SKETCH) as cloud:
        url = cloud.base_url
        if mode.endswith("unreachable"):
            url = f"http://127.0.0.1:{free_port()}/v1"
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        env = child_environment(recording.environment(), tracer, url, model_path)
        with watched(tracer, [cloud], [cloud_allowed(port), tracer_allowed(tracer)]) as exits:
            ingested = cogenesis_command(home, env, "ingest", "--user", USER_ID,
                                         str(write_notes(tmp_path)))  # fmt: skip
            degraded = ["--allow-degraded"] if mode.endswith("unreachable") else []
            written = cogenesis_command(
                home, env, "write", "--user", USER_ID, "--mode", mode.split("-")[0],
                "--private", PRIVATE_INSTRUCTION, "--max-tokens", "16", "--sketch-tokens",
                "24", "--json", *degraded, PUBLIC_INSTRUCTION,
            )  # fmt: skip
            exits.egress.extend(recording.destinations())
            exits.cli_output = [ingested.stderr, written.stderr]
    assert ingested.returncode == 0, ingested.stderr
    assert written.returncode == 0, written.stderr
    assert len(recording.processes()) >= 2  # the hook ran in both commands
    result = json.loads(written.stdout)
    assert result["answer"]
    assert_nothing_private(exits)
    if mode == "local":
        assert cloud.requests == []
    elif mode == "sketch":
        assert cloud.chat_requests, "the sketch was never asked for: the case proves nothing"


# --- the real stand-in and the real local model ----------------------------------------


def test_a_real_sketch_run(
    tracer: TracingServer, private_store: PrivateStore, standin: StandInCloud, model_path: Path
) -> None:
    """Gemma 3 270M locally, llama_cpp.server as the cloud, a recording proxy between."""
    with RecordingServer(upstream=standin.base_url) as recorder:
        model = ChatCoGenesis(
            store=private_store,
            local_model=ChatLocalLlama(model_path=model_path, max_tokens=24, seed=3),
            egress_guard=EgressGuard(
                base_url=recorder.base_url,
                model=standin.model,
                send_max_tokens=True,
                audit_log=None,
            ),
            sketch_max_tokens=24,
            max_tokens=24,
        )
        allowed = [
            cloud_allowed(recorder.server_address[1]),
            tracer_allowed(tracer),
            cloud_allowed(standin.port, "the stand-in, reached by the recording proxy"),
        ]
        with watched(tracer, [recorder], allowed) as exits:
            exits.run(
                lambda: model.invoke(
                    [
                        HumanMessage(PRIVATE_INSTRUCTION, additional_kwargs={"private": True}),
                        HumanMessage(PUBLIC_INSTRUCTION),
                    ],
                    config=CONFIG,
                )
            )
    assert exits.error is None, error_text(exits.error)
    assert recorder.chat_requests and exits.result.content
    assert_nothing_private(exits)


def test_a_real_fusion_run(
    tracer: TracingServer, private_store: PrivateStore, model_path: Path
) -> None:
    """Fused decoding with Gemma on both sides; the cloud side is llama_cpp.server."""
    with (
        StandInCloud(model_path, n_ctx=512, logits_all=True) as standin,
        RecordingServer(upstream=standin.base_url) as recorder,
    ):
        model = ChatCoGenesisFusion(
            local_model_path=model_path,
            n_ctx=1024,
            egress_guard=EgressGuard(
                base_url=recorder.base_url, model=standin.model, audit_log=None
            ),
            retriever=PrivateContextRetriever(store=private_store, user_id=USER_ID, k=3),
            max_tokens=6,
            first_k=3,
            user_id=USER_ID,
        )
        allowed = [
            cloud_allowed(recorder.server_address[1]),
            tracer_allowed(tracer),
            cloud_allowed(standin.port, "the stand-in, reached by the recording proxy"),
        ]
        with watched(tracer, [recorder], allowed) as exits:
            exits.run(
                lambda: model.invoke(
                    [
                        HumanMessage(PRIVATE_INSTRUCTION, additional_kwargs={"private": True}),
                        HumanMessage(PUBLIC_INSTRUCTION),
                    ]
                )
            )
    assert exits.error is None, error_text(exits.error)
    assert any(r["path"].endswith("/completions") for r in recorder.requests)
    assert_nothing_private(exits)


# --- controls: each recorder sees a leak when there is one ------------------------------


def test_control_the_matrix_fails_on_a_leaking_call(
    tracer: TracingServer, private_store: PrivateStore
) -> None:
    """cloud-private with the explicit opt-in sends private context: the cloud recorder
    sees it, and the matrix's assertion fails on it."""
    with case_setup(private_store, "run_sketch_graph", "cloud-private", "ok") as setup:
        parts = setup.components()
        parts.allow_private_egress = True
        with watched(tracer, [setup.cloud], case_allowed(setup, tracer)) as exits:
            exits.run(lambda: run_sketch_graph(parts, setup.request()))
    assert exits.error is None, error_text(exits.error)
    assert {"canary", "name", "address", "health", "employer"} <= set(exits.leaks()["cloud"])
    with pytest.raises(AssertionError, match="private facts left the device"):
        assert_nothing_private(exits)


def test_control_the_tracer_sees_a_raw_traced_run(tracer: TracingServer) -> None:
    """A plain traced runnable ships its input: the tracing recorder sees it, sent by
    langsmith's background thread, which the socket recorder sees too."""
    with watched(tracer, [], [tracer_allowed(tracer)]) as exits:
        RunnableLambda(lambda text: text.upper(), name="raw-step").invoke(PRIVATE_INSTRUCTION)
    assert {"canary", "name", "address", "health", "employer"} <= set(exits.leaks()["tracer"])
    assert "raw-step" in tracer.run_names()
    sends = [d for d in exits.egress.connections() if d.port == tracer.port]
    assert sends and all(d.thread != "MainThread" for d in sends)
    exits.egress.assert_only(exits.allowed)


def test_control_the_error_check_sees_private_text_in_a_message(tracer: TracingServer) -> None:
    with watched(tracer, [], [tracer_allowed(tracer)]) as exits:

        def failing() -> None:
            try:
                raise KeyError(CANARY)
            except KeyError as inner:
                raise ValueError("lookup failed") from inner

        exits.run(failing)
    assert exits.leaks()["error message"] == ["canary", "canary token"]


def test_control_the_socket_recorder_sees_unlisted_destinations() -> None:
    """A second loopback server not on the list, a TEST-NET address (a UDP connect, so
    no packet is sent) and a datagram: all three are violations; the listed one is not."""
    import socket

    with RecordingServer() as listed, RecordingServer() as unlisted:
        allowed = [cloud_allowed(listed.server_address[1])]
        with EgressRecorder() as egress:
            for server in (listed, unlisted):
                with socket.create_connection(("127.0.0.1", server.server_address[1])):
                    pass
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.connect(("192.0.2.1", 9))
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.sendto(b"x", ("127.0.0.1", unlisted.server_address[1]))
        bad = egress.violations(allowed)
    assert {(d.action, d.host, d.port) for d in bad} == {
        ("connect", "127.0.0.1", unlisted.server_address[1]),
        ("connect", "192.0.2.1", 9),
        ("sendto", "127.0.0.1", unlisted.server_address[1]),
    }
    with pytest.raises(AssertionError, match=r"192\.0\.2\.1:9"):
        egress.assert_only(allowed)


def test_control_a_child_process_is_recorded_and_flushes_its_traces(
    tmp_path: Path, tracer: TracingServer
) -> None:
    """The sitecustomize shim records a child's connections (to an unlisted port), and
    a child that traces sends its runs before it exits, so the CLI cases are not vacuous."""
    recording = subprocess_recording(tmp_path)
    env = {**recording.environment(), **tracing_environment(tracer.url)}
    with RecordingServer() as unlisted:
        code = (
            "import socket, sys\n"
            "from langchain_core.runnables import RunnableLambda\n"
            f"socket.create_connection(('127.0.0.1', {unlisted.server_address[1]})).close()\n"
            f"RunnableLambda(lambda t: t, name='child-step').invoke({CANARY!r})\n"
        )
        with watched(tracer, [], [tracer_allowed(tracer)]) as exits:
            done = subprocess.run([sys.executable, "-c", code], env=env, timeout=120,
                                  capture_output=True, text=True)  # fmt: skip
            tracer.wait_quiet(0.5)
            exits.egress.extend(recording.destinations())
    assert done.returncode == 0, done.stderr
    assert recording.processes()
    assert "canary" in exits.leaks()["tracer"]
    assert [d.port for d in exits.egress.violations(exits.allowed)] == [unlisted.server_address[1]]


# --- the graphs as LangGraph Server serves them ------------------------------------------


def test_the_graphs_served_by_langgraph_dev(
    tmp_path: Path, tracer: TracingServer, model_path: Path
) -> None:
    """A run over HTTP, as LangGraph Server runs it: an empty context, the parts from
    the environment, the server's own tracing on."""
    recording = subprocess_recording(tmp_path)
    home = tmp_path / "home"
    port = free_port()
    with RecordingServer(reply=CLOUD_SKETCH) as cloud:
        env = child_environment(recording.environment(), tracer, cloud.base_url, model_path)
        env["COGENESIS_HOME"] = str(home)
        # langgraph-cli posts usage analytics to a hosted database and langgraph-api asks
        # PyPI for newer versions, from the serving process: the socket recorder caught
        # both. A private deployment switches both off, as here.
        env["LANGGRAPH_CLI_NO_ANALYTICS"] = "1"
        env["LANGGRAPH_NO_VERSION_CHECK"] = "true"
        # the served graphs need a caller's token and a checkpoint key (graphs/auth.py)
        env["COGENESIS_CHECKPOINT_KEY"] = new_key()
        token = TokenFile(home / "tokens.json").issue(USER_ID)
        allowed = [
            cloud_allowed(cloud.server_address[1]),
            tracer_allowed(tracer),
            cloud_allowed(port, "the langgraph dev server the test calls, and its own loopback"),
        ]
        ingest = "from tests.privacy_fixtures import private_user\n" + (
            "from langchain_cogenesis.retrievers import PrivateStore\n"
            "PrivateStore().add_user_context(private_user())\n"
        )
        subprocess.run([sys.executable, "-c", ingest], env=env, cwd=REPO, check=True, timeout=300)
        server = langgraph_dev(env, port, tmp_path / "server")
        with server as url, watched(tracer, [cloud], allowed) as exits:
            request = {
                "assistant_id": "cogenesis_sketch",
                "input": {
                    "user_id": USER_ID,
                    "public_instruction": PUBLIC_INSTRUCTION,
                    "private_instruction": PRIVATE_INSTRUCTION,
                    "mode": "cloud-public",
                },
            }
            exits.run(lambda: call_server(f"{url}/runs/wait", request, token=token))
            time.sleep(2.0)  # the server's tracer sends in the background
            tracer.wait_quiet(0.5)
            exits.egress.extend(recording.destinations())
    assert exits.error is None, error_text(exits.error)
    assert exits.result.get("answer"), exits.result
    assert cloud.chat_requests
    assert_nothing_private(exits)
