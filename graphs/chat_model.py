"""Sketch-based CoGenesis as a LangChain chat model: messages in, a personalized reply out.

One class, a little over ~400 lines because its docstring is the user guide; what a
call's messages become and how the graph's result becomes the reply are in
``graphs/_chat_io.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from langchain_core.callbacks import CallbackManager, CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables.config import RunnableConfig, ensure_config
from langchain_core.utils.uuid import uuid7
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr

from langchain_cogenesis.caches import BoundedCache
from langchain_cogenesis.config import Settings, check_arguments
from langchain_cogenesis.errors import ConfigurationError, InvalidInstruction
from langchain_cogenesis.graphs._chat_io import PRIVATE as PRIVATE
from langchain_cogenesis.graphs._chat_io import (
    call_arguments,
    cut_at_stop,
    nested_callbacks,
    response_metadata,
    usage_of,
    writing_input,
)
from langchain_cogenesis.graphs.auto import build_auto_graph
from langchain_cogenesis.graphs.sketch import (
    build_sketch_graph,
    private_run,
    result_from_state,
)
from langchain_cogenesis.graphs.state import Components, WritingInput
from langchain_cogenesis.models.structured import GrammarStructuredOutput, json_grammar
from langchain_cogenesis.models.tracing import ls_params
from langchain_cogenesis.privacy.redaction.restoration import RestoredValues
from langchain_cogenesis.privacy.tracing.private import private_callbacks
from langchain_cogenesis.privacy.tracing.privately_traced import PrivatelyTracedChatModel
from langchain_cogenesis.schema import WritingResult


class ChatCoGenesis(GrammarStructuredOutput, PrivatelyTracedChatModel):
    """CoGenesis (sketch-based by default) behind LangChain's chat-model interface.

    The last human message is the instruction. Messages flagged
    ``additional_kwargs={"private": True}`` are its private part; without one, the
    instruction is split into public and private parts on the device. System
    messages and the earlier turns are part of the request as in any chat model: the
    local model reads them all; the cloud's requests (the sketch, a cloud answer,
    fusion's public prompt) carry them too, each message screened at the egress guard
    like the instruction, so a private fact in the history is redacted (or the
    request blocked) by the policy; a message flagged private never goes. The user comes
    from the call's config (``config={"configurable": {"user_id": ...}}``), a
    ``user_id=`` call argument, or the ``user_id`` field, in that order; their private
    context is retrieved from ``store`` and never leaves the device.

    Key init args:
        model, base_url, api_key, timeout, max_retries: the cloud, as for ``ChatOpenAI``
            (defaults ``COGENESIS_CLOUD_MODEL``, ``COGENESIS_CLOUD_BASE_URL``,
            ``COGENESIS_CLOUD_API_KEY``); or pass ``egress_guard`` instead.
        max_tokens, temperature: bound and sampling of the answer (the local writer's).
        store: the private store (default: ``PrivateStore()`` under ``COGENESIS_HOME``).
        local_model: the local chat model (default ``ChatLocalLlama``).
        egress_guard: the door to the cloud (default from ``COGENESIS_CLOUD_BASE_URL``).
            Defaults are built at the first call and reused by later ones.
        mode: ``sketch`` (default), ``fusion``, ``local``, ``cloud-public``, or ``auto``
            (a route per request, docs/auto-router.md).
        checkpointer: for ``mode="auto"``, keeps each thread's state (the config's
            ``thread_id``), so a thread that turned sensitive stays local.
        k, max_tokens, sketch_max_tokens, policy: as in :class:`Components`.
        restored_values: values restored on the device earlier in the conversation
            this call belongs to (:attr:`PrivacyMiddleware.restored_values
            <langchain_cogenesis.graphs.PrivacyMiddleware.restored_values>`): every
            cloud request of the call is screened for them too, and they go out as
            placeholders (audited as ``restored:<TYPE>``), or not at all.

    Instantiate:
        .. code-block:: python

            from langchain_cogenesis.graphs import ChatCoGenesis

            model = ChatCoGenesis(store=store, egress_guard=guard, max_tokens=200)

    Invoke:
        .. code-block:: python

            model.invoke(
                "Write a welcome speech for the harvest festival",
                config={"configurable": {"user_id": "maya-okafor"}},
            )

    Response metadata carries the mode, what was sent to the cloud
    (``cloud_payloads``) and why the cloud was skipped, when it was.

    Each call is one run of the sketch graph without a checkpointer: nothing of a
    call stays in memory after it (for resumable runs, use the graph with a
    checkpointer, see :func:`~langchain_cogenesis.graphs.run_sketch_graph`).

    Tracing: with ``LANGSMITH_TRACING=true`` or any callback handler, the model's run
    and the graph run under it trace through the scrubber of
    :mod:`~langchain_cogenesis.privacy.tracing.private`: private text reaches a tracer only as
    a keyed digest; streaming to the caller (``stream``, ``astream_events``) gets the
    real text.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)
    grammar_in_call: ClassVar[bool] = False  # the schema goes on to the local writer

    model_name: str | None = Field(default=None, alias="model")
    """The cloud model, as ``ChatOpenAI(model=...)``; default ``COGENESIS_CLOUD_MODEL``."""
    base_url: str | None = None
    """The cloud's OpenAI-compatible endpoint; default ``COGENESIS_CLOUD_BASE_URL``."""
    api_key: SecretStr | None = None
    """The cloud's key; default ``COGENESIS_CLOUD_API_KEY`` or ``OPENAI_API_KEY``."""
    store: Any = None
    local_model: Any = None
    egress_guard: Any = None
    user_id: str = ""
    mode: str = "sketch"
    k: int = Field(default=4, ge=1)
    max_tokens: int = Field(default=256, ge=1)
    sketch_max_tokens: int = Field(default=256, ge=1)
    temperature: float | None = None
    stop: list[str] | None = None
    timeout: float | None = None
    max_retries: int | None = None
    policy: str | None = None
    streaming: bool = False
    checkpointer: Any = None
    restored_values: RestoredValues | None = None
    allow_remote_local_model: bool = False
    """Accept a ``local_model`` whose endpoint is another host (refused by default)."""
    degrade_on_cloud_error: bool = False
    """When the cloud fails, write locally alone (``response_metadata["degraded"]``)
    instead of raising the typed ``CloudError``."""
    _graph: Any = PrivateAttr(default=None)
    # default parts built at the first call and reused (a guard holds a connection
    # pool, a store an open database); rebuilt when the environment changes
    _defaults: BoundedCache[tuple[object, ...], Any] = PrivateAttr(
        default_factory=lambda: BoundedCache(max_size=8, max_age=3600.0)
    )

    def __init__(self, **kwargs: Any) -> None:
        check_arguments(type(self), kwargs)
        cloud = [
            name for name in ("model", "model_name", "base_url", "api_key") if kwargs.get(name)
        ]
        if cloud and kwargs.get("egress_guard") is not None:
            raise ConfigurationError(
                f"ChatCoGenesis got egress_guard= and {', '.join(cloud)}=: the guard already "
                "names its cloud. Pass the cloud's model, base_url and api_key to the guard, "
                "or leave egress_guard out."
            )
        super().__init__(**kwargs)

    @property
    def _llm_type(self) -> str:
        return "cogenesis-sketch"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "mode": self.mode, "k": self.k}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return ls_params(
            "cogenesis",
            self.model_name or Settings.from_env().cloud_model,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            stop=stop or self.stop,
            overrides=kwargs,
        )

    def get_num_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the local model's own tokenizer (offline)."""
        return int(self._local(self.max_tokens).get_num_tokens(text))

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Tokens of ``messages`` as the local model reads them (its chat template)."""
        return int(self._local(self.max_tokens).get_num_tokens_from_messages(messages))

    def _local(self, max_tokens: int) -> Any:
        if self.local_model is not None:
            return self.local_model
        return self._defaults.get_or_create(
            ("local", max_tokens, self.temperature), lambda: self._default_local(max_tokens)
        )

    def components(self, **kwargs: Any) -> Components:
        """The graph's run-time context for one call (defaults reused across calls)."""
        from langchain_cogenesis.graphs.defaults import default_store

        max_tokens = int(kwargs.get("max_tokens", self.max_tokens))
        local = self._local(max_tokens)
        schema = kwargs.get("structured_schema")
        if schema is not None:
            if not hasattr(local, "check_model_file"):  # grammars are llama.cpp's
                raise ConfigurationError(
                    "Structured output needs a llama.cpp local model (ChatLocalLlama): the "
                    f"JSON-schema grammar runs in its sampler, and {type(local).__name__} has none."
                )
            local = local.bind(grammar=json_grammar(schema))
        guard = self.egress_guard
        if guard is None and self.mode != "local":
            guard = self._default_guard()
        restored = self.restored_values.detectors() if self.restored_values is not None else []
        if guard is not None and restored:
            # a view of the guard for this call: the conversation's restored values
            # are found at the one door, whatever node sends the request
            guard = guard.with_detectors(restored)
        return Components(
            store=self.store or default_store(),
            local_model=local,
            egress_guard=guard,
            k=self.k,
            sketch_max_tokens=self.sketch_max_tokens,
            answer_max_tokens=max_tokens,
            fusion_max_tokens=max_tokens,
            policy=self.policy,  # type: ignore[arg-type]
            allow_remote_local_model=self.allow_remote_local_model,
            degrade_on_cloud_error=self.degrade_on_cloud_error,
        )

    def _default_local(self, max_tokens: int) -> Any:
        from langchain_cogenesis.models import ChatLocalLlama

        local = ChatLocalLlama(max_tokens=max_tokens)
        if self.temperature is not None:
            local.temperature = self.temperature
        return local

    def _default_guard(self) -> Any:
        from langchain_cogenesis.privacy import EgressGuard

        settings = Settings.from_env()
        base_url = self.base_url or settings.cloud_base_url
        model = self.model_name or settings.cloud_model
        key = self.api_key.get_secret_value() if self.api_key else None
        cache_key = (
            "guard",
            base_url,
            model,
            key or settings.secret("cloud_api_key"),
            str(settings.home),
        )
        return self._defaults.get_or_create(
            cache_key,
            lambda: EgressGuard(
                base_url=base_url,
                model=model,
                api_key=key,
                timeout=self.timeout,
                max_retries=self.max_retries,
            ),
        )

    def request(self, messages: Sequence[BaseMessage], **kwargs: Any) -> WritingInput:
        """The graph input: the user and the instruction's parts."""
        configurable = ensure_config().get("configurable", {})
        user_id = str(configurable.get("user_id") or kwargs.get("user_id") or self.user_id)
        if not user_id:
            raise InvalidInstruction(
                "ChatCoGenesis needs a user: pass config={'configurable': {'user_id': ...}}, "
                "user_id=..., or set the user_id field."
            )
        return writing_input(
            messages, user_id, self.mode, release_thread=bool(kwargs.get("release_thread"))
        )

    def invoke(self, input: Any, config: Any = None, *, stop: Any = None, **kwargs: Any) -> Any:
        """As any chat model; ``config["configurable"]["user_id"]`` names the user."""
        return super().invoke(input, config, stop=stop, **call_arguments(config, kwargs))

    async def ainvoke(
        self, input: Any, config: Any = None, *, stop: Any = None, **kwargs: Any
    ) -> Any:
        """As :meth:`invoke`, asynchronously."""
        return await super().ainvoke(input, config, stop=stop, **call_arguments(config, kwargs))

    def stream(self, input: Any, config: Any = None, *, stop: Any = None, **kwargs: Any) -> Any:
        """As any chat model; ``config["configurable"]["user_id"]`` names the user."""
        config, kwargs = self._nested(config, call_arguments(config, kwargs))
        return super().stream(input, config, stop=stop, **kwargs)

    def astream(self, input: Any, config: Any = None, *, stop: Any = None, **kwargs: Any) -> Any:
        """As :meth:`stream`, asynchronously."""
        config, kwargs = self._nested(config, call_arguments(config, kwargs))
        return super().astream(input, config, stop=stop, **kwargs)

    def _nested(
        self, config: RunnableConfig | None, kwargs: dict[str, Any]
    ) -> tuple[RunnableConfig, dict[str, Any]]:
        """A streamed call's run id, fixed here and handed to ``_stream``.

        LangChain's ``stream`` gives ``_stream`` no run manager, so the graph run would
        nest under the caller's run instead of this model's: this model's run gets the
        id chosen here, and ``_stream`` builds the graph's callbacks under it.
        """
        config = ensure_config(config)
        run_id = config.get("run_id") or uuid7()
        config["run_id"] = run_id
        return config, {**kwargs, _NESTING: (run_id, config)}

    def _get_invocation_params(self, stop: list[str] | None = None, **kwargs: Any) -> dict:  # type: ignore[type-arg]
        kwargs.pop(_NESTING, None)  # plumbing, not a parameter of the call
        return super()._get_invocation_params(stop=stop, **kwargs)

    def _stream_children(self, nesting: Any) -> CallbackManager | None:
        """Callbacks for the graph run of a streamed call, nested under its run."""
        if nesting is None:
            return None
        run_id, config = nesting
        manager = CallbackManager.configure(
            config.get("callbacks"),
            self.callbacks,
            self.verbose,
            config.get("tags"),
            self.tags,
            config.get("metadata"),
            self.metadata,
        )
        # scrubbed as the model's own run is (the graph's runs scrub again: idempotent)
        return nested_callbacks(private_callbacks(manager), run_id)

    def _graph_once(self) -> Any:
        if self._graph is None:
            # one-shot calls: a checkpointer would keep every call's state forever
            self._graph = build_sketch_graph(checkpointer=None)
            if self.mode == "auto":  # threads are kept only with a checkpointer given
                self._graph = build_auto_graph(checkpointer=self.checkpointer)
        return self._graph

    def _run(
        self, run_manager: CallbackManagerForLLMRun | None, nesting: Any = None, **kwargs: Any
    ) -> tuple[Any, dict[str, Any]]:
        parts = self.components(**kwargs)
        config: dict[str, Any] = {}
        thread_id = kwargs.get("thread_id")
        if self.mode == "auto" and self.checkpointer is not None and thread_id:
            config["configurable"] = {"thread_id": thread_id}
        # the graph run nests under this model's run
        if run_manager is not None:
            config["callbacks"] = nested_callbacks(run_manager, run_manager.run_id)
        elif (children := self._stream_children(nesting)) is not None:
            config["callbacks"] = children
        return parts, config

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self.request(messages, **kwargs)
        parts, config = self._run(run_manager, **kwargs)
        graph = self._graph_once()
        with private_run(parts):
            state = graph.invoke(request, config=config, context=parts)
        result = result_from_state(state)
        text = cut_at_stop(result.answer, stop or self.stop)
        message = AIMessage(
            content=text,
            response_metadata=self._metadata(result),
            usage_metadata=usage_of(result),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        nesting = kwargs.pop(_NESTING, None)
        request = self.request(messages, **kwargs)
        parts, config = self._run(run_manager, nesting, **kwargs)
        graph = self._graph_once()
        stops = stop or self.stop or []
        shown = ""
        final: dict[str, Any] = {}
        with private_run(parts):
            events = graph.stream(
                request, config=config, context=parts, stream_mode=["messages", "values"]
            )
            for kind, event in events:
                if kind == "values":
                    final = event  # the state after each step; the last one is the result
                    continue
                chunk, metadata = event
                if metadata.get("langgraph_node") not in ("write", "cloud_answer"):
                    continue
                text = str(getattr(chunk, "content", "") or "")
                if not text:
                    continue
                whole = cut_at_stop(shown + text, stops)
                stopped = len(whole) < len(shown + text)
                delta = whole[len(shown) :]
                if delta:
                    piece = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                    if run_manager:
                        run_manager.on_llm_new_token(delta, chunk=piece)
                    yield piece
                    shown = whole
                if stopped:
                    break
        result = result_from_state(final)
        rest = cut_at_stop(result.answer, stops)
        if not shown and rest:  # fused and cloud answers arrive whole
            yield ChatGenerationChunk(message=AIMessageChunk(content=rest))
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                response_metadata=self._metadata(result),
                usage_metadata=usage_of(result),
                chunk_position="last",
            )
        )

    def _metadata(self, result: WritingResult) -> dict[str, Any]:
        return response_metadata(result, self.model_name or Settings.from_env().cloud_model)


_NESTING = "_cogenesis_stream_run"
"""The keyword that carries a streamed call's run id from ``stream`` to ``_stream``."""
