"""The private store: one Chroma collection per user, local embeddings.

Per-user isolation is structural: every user has a collection of their own, named
from a hash of the user id, and a query is only ever run against the asking user's
collection. Results are checked once more against the user id before they return.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from langchain_cogenesis.config import Settings
from langchain_cogenesis.errors import NotAChromaStore, StoreError, UnknownUser
from langchain_cogenesis.retrievers.embeddings import LocalEmbeddings
from langchain_cogenesis.retrievers.loaders import user_context_documents
from langchain_cogenesis.schema import UserContext

COLLECTION_PREFIX = "cogenesis-user-"
_CHROMA_FILE = "chroma.sqlite3"
_BATCH = 128


def collection_name(user_id: str) -> str:
    """The Chroma collection that holds ``user_id``'s documents."""
    return COLLECTION_PREFIX + hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:32]


def _check_store_path(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise NotAChromaStore(
            f"The store path {path} is a file, not a Chroma store folder. Point "
            "COGENESIS_HOME (or the store path) at a folder."
        )
    if not path.is_dir():
        return
    chroma_file = path / _CHROMA_FILE
    if not chroma_file.exists():
        if any(path.iterdir()):
            raise NotAChromaStore(
                f"The folder {path} holds other files and no Chroma store. Nothing was "
                "changed in it; choose an empty folder or an existing store."
            )
        return
    try:
        with sqlite3.connect(f"file:{chroma_file}?mode=ro", uri=True) as connection:
            connection.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.DatabaseError as error:
        raise NotAChromaStore(
            f"{chroma_file} is not a readable Chroma database ({error}). Restore it from "
            "a backup or move it away; it was not modified."
        ) from None


class PrivateStore:
    """The user's private context, stored and searched on this machine.

    Key init args:
        path: folder of the embedded store; default ``$COGENESIS_HOME/store``.
        chroma_url: use a Chroma server (``http://127.0.0.1:8000``) instead of the
            embedded client.
        embeddings: any LangChain ``Embeddings``; default the bundled all-MiniLM-L6-v2.
        chunk_size, chunk_overlap: how long documents are split before embedding.

    Instantiate:
        .. code-block:: python

            from langchain_cogenesis.retrievers import PrivateStore
            from langchain_cogenesis.data import load_demo_users

            store = PrivateStore("/tmp/cogenesis-store")
            store.add_user_context(load_demo_users()[0])

    Search:
        .. code-block:: python

            store.search("maya-okafor", "a speech for the community garden", k=4)
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        chroma_url: str | None = None,
        embeddings: Embeddings | None = None,
        chunk_size: int = 600,
        chunk_overlap: int = 80,
    ) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = Settings.from_env()
        chroma_url = chroma_url or (settings.chroma_url if path is None else None)
        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        self.embeddings = embeddings or LocalEmbeddings()
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size, chunk_overlap=chunk_overlap
        )
        self._write_lock = threading.Lock()
        self.location: str
        try:
            if chroma_url:
                parsed = urlparse(chroma_url)
                self.location = chroma_url
                self._client: Any = chromadb.HttpClient(
                    host=parsed.hostname or "127.0.0.1",
                    port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                    ssl=parsed.scheme == "https",
                    settings=chroma_settings,
                )
            else:
                store_path = Path(path) if path is not None else settings.store_path
                _check_store_path(store_path)
                store_path.mkdir(parents=True, exist_ok=True)
                self.location = str(store_path)
                self._client = chromadb.PersistentClient(
                    path=str(store_path), settings=chroma_settings
                )
        except StoreError:
            raise
        except Exception as error:
            raise StoreError(
                f"Could not open the private store at {chroma_url or path}: "
                f"{type(error).__name__}: {error}"
            ) from error

    # -- users -----------------------------------------------------------------

    def _collection(self, user_id: str, *, create: bool = False) -> Any:
        name = collection_name(user_id)
        if create:
            return self._client.get_or_create_collection(
                name,
                embedding_function=None,
                metadata={"user_id": user_id},
                configuration={"hnsw": {"space": "cosine"}},
            )
        try:
            return self._client.get_collection(name, embedding_function=None)
        except Exception as error:  # chromadb raises NotFoundError or ValueError
            if "does not exist" in str(error) or type(error).__name__ == "NotFoundError":
                raise UnknownUser(user_id) from None
            raise StoreError(f"Could not read the store at {self.location}: {error}") from error

    def has_user(self, user_id: str) -> bool:
        """Whether anything is stored for ``user_id``."""
        try:
            self._collection(user_id)
        except UnknownUser:
            return False
        return True

    def list_users(self) -> list[str]:
        """The ids of every user with stored context, sorted."""
        users = []
        for collection in self._client.list_collections():
            if collection.name.startswith(COLLECTION_PREFIX):
                user_id = (collection.metadata or {}).get("user_id")
                if isinstance(user_id, str):
                    users.append(user_id)
        return sorted(users)

    def count(self, user_id: str) -> int:
        """Number of stored chunks for ``user_id``."""
        return int(self._collection(user_id).count())

    def delete_user(self, user_id: str) -> None:
        """Remove every vector and document of ``user_id``."""
        self._collection(user_id)  # raises UnknownUser
        with self._write_lock:
            self._client.delete_collection(collection_name(user_id))

    # -- writing ---------------------------------------------------------------

    def chunk(self, documents: Iterable[Document]) -> list[Document]:
        """Split documents into chunks; each keeps its metadata plus a chunk index."""
        chunks: list[Document] = []
        for document in documents:
            if not document.page_content.strip():
                continue
            for index, piece in enumerate(self.splitter.split_text(document.page_content)):
                chunks.append(
                    Document(page_content=piece, metadata={**document.metadata, "chunk": index})
                )
        return chunks

    def add_documents(
        self, user_id: str, documents: Sequence[Document], *, show_progress: bool = False
    ) -> int:
        """Chunk, embed and store ``documents`` for ``user_id``; returns the chunk count.

        Adding the same document twice stores it once (ids are content hashes).
        Embedding happens before anything is written, so a failure stores nothing.
        """
        chunks = self.chunk(documents)
        if not chunks:
            return 0
        ids, texts, metadatas = [], [], []
        for chunk in chunks:
            metadata = {
                key: value
                for key, value in chunk.metadata.items()
                if isinstance(value, str | int | float | bool)
            }
            metadata["user_id"] = user_id
            digest = hashlib.sha256(
                "\x1f".join(
                    [
                        user_id,
                        str(metadata.get("source", "")),
                        str(metadata["chunk"]),
                        chunk.page_content,
                    ]
                ).encode("utf-8")
            ).hexdigest()[:32]
            ids.append(digest)
            texts.append(chunk.page_content)
            metadatas.append(metadata)
        vectors = self._embed(texts, show_progress=show_progress)
        with self._write_lock:
            collection = self._collection(user_id, create=True)
            for start in range(0, len(ids), _BATCH):
                end = start + _BATCH
                collection.upsert(
                    ids=ids[start:end],
                    documents=texts[start:end],
                    embeddings=vectors[start:end],
                    metadatas=metadatas[start:end],
                )
        return len(ids)

    def _embed(self, texts: list[str], *, show_progress: bool) -> list[list[float]]:
        from tqdm.auto import tqdm

        vectors: list[list[float]] = []
        with tqdm(
            total=len(texts), desc="embedding", unit="chunk", disable=not show_progress
        ) as bar:
            for start in range(0, len(texts), _BATCH):
                batch = texts[start : start + _BATCH]
                vectors.extend(self.embeddings.embed_documents(batch))
                bar.update(len(batch))
        return vectors

    def add_user_context(self, user: UserContext, *, show_progress: bool = False) -> int:
        """Store a whole :class:`UserContext` (profile, details, logs, writings)."""
        return self.add_documents(
            user.user_id, user_context_documents(user), show_progress=show_progress
        )

    # -- reading ---------------------------------------------------------------

    def documents(self, user_id: str) -> list[Document]:
        """Every stored chunk of ``user_id`` (for building leak detectors)."""
        found = self._collection(user_id).get(include=["documents", "metadatas"])
        return [
            Document(page_content=text, metadata=dict(metadata or {}))
            for text, metadata in zip(found["documents"], found["metadatas"], strict=True)
            if (metadata or {}).get("user_id") == user_id
        ]

    def search(self, user_id: str, query: str, k: int = 4) -> list[Document]:
        """The ``k`` chunks of ``user_id`` closest to ``query``, best first."""
        if k <= 0:
            raise ValueError(f"k must be at least 1, got {k}")
        collection = self._collection(user_id)
        size = collection.count()
        if size == 0:
            return []
        found = collection.query(
            query_embeddings=[self.embeddings.embed_query(query)],
            n_results=min(k, size),
            include=["documents", "metadatas", "distances"],
        )
        documents = []
        for text, metadata, distance in zip(
            found["documents"][0], found["metadatas"][0], found["distances"][0], strict=True
        ):
            if (metadata or {}).get("user_id") != user_id:
                raise StoreError(
                    f"Isolation check failed: a result for {user_id!r} belongs to another "
                    "user. The store may be damaged; nothing was returned."
                )
            documents.append(
                Document(page_content=text, metadata={**(metadata or {}), "distance": distance})
            )
        return documents
