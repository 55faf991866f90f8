"""The auto graph: one request at a time, the route that its privacy calls for.

    start_turn ─► prepare ─► classify ─► cloud_answer ─────────────► END   (route "cloud")
                                └─► retrieve ─► write ──────────────► END   (route "local")
                                       ├─► sketch ─► write ─────────► END   (route "sketch")
                                       └─► fuse ─► END | sketch | write     (route "fusion")

``classify`` scans the request (public and private part) with the detectors of the
privacy package, the user's private store included, and picks a route by one rule
(see :func:`choose_route` and docs/auto-router.md):

1. no cloud configured: ``local``;
2. a sensitive request (health, money, credentials, cards, IBANs: the policy rule
   :data:`~langchain_cogenesis.privacy.egress.decision.KEEP_SENSITIVE_LOCAL` under the run's
   policy, :func:`route_rule`): ``local``, and the thread turns sensitive;
3. a thread that turned sensitive earlier: ``local``, until a turn passes
   ``release_thread=True``;
4. a request that needs private context (a private part, a first-person reference,
   or any detector hit: the store's n-grams, rare tokens and dates, its facts in other
   words, profile names, canaries, private facts typed in): ``fusion`` when the run
   is set up for it
   (``Components.local_scorer``; a tokenizer mismatch or an endpoint without
   log-probabilities falls back to the sketch path, ``cloud_skipped`` says why),
   else ``sketch``;
5. anything else is public: the cloud answers the request as it is, through the guard.

The result says which route and why (``route``, ``route_reason``). A local route is
written to the guard's audit log through its door (``local_only``, purpose
``route:local (<reason>)``; reasons name detectors, never private text); a cloud
route's payloads are each decided and audited when they are sent. The "stays local"
mark lives in the graph state, so it holds for a thread under any checkpointer::

    from langchain_cogenesis.graphs import Components, build_auto_graph

    graph = build_auto_graph()
    thread = {"configurable": {"thread_id": "chat-1"}}
    parts = Components(store=store, local_model=local_model, egress_guard=guard)
    graph.invoke({"user_id": "maya", "instruction": "Explain how tides work", "mode": "auto"},
                 config=thread, context=parts)                     # route "cloud"
    graph.invoke({"instruction": "Write to my GP about my insulin dose"},
                 config=thread, context=parts)                     # route "local", sticky
    graph.invoke({"instruction": "Explain how tides work", "release_thread": True},
                 config=thread, context=parts)                     # route "cloud" again
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from langchain_cogenesis.graphs.defaults import components
from langchain_cogenesis.graphs.fusion import compile_with
from langchain_cogenesis.graphs.nodes import cloud_answer, prepare, retrieve, sketch, write
from langchain_cogenesis.graphs.router import fuse_or_fall_back, route_after_fuse
from langchain_cogenesis.graphs.scanners import TRUSTED_PROMPT_TEXT, run_scanner
from langchain_cogenesis.graphs.state import (
    Components,
    WritingInput,
    WritingOutput,
    WritingState,
)
from langchain_cogenesis.privacy import EgressDecision, PrivacyScanner
from langchain_cogenesis.privacy.detection.detectors import Hit
from langchain_cogenesis.privacy.egress.decision import (
    KEEP_SENSITIVE_LOCAL,
    PolicyRule,
    layered,
    policy_for,
)

Route = Literal["cloud", "sketch", "fusion", "local"]
"""Where a request of ``mode="auto"`` goes (see :func:`choose_route`)."""


def route_rule(policy: PolicyRule | None) -> PolicyRule:
    """The rule that keeps a request local: :data:`KEEP_SENSITIVE_LOCAL` with the
    detectors the run's policy names laid over it (``{"entity:MONEY": "redact"}`` lets
    money go to the cloud; ``{"entity:NRP": "local_only"}`` keeps another type local).
    The policy's default (a single policy, or ``"*"``) is for payloads, not routes."""
    named = {} if policy is None or isinstance(policy, str) else dict(policy)
    named.pop("*", None)
    return layered(KEEP_SENSITIVE_LOCAL, named) if named else KEEP_SENSITIVE_LOCAL


FIRST_PERSON = re.compile(
    r"\b(?:I|I'm|I've|I'd|I'll|(?i:me|my|mine|myself|we|we're|we've|our|ours|ourselves))\b"
    r"|\bus\b"
)
"""The writer speaking of themselves: the request is about their own life, which only
the private store knows ("a toast for my sister" needs to know who she is)."""


