"""``GuardedChatModel``: a chat model whose calls pass a privacy decision, and whose
replies are restored on the device.

:meth:`PrivacyMiddleware.guarded_model
<langchain_cogenesis.graphs.middleware.PrivacyMiddleware.guarded_model>` wraps a model
that other middleware call themselves; the middleware also wraps an agent's model for
a redacted call, so that streamed chunks are restored as they come.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.constants import TAG_NOSTREAM
from pydantic import ConfigDict, Field

from langchain_cogenesis.graphs._message_text import message_texts, with_texts
from langchain_cogenesis.privacy.egress.door import Door
from langchain_cogenesis.privacy.redaction.restoration import MessageStreamRestorer, restore_message


def _inner_config(
    run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None,
) -> RunnableConfig:
    """The wrapped model's run: a child of the wrapper's, hidden from message streams.

    Its chunks still carry placeholders; a streaming consumer (``stream_mode="messages"``)
    sees only the restored chunks of the wrapper's own run.
    """
    if run_manager is None:
        return {"tags": [TAG_NOSTREAM]}
    manager_class = (
        AsyncCallbackManager
        if isinstance(run_manager, AsyncCallbackManagerForLLMRun)
        else CallbackManager
    )
    child = manager_class(handlers=[], parent_run_id=run_manager.run_id)
    child.set_handlers(run_manager.inheritable_handlers)
    child.add_tags(run_manager.inheritable_tags)
    child.add_metadata(run_manager.inheritable_metadata)
    return {"callbacks": child, "tags": [TAG_NOSTREAM]}


class GuardedChatModel(BaseChatModel):
    """A chat model whose calls are guarded and whose replies are restored on the device.

    With a ``guard`` (:meth:`PrivacyMiddleware.guarded_model`), every call is decided,
    audited and sent, redacted, kept local or blocked by that middleware. Without
    one, the call was decided already and only ``redactions`` are restored. Streamed
    chunks are restored as they come, a placeholder cut between chunks included.
    """

    model: Any
    """The model the call goes to (a chat model, or one with tools bound)."""
    guard: Any = None
    """The :class:`PrivacyMiddleware` that decides each call, if any."""
    purpose: str = "agent-side-call"
    redactions: dict[str, str] = Field(default_factory=dict)
    model_config = ConfigDict(arbitrary_types_allowed=True)

    @property
    def _llm_type(self) -> str:
        return "cogenesis-guarded"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, AIMessage]:
        """Bind the tools to the wrapped model; calls stay guarded."""
        return self.model_copy(update={"model": self.model.bind_tools(tools, **kwargs)})

    def _route(self, messages: list[BaseMessage]) -> tuple[Any, dict[str, str] | None, list[Any]]:
        """The model, the redactions to restore (``None``: a local call, its reply is
        private) and the messages this call sends."""
        if self.guard is None:
            return self.model, self.redactions, messages
        decision = self.guard.screen(message_texts(messages), purpose=self.purpose)
        if decision.decision == "local_only":
            return self.guard.local_for(decision), None, messages
        if decision.decision == "redacted":
            texts = [text for _, text in decision.outbound]
            return self.model, decision.redactions, with_texts(messages, texts)
        return self.model, {}, messages

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        model, redactions, outbound = self._route(messages)
        reply = model.invoke(outbound, _inner_config(run_manager), stop=stop, **kwargs)
        return ChatResult(generations=[ChatGeneration(message=_restore_reply(reply, redactions))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        model, redactions, outbound = self._route(messages)
        reply = await model.ainvoke(outbound, _inner_config(run_manager), stop=stop, **kwargs)
        return ChatResult(generations=[ChatGeneration(message=_restore_reply(reply, redactions))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        model, redactions, outbound = self._route(messages)
        restorer = MessageStreamRestorer(redactions or {})
        for chunk in model.stream(outbound, _inner_config(run_manager), stop=stop, **kwargs):
            yield ChatGenerationChunk(message=restorer.feed(chunk))
        if (last := restorer.flush()) is not None:
            yield ChatGenerationChunk(message=last)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        model, redactions, outbound = self._route(messages)
        restorer = MessageStreamRestorer(redactions or {})
        config = _inner_config(run_manager)
        async for chunk in model.astream(outbound, config, stop=stop, **kwargs):
            yield ChatGenerationChunk(message=restorer.feed(chunk))
        if (last := restorer.flush()) is not None:
            yield ChatGenerationChunk(message=last)


def _restore_reply(reply: BaseMessage, redactions: Mapping[str, str] | None) -> AIMessage:
    if redactions is not None:  # the cloud's reply as it came, placeholders and all
        Door.received([reply.text])
    restored = restore_message(reply, redactions or {})
    return restored if isinstance(restored, AIMessage) else AIMessage(restored.content)
