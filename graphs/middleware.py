"""``PrivacyMiddleware``: every model call of a LangChain agent through the one decision.

An agent built with ``create_agent`` sends its model the whole conversation on every
call: the system prompt, every earlier message, the arguments of the tools it
called and what those tools returned. Any of them may carry the user's private
context. Before each call, the middleware turns that whole request into
``(role, text)`` pairs, asks :func:`~langchain_cogenesis.privacy.egress.decision.decide`
what may leave, and acts on the answer through its
:class:`~langchain_cogenesis.privacy.egress.door.Door` (audit, public record, errors) as
every other path to a cloud model does:

- ``sent``: nothing private, the call goes as it is;
- ``redacted``: private spans are replaced by typed placeholders everywhere in the
  request; the reply is restored on the device, streamed chunks and tool-call
  arguments included, so tools run with the real values;
- ``local_only``: the call goes to ``local_model`` instead;
- ``blocked``: :class:`~langchain_cogenesis.errors.PrivacyViolation`, nothing sent.

Other middleware may call a model of its own: LangChain's ``SummarizationMiddleware``
sends old history to its summary model from a ``before_model`` hook, which no
``wrap_model_call`` sees. :meth:`PrivacyMiddleware.guarded_model` wraps such a model
so that its calls go through the same decision, policy and audit log.

Values restored on the device never leave again, whatever path they take: the
middleware remembers them (:attr:`PrivacyMiddleware.restored_values`) and finds them
in every later call; a :func:`~langchain_cogenesis.graphs.cogenesis_tool` built with
``privacy=`` the middleware screens its own cloud request for them too, and an agent
whose tools include one that is not is refused before its first call.

A request's texts are read and put back by ``graphs/_message_text.py``; the wrapper
model that restores a reply is :class:`~langchain_cogenesis.graphs.guarded_model.GuardedChatModel`;
the scanner is built by :func:`~langchain_cogenesis.graphs.scanners.user_scanner`, as
for every other caller.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.runnables.config import var_child_runnable_config

from langchain_cogenesis.errors import ConfigurationError, PrivacyViolation, UnknownUser
from langchain_cogenesis.graphs._message_text import message_texts, with_texts
from langchain_cogenesis.graphs.guarded_model import GuardedChatModel
from langchain_cogenesis.graphs.scanners import user_scanner
from langchain_cogenesis.privacy.detection.detectors import Detector
from langchain_cogenesis.privacy.detection.scanner import PrivacyScanner
from langchain_cogenesis.privacy.egress.audit import AuditLog
from langchain_cogenesis.privacy.egress.decision import (
    EgressDecision,
    PolicyRule,
    check_policy,
)
from langchain_cogenesis.privacy.egress.door import Door
from langchain_cogenesis.privacy.redaction.restoration import RestoredValues, restore_message
from langchain_cogenesis.privacy.tracing.private import refuse_raw_tracing

_RESTORED_LIMIT = 10_000
ZERO_KNOWLEDGE_HINT = (
    "To protect the calls without a stored user (detectors that need no store only: "
    "entities, names, canaries, private_texts), opt in with "
    "PrivacyMiddleware(..., zero_knowledge=True)."
)


def _policy(policy: PolicyRule) -> PolicyRule:
    """``policy`` if every name in it is one of the package's policies.

    Raises:
        ValueError: another name (the hint names ``local_only``, the policy that sends
            a call to ``local_model``).
    """
    try:
        return check_policy(policy)
    except ValueError as error:
        raise ValueError(
            f"PrivacyMiddleware: {error}; 'local_only' sends a call to local_model."
        ) from None


def _request_messages(request: ModelRequest) -> list[BaseMessage]:
    system = [request.system_message] if request.system_message is not None else []
    return [*system, *request.messages]


# --- the middleware -----------------------------------------------------------------


class PrivacyMiddleware(AgentMiddleware):
    """Keeps the user's private context out of every model call an agent makes.

    Put it last in ``middleware=[...]``: its ``wrap_model_call`` is then the
    innermost and sees the request as other middleware left it.

    Key init args:
        store, user_id: where the user's private context is (scanned, never sent).
            A ``user_id`` the store does not know raises
            :class:`~langchain_cogenesis.errors.UnknownUser`, here and before any call.
        zero_knowledge: run without a user the store knows (no store, a new user):
            only the detectors that need no stored context protect the calls. An
            explicit opt-in, so that a misspelled ``user_id`` is never silently that.
        private_texts, names, canaries: more private context to look for.
        detect_entities: also find private facts no store holds (names, places,
            health, money, credentials typed into a message); default ``True``.
        detectors: more detectors, e.g. a
            :class:`~langchain_cogenesis.privacy.detection.entities.LocalModelDetector`.
        policy: ``"redact"`` (default), ``"block"`` or ``"local_only"``, or one per
            detector type: ``{"entity:HEALTH": "local_only", "canary": "block",
            "*": "redact"}`` (the most specific key wins for a hit, the strictest
            outcome for a call).
        local_model: the on-device model that ``"local_only"`` sends calls to.
        audit_log: where every decision is recorded.

    Instantiate:
        .. code-block:: python

            from langchain.agents import create_agent
            from langchain.agents.middleware import SummarizationMiddleware
            from langchain_cogenesis.graphs import PrivacyMiddleware

            privacy = PrivacyMiddleware(store=store, user_id="maya-okafor",
                                        policy={"entity:HEALTH": "local_only", "*": "redact"},
                                        local_model=local_model, audit_log=AuditLog())
            summarize = SummarizationMiddleware(
                model=privacy.guarded_model(cloud_model), trigger=("messages", 40)
            )
            agent = create_agent(cloud_model, tools=tools, middleware=[summarize, privacy])

    Invoke:
        .. code-block:: python

            agent.invoke({"messages": [{"role": "user", "content": "Draft my reply"}]})
            privacy.decisions  # ["sent", "redacted", ...], one per model call

    Stream:
        .. code-block:: python

            for chunk, _ in agent.stream(inputs, stream_mode="messages"):
                print(chunk.text, end="")  # placeholders already restored

    Values it restores on the device are in :attr:`restored_values`; every later
    call redacts them again (audited as ``restored:<TYPE>``), and so does the cloud
    request of a ``cogenesis_tool(writer, privacy=privacy)``. A tool with a
    ``restored_values`` attribute that is not this middleware's (a ``cogenesis_tool``
    built without ``privacy=``) is refused with
    :class:`~langchain_cogenesis.errors.ConfigurationError` before anything is sent.
    """

    def __init__(
        self,
        *,
        store: Any = None,
        user_id: str | None = None,
        private_texts: Sequence[str] = (),
        names: Sequence[str] = (),
        canaries: Sequence[str] = (),
        detect_entities: bool = True,
        detectors: Sequence[Detector] = (),
        policy: PolicyRule = "redact",
        local_model: BaseChatModel | None = None,
        audit_log: AuditLog | None = None,
        zero_knowledge: bool = False,
    ) -> None:
        super().__init__()
        self.policy = policy
        self.rule = _policy(policy)
        values = [self.rule] if isinstance(self.rule, str) else list(self.rule.values())
        if "local_only" in values and local_model is None:
            raise ValueError(
                "policy 'local_only' sends calls to a local model: pass local_model=, e.g. "
                "ChatLocalLlama(), or choose 'redact' or 'block'."
            )
        self.store, self.user_id = store, user_id
        self.zero_knowledge = zero_knowledge
        if store is not None and not user_id and not zero_knowledge:
            raise ConfigurationError(
                "PrivacyMiddleware was given a store but no user_id, so the store would "
                "protect nothing: pass user_id=..., or zero_knowledge=True to run on "
                "the detectors that need no stored context."
            )
        self._stored_user()  # a misspelled user_id fails here, not silently later
        self.private_texts = list(private_texts)
        self.names, self.canaries = list(names), list(canaries)
        self.detect_entities = detect_entities
        self.detectors = list(detectors)
        self.local_model = local_model
        self.audit_log = audit_log
        self.decisions: list[str] = []
        """One entry per guarded call: its decision (``sent``, ``redacted``, ``blocked``,
        ``local_only``)."""
        self.restored_values = RestoredValues(limit=_RESTORED_LIMIT)
        """The values restored into the conversation on the device: found again in
        every later call (even where the detector that first found them needed context
        that is gone), and handed to the ``cogenesis_tool`` calls this middleware runs."""

    def _stored_user(self) -> str | None:
        """``user_id`` if the store holds it; ``None`` without a store or a user.

        Raises:
            UnknownUser: the store does not hold it, and ``zero_knowledge`` was not chosen.
        """
        if self.store is None or not self.user_id:
            return None
        if self.store.has_user(self.user_id):
            return self.user_id
        if self.zero_knowledge:
            return None
        raise UnknownUser(self.user_id, opt_in=ZERO_KNOWLEDGE_HINT)

    def scanner(self) -> PrivacyScanner:
        """The detectors of the user's private context, for one call.

        Raises:
            UnknownUser: the store no longer holds ``user_id`` (without
                ``zero_knowledge``); nothing was sent.
        """
        return user_scanner(
            self.store,
            self._stored_user(),
            private_texts=self.private_texts,
            names=self.names,
            canaries=self.canaries,
            detect_entities=self.detect_entities,
            stored_fact_threshold=None,  # agent calls run no stored-fact matcher
            extra=[*self.detectors, *self.restored_values.detectors()],
        )

    def screen(
        self, outbound: Sequence[tuple[str, str]], *, purpose: str = "agent-model-call"
    ) -> EgressDecision:
        """Decide on one outbound call, record and audit the decision.

        Raises:
            PrivacyViolation: the policy blocks it; nothing was sent.
        """
        door, user_id = self.door, self.user_id or ""
        try:
            decision = door.decide(
                outbound, self.scanner(), purpose=purpose, user_id=user_id, policy=self.rule
            )
        except PrivacyViolation:
            self.decisions.append("blocked")
            raise
        self.decisions.append(decision.decision)
        if decision.route == "cloud":  # the agent sends it right after
            door.send(decision, user_id=user_id, purpose=purpose)
        if decision.redactions:
            self._remember(decision.redactions)
        return decision

    def local_for(self, decision: EgressDecision) -> BaseChatModel:
        """The local model a ``local_only`` call goes to.

        Raises:
            LocalOnly: there is none (it was removed after construction); nothing sent.
        """
        if self.local_model is None:
            decision.require_cloud("agent-model-call")
        assert self.local_model is not None  # raise_unless_sendable raised
        return self.local_model

    @property
    def door(self) -> Door:
        """The door this middleware's calls pass (destination ``agent-model``)."""
        return Door("agent-model", self.audit_log, self.rule)

    def _remember(self, redactions: Mapping[str, str]) -> None:
        self.restored_values.remember(redactions)

    def guarded_model(
        self, model: BaseChatModel, *, purpose: str = "agent-side-call"
    ) -> GuardedChatModel:
        """``model`` with every call guarded by this middleware.

        For models that other middleware call themselves, e.g.
        ``SummarizationMiddleware(model=privacy.guarded_model(model), ...)``: the
        history it summarizes is redacted (or the call kept local or blocked), and the
        summary is restored on the device; the next call redacts it again.
        """
        return GuardedChatModel(
            model=model, guard=self, purpose=purpose, profile=getattr(model, "profile", None)
        )

    def _check_tools(self, tools: Sequence[Any]) -> None:
        """Refuse tools that send requests of their own without this conversation's
        restored values: their arguments may carry values restored on the device."""
        for tool in tools:
            if getattr(tool, "restored_values", self.restored_values) is not self.restored_values:
                raise ConfigurationError(
                    f"The agent's tool {getattr(tool, 'name', '')!r} sends a cloud request "
                    "of its own, and the arguments it gets may carry values this "
                    "PrivacyMiddleware restored on the device. Build it with "
                    "cogenesis_tool(writer, privacy=<this middleware>) so that its request "
                    "redacts them too. Nothing was sent."
                )

    def _guard_request(self, request: ModelRequest) -> tuple[ModelRequest, dict[str, str]]:
        self._check_tools(request.tools)
        messages = _request_messages(request)
        decision = self.screen(message_texts(messages))
        if decision.decision == "local_only":
            # small local models have no tool calling: this call answers in text
            return request.override(model=self.local_for(decision), tools=[], tool_choice=None), {}
        if decision.decision != "redacted":
            return request, {}
        redacted = with_texts(messages, [text for _, text in decision.outbound])
        system = redacted[0] if request.system_message is not None else None
        history = redacted[1:] if system is not None else redacted
        # the wrapper restores streamed chunks; with a structured response format the
        # agent inspects the model's class, so that model is left as it is
        model = request.model
        if request.response_format is None:
            model = GuardedChatModel(model=request.model, redactions=decision.redactions)
        overrides: dict[str, Any] = {"system_message": system, "messages": history}
        return request.override(model=model, **overrides), decision.redactions

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        """Decide on the whole request, then send, redact, keep local or block it."""
        _refuse_raw_tracing()
        guarded, redactions = self._guard_request(request)
        return _restore_response(handler(guarded), redactions)

    async def awrap_model_call(
        self,
        request: ModelRequest,
        handler: Callable[[ModelRequest], Awaitable[ModelResponse]],
    ) -> ModelResponse:
        """As :meth:`wrap_model_call`, asynchronously."""
        _refuse_raw_tracing()
        guarded, redactions = self._guard_request(request)
        return _restore_response(await handler(guarded), redactions)


def _refuse_raw_tracing() -> None:
    """The agent's runs hold what this middleware restores: refuse under a raw tracer."""
    config = var_child_runnable_config.get() or {}
    refuse_raw_tracing(config.get("callbacks"), "PrivacyMiddleware")


def _restore_response(response: ModelResponse, redactions: Mapping[str, str]) -> ModelResponse:
    if not redactions:
        return response
    result = [
        restore_message(m, redactions) if isinstance(m, AIMessage | AIMessageChunk) else m
        for m in response.result
    ]
    return ModelResponse(result=result, structured_response=response.structured_response)