class AutoInput(WritingInput, total=False):
    """A turn's input: a request (as for every graph) and, optionally, the caller's
    word that a thread which turned sensitive may use the cloud again."""

    release_thread: bool


class AutoState(WritingState, total=False):
    """The writing state plus the route of this turn and the thread's sticky mark."""

    release_thread: bool
    route: Route
    route_reason: str
    thread_sensitive: str
    """The detectors that made this thread sensitive; empty while it is not."""
    last_turn: dict[str, Any]
    """The request's parts as the last turn left them, to tell them from a new turn's."""


@dataclass(frozen=True)
class RouteChoice:
    """A route, why it was chosen, and the thread's sensitive mark after this turn."""

    route: Route
    reason: str
    thread_sensitive: str


def choose_route(
    hits: Sequence[Hit],
    *,
    private_part: bool,
    first_person: bool,
    thread_sensitive: str = "",
    release_thread: bool = False,
    cloud_available: bool = True,
    fusion_ready: bool = False,
    rule: PolicyRule = KEEP_SENSITIVE_LOCAL,
) -> RouteChoice:
    """The routing rule, in order (the first that applies wins).

    Args:
        hits: the detectors' hits in the request's public and private parts.
        private_part: the request has a private part (given, or split off on the device).
        first_person: the request speaks of the writer (:data:`FIRST_PERSON`).
        thread_sensitive: the mark left by an earlier turn of the thread.
        release_thread: the caller lets a sensitive thread use the cloud again.
        cloud_available: a cloud model is configured (an egress guard).
        fusion_ready: the run can fuse (it has a local token scorer).
        rule: the policy rule whose ``local_only`` keeps a request local
            (:func:`route_rule`).
    """
    touchy = sorted(
        {hit.detector for hit in hits if policy_for(hit.detector, rule) == "local_only"}
    )
    if touchy:
        mark = ", ".join(touchy)
        return RouteChoice("local", f"sensitive request ({mark}): kept on the device", mark)
    if thread_sensitive and not release_thread:
        return RouteChoice(
            "local",
            f"the thread turned sensitive earlier ({thread_sensitive}): kept on the "
            "device; pass release_thread=True to use the cloud again",
            thread_sensitive,
        )
    released = " (thread released by the caller)" if thread_sensitive else ""
    if not cloud_available:
        return RouteChoice("local", "no cloud model is configured" + released, "")
    signals = [
        *(["a private part"] if private_part else []),
        *(["a first-person reference"] if first_person else []),
        *sorted({hit.detector for hit in hits}),
    ]
    if not signals:
        return RouteChoice(
            "cloud",
            "public-only request (no private part, no first-person reference, no "
            "detector hit): sent to the cloud as it is" + released,
            "",
        )
    needs = f"needs private context ({', '.join(signals)})"
    if fusion_ready:
        return RouteChoice("fusion", f"{needs}: fusion" + released, "")
    return RouteChoice(
        "sketch", f"{needs}: sketch (fusion is not set up: no local_scorer)" + released, ""
    )


def request_scanner(state: WritingState, parts: Components) -> PrivacyScanner:
    """The detectors that classify a request: the user's store, canaries, entities.

    Unlike the guard's scanner, the public instruction is not exempted: whether the
    user's own words reference their store is what is asked here.
    """
    # the store's facts in other words count as a reference to the store too: the
    # stored-fact matcher runs for a stored user, with nothing exempt
    return run_scanner(parts, state["user_id"], trusted_texts=TRUSTED_PROMPT_TEXT)


def start_turn(state: AutoState) -> dict[str, Any]:
    """Begin a turn of a thread: clear what the last turn produced, keep the sticky mark.

    A turn's input replaces the parts it names; a part it does not name keeps its
    value, except the parts split from a one-part ``instruction``, which are split
    again from this turn's. The mode is always ``auto``: the route decides, not the input.
    """
    last = state.get("last_turn")
    if not last:
        return {"mode": "auto"}
    update: dict[str, Any] = {
        "mode": "auto",
        "sketch": "",
        "answer": "",
        "context": [],
        "context_dropped": [],
        "fusion": None,
        "route_reason": "",
        "cloud_payloads": Overwrite([]),
        "timings": Overwrite({}),
    }
    same_public = state.get("public_instruction", "") == last["public_instruction"]
    same_private = state.get("private_instruction", "") == last["private_instruction"]
    if state.get("instruction"):  # a one-part request: the old parts are not its own
        if same_public:
            update["public_instruction"] = ""
        if same_private:
            update["private_instruction"] = ""
    elif last["split"] and same_private and not same_public:
        update["private_instruction"] = ""  # split off last turn's, not named in this one
    return update


