"""CoGenesis inside an existing LangChain agent: a tool, and a middleware on the agent's model.

``cogenesis_tool`` gives an agent a "write this for the user, privately" tool. By default
it returns its text straight to the user (``return_direct``), so the agent's own
model, usually a cloud model, never reads the personalized text.

``PrivacyMiddleware`` guards the agent's model calls themselves: before each call it
scans the messages the agent is about to send for the user's private context (their
store, plus any texts given) and either redacts the spans (restoring them locally in
the reply) or routes that call to a local model. Each decision can go to an audit log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import BaseTool, StructuredTool

from langchain_cogenesis.graphs.chat_model import ChatCoGenesis
from langchain_cogenesis.graphs.nodes import private_index
from langchain_cogenesis.privacy.audit import AuditLog
from langchain_cogenesis.privacy.detectors import PrivacyScanner, restore
from langchain_cogenesis.privacy.gate import hit_summary


def cogenesis_tool(
    model: ChatCoGenesis,
    *,
    user_id: str | None = None,
    name: str = "write_privately",
    return_direct: bool = True,
) -> BaseTool:
    """A tool that writes a personalized text for the user with ``model`` (CoGenesis).

    The agent passes only the instruction; the user's private context is read on the
    device. With ``return_direct`` (default) the text goes to the user and the agent
    stops, so the agent's model does not read it.
    """

    def write_privately(instruction: str) -> str:
        """Write a personalized text (email, post, speech...) for the user, privately."""
        kwargs = {"user_id": user_id} if user_id else {}
        return str(model.invoke(instruction, **kwargs).content)

    return StructuredTool.from_function(
        write_privately,
        name=name,
        description=(
            "Write a personalized text (e-mail, post, speech, letter...) for the user. "
            "Give only the instruction; the user's private context is added on their "
            "device and never sent."
        ),
        return_direct=return_direct,
    )


class PrivacyMiddleware(AgentMiddleware):
    """Keeps the user's private context out of the agent's model calls.

    Key init args:
        store, user_id: where the user's private context is (scanned, never sent).
        private_texts: more texts to treat as private.
        policy: ``"redact"`` (replace private spans with placeholders, restore them in
            the reply on the device) or ``"local"`` (send that call to ``local_model``).
        local_model: the on-device model for ``policy="local"``.
        audit_log: where each decision is recorded.
    """

    def __init__(
        self,
        *,
        store: Any = None,
        user_id: str | None = None,
        private_texts: Sequence[str] = (),
        policy: Literal["redact", "local"] = "redact",
        local_model: BaseChatModel | None = None,
        audit_log: AuditLog | None = None,
    ) -> None:
        super().__init__()
        if policy == "local" and local_model is None:
            raise ValueError("policy='local' needs a local_model")
        self.store, self.user_id = store, user_id
        self.private_texts = list(private_texts)
        self.policy = policy
        self.local_model = local_model
        self.audit_log = audit_log
        self.decisions: list[str] = []

    def scanner(self) -> PrivacyScanner:
        """The scanner of the user's private context."""
        index = None
        if self.store is not None and self.user_id and self.store.has_user(self.user_id):
            index = private_index(self.store, self.user_id)
        return PrivacyScanner(self.private_texts, index=index)

    def _prepare(self, request: ModelRequest) -> tuple[ModelRequest, dict[str, str], str]:
        scanner = self.scanner()
        hits = [hit for m in request.messages for hit in scanner.scan(_text(m))]
        if not hits:
            decision = "sent"
            mapping: dict[str, str] = {}
        elif self.policy == "local":
            decision = "kept_local"
            # small local models have no tool calling: this call answers in text
            assert self.local_model is not None  # checked in __init__
            request = request.override(model=self.local_model, tools=[], tool_choice=None)
            mapping = {}
        else:
            decision = "redacted"
            messages, mapping = [], {}
            for message in request.messages:
                text = _text(message)
                if scanner.scan(text):
                    clean, local = scanner.redact(text, first=len(mapping) + 1)
                    mapping.update(local)
                    message = message.model_copy(update={"content": clean})
                messages.append(message)
            request = request.override(messages=messages)
        self.decisions.append(decision)
        if self.audit_log is not None:
            self.audit_log.record(
                user_id=self.user_id or "",
                destination="agent-model",
                purpose="agent-model-call",
                decision=decision,
                hits=hit_summary(hits),
                payload="\n".join(_text(m) for m in request.messages)
                if decision != "kept_local"
                else "",
            )
        return request, mapping, decision

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        """Scan, then redact or route, then restore placeholders in the reply."""
        request, mapping, _ = self._prepare(request)
        return _restored(handler(request), mapping)

    async def awrap_model_call(
        self,
        request: ModelRequest,
        handler: Callable[[ModelRequest], Awaitable[ModelResponse]],
    ) -> ModelResponse:
        """As :meth:`wrap_model_call`, asynchronously."""
        request, mapping, _ = self._prepare(request)
        return _restored(await handler(request), mapping)


def _text(message: BaseMessage) -> str:
    return str(message.text)


def _restored(response: ModelResponse, mapping: dict[str, str]) -> ModelResponse:
    if not mapping:
        return response
    result = [
        m.model_copy(update={"content": restore(str(m.content), mapping)})
        if isinstance(m, AIMessage) and isinstance(m.content, str)
        else m
        for m in response.result
    ]
    return ModelResponse(result=result, structured_response=response.structured_response)