def classify(state: AutoState, runtime: Runtime[Components]) -> dict[str, Any]:
    """Choose this turn's route (:func:`choose_route`) and audit the decision."""
    parts = components(runtime)
    public = state["public_instruction"]
    private = state.get("private_instruction", "")
    scanner = request_scanner(state, parts)
    hits = [*scanner.scan(public), *scanner.scan(private)]
    guard = parts.egress_guard
    policy = parts.policy or (guard.policy if guard is not None else None)
    choice = choose_route(
        hits,
        private_part=bool(private.strip()),
        first_person=bool(FIRST_PERSON.search(f"{public}\n{private}")),
        thread_sensitive=state.get("thread_sensitive", ""),
        release_thread=bool(state.get("release_thread")),
        cloud_available=parts.egress_guard is not None,
        fusion_ready=parts.local_scorer is not None or parts.cloud_scorer is not None,
        rule=route_rule(policy),
    )
    if guard is not None and choice.route == "local":
        # the door records that this request's work stays on the device; a cloud route
        # has no row of its own: each payload of it is decided and audited when sent
        kept = EgressDecision(
            "local_only",
            [("human", public), ("private", private)],
            hits,
            policy="local_only",
            reason=choice.reason,
        )
        guard.door.audit(kept, state["user_id"], f"route:local ({choice.reason})")
    return {
        "route": choice.route,
        "route_reason": choice.reason,
        "thread_sensitive": choice.thread_sensitive,
        "release_thread": False,  # a release holds for the turn that asks for it
        "instruction": "",  # split already; a later turn's instruction is then its own
        "last_turn": {
            "public_instruction": public,
            "private_instruction": private,
            "split": bool(state.get("instruction")),
        },
    }


def route_after_classify(state: AutoState) -> str:
    """A public-only request goes to the cloud as it is; every other one retrieves."""
    return "cloud_answer" if state["route"] == "cloud" else "retrieve"


def route_after_auto_retrieve(state: AutoState) -> str:
    """The local model alone, the sketch path, or fusion (with its fallback)."""
    return {"local": "write", "sketch": "sketch", "fusion": "fuse"}[state["route"]]


def build_auto_graph(
    checkpointer: Any = "memory", *, output_schema: type[Any] = AutoState
) -> CompiledStateGraph[AutoState, Components, AutoInput, AutoState]:
    """Compile the auto graph (``mode="auto"``).

    Args:
        checkpointer: ``"memory"`` (default), any LangGraph checkpointer, or ``None``.
            The sticky "stays local" mark is kept per ``thread_id`` by it; without a
            checkpointer every run is a thread of its own.
        output_schema: as in :func:`~langchain_cogenesis.graphs.build_sketch_graph`.
    """
    builder = StateGraph(
        AutoState, context_schema=Components, input_schema=AutoInput, output_schema=output_schema
    )
    builder.add_node("start_turn", start_turn)
    builder.add_node("prepare", prepare)
    builder.add_node("classify", classify)
    builder.add_node("retrieve", retrieve)
    builder.add_node("cloud_answer", cloud_answer)
    builder.add_node("sketch", sketch)
    builder.add_node("fuse", fuse_or_fall_back)
    builder.add_node("write", write)
    builder.add_edge(START, "start_turn")
    builder.add_edge("start_turn", "prepare")
    builder.add_edge("prepare", "classify")
    builder.add_conditional_edges("classify", route_after_classify, ["cloud_answer", "retrieve"])
    builder.add_conditional_edges(
        "retrieve", route_after_auto_retrieve, ["write", "sketch", "fuse"]
    )
    builder.add_conditional_edges("fuse", route_after_fuse, ["sketch", "write", END])
    builder.add_edge("sketch", "write")
    builder.add_edge("write", END)
    builder.add_edge("cloud_answer", END)
    return compile_with(builder, checkpointer, "cogenesis-auto")  # type: ignore[no-any-return]


graph = build_auto_graph(checkpointer=None, output_schema=WritingOutput)
"""The compiled auto graph LangGraph Server serves (no checkpointer; public output)."""
