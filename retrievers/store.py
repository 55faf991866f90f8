"""The private store: one Chroma collection per user, local embeddings.

Per-user isolation is structural: every user has a collection of their own, named
from a hash of the user id, and a query is only ever run against the asking user's
collection. Results are checked once more against the user id before they return.

Chroma's embedded client is thread-safe but not process-safe: writes to one store
folder are serialized, and a second writing process gets
:class:`~langchain_cogenesis.errors.StoreLocked` (``_locking.py``). Several writing
processes use a Chroma server (``chroma run``, ``COGENESIS_CHROMA_URL``), which off
loopback needs an opt-in (``_remote.py``). ``_disk.py`` checks and erases the folder.
What stays here is the store's API, one class (about 400 lines with its docstrings).
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter
from pydantic import SecretStr

from langchain_cogenesis.caches import DerivedPerUser
from langchain_cogenesis.config import Settings, shown_url
from langchain_cogenesis.errors import (
    CoGenesisError,
    ConfigurationError,
    MissingExtra,
    StoreError,
    UnknownUser,
)
from langchain_cogenesis.retrievers._disk import check_index, check_store_path, erase_leftovers
from langchain_cogenesis.retrievers._locking import (
    LOCK_FILE,
    acquire_writer,
    folder_for,
    release_writer,
)
from langchain_cogenesis.retrievers._remote import http_client
from langchain_cogenesis.retrievers.embeddings import LocalEmbeddings
from langchain_cogenesis.retrievers.loaders import user_context_documents
from langchain_cogenesis.schema import UserContext

if TYPE_CHECKING:
    from langchain_cogenesis.privacy.egress.audit import AuditLog

__all__ = [
    "COLLECTION_PREFIX",
    "DERIVED_MAX_AGE",
    "LOCK_FILE",
    "PrivateStore",
    "collection_name",
]

COLLECTION_PREFIX = "cogenesis-user-"
_BATCH = 128
DERIVED_MAX_AGE = 3600.0
"""Seconds a derived value (see :meth:`PrivateStore.derived`) is kept unused."""
T = TypeVar("T")


def collection_name(user_id: str) -> str:
    """The Chroma collection that holds ``user_id``'s documents."""
    return COLLECTION_PREFIX + hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:32]


class PrivateStore:
    """The user's private context, stored and searched on this machine.

    Key init args:
        path: folder of the embedded store; default ``$COGENESIS_HOME/store``.
        chroma_url: use a Chroma server (``http://127.0.0.1:8000``) instead of the
            embedded client; default ``COGENESIS_CHROMA_URL`` when no ``path`` is given.
            ``https://`` URLs use TLS. A server on another host holds every stored
            private document, so it needs ``allow_remote_store``.
        chroma_token: the server's token (Chroma's token auth, sent as
            ``Authorization: Bearer``); default ``COGENESIS_CHROMA_TOKEN``.
        allow_remote_store: let a Chroma server that is not on loopback hold the
            store, which moves the private context off the device; default
            ``COGENESIS_ALLOW_REMOTE_STORE``. Without it such a URL raises
            :class:`~langchain_cogenesis.errors.RemoteStoreNotAllowed` before any
            connection is made. Opening a remote store is logged and recorded in the
            audit log (purpose ``remote-store``, decision ``sent_with_private_context``).
        audit_log: where that record goes; default ``$COGENESIS_HOME/audit.sqlite3``.
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
        chroma_token: str | SecretStr | None = None,
        allow_remote_store: bool | None = None,
        audit_log: AuditLog | Literal["default"] | None = "default",
        embeddings: Embeddings | None = None,
        chunk_size: int = 600,
        chunk_overlap: int = 80,
    ) -> None:
        with MissingExtra.if_absent("local", "The private store (Chroma)"):
            import chromadb
            from chromadb.config import Settings as ChromaSettings

        settings = Settings.from_env()
        chroma_url = chroma_url or (settings.chroma_url if path is None else None)
        self.embeddings = embeddings or LocalEmbeddings()
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size, chunk_overlap=chunk_overlap
        )
        self.location: str
        self._path: Path | None = None
        self._release: weakref.finalize[Any, Any] | None = None
        try:
            if chroma_url:
                self.location = shown_url(chroma_url)
                self._client: Any = http_client(
                    chroma_url,
                    token=chroma_token or settings.chroma_token,
                    allow_remote=settings.allow_remote_store
                    if allow_remote_store is None
                    else allow_remote_store,
                    audit_log=audit_log,
                )
            else:
                store_path = Path(path) if path is not None else settings.store_path
                check_store_path(store_path)
                store_path.mkdir(parents=True, exist_ok=True)
                self._path = store_path.resolve()
                self.location = str(self._path)
                self._client = chromadb.PersistentClient(
                    path=str(store_path), settings=ChromaSettings(anonymized_telemetry=False)
                )
        except CoGenesisError:
            raise
        except Exception as error:
            where = shown_url(chroma_url) if chroma_url else path
            raise StoreError(
                f"Could not open the private store at {where}: {type(error).__name__}: {error}"
            ) from error
        self._folder = folder_for(self.location)
        # what detectors derive from a user's documents: dropped when this store adds
        # or deletes the user's documents, rebuilt when another writer changed them
        self._derived = DerivedPerUser(max_size=256, max_age=DERIVED_MAX_AGE)

    # -- values derived from a user's documents ------------------------------------

    def derived(self, user_id: str, name: str, build: Callable[[list[Document]], T]) -> T:
        """``build(self.documents(user_id))``, computed once and kept with the store
        until ``user_id``'s documents change (the leak detector's index, the stored
        facts' embeddings).

        Raises:
            UnknownUser: nothing is stored for ``user_id`` (what was kept is dropped).
        """
        try:
            size = self.count(user_id)
        except UnknownUser:
            self.forget(user_id)
            raise
        return self._derived.get(user_id, name, size, lambda: build(self.documents(user_id)))

    def forget(self, user_id: str) -> None:
        """Drop what this store derived from ``user_id``'s documents."""
        self._derived.forget(user_id)

    # -- process safety ----------------------------------------------------------

    @contextmanager
    def _writes(self) -> Iterator[None]:
        """Serialize writes in this process and hold the folder's lock file."""
        with self._folder.write_lock:
            if self._path is not None and not (self._release and self._release.alive):
                acquire_writer(self._path, self._folder)
                # released when this store is closed or garbage-collected
                self._release = weakref.finalize(self, release_writer, self._folder)
            with self._chroma_errors("write to"):
                yield

    def close(self) -> None:
        """Give up this store's hold on the folder's writer lock (reads still work)."""
        if self._release is not None:
            self._release()  # runs once; later calls and collection do nothing

    def __enter__(self) -> PrivateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _chroma_errors(self, action: str) -> Iterator[None]:
        """Chroma's own failures become :class:`StoreError` naming the store."""
        try:
            yield
        except CoGenesisError:
            raise
        except Exception as error:
            raise StoreError(
                f"Could not {action} the store at {self.location} "
                f"({type(error).__name__}: {error}). Nothing stored was changed by this "
                "error; if it repeats, the store may be damaged: restore it from a backup."
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
        with self._chroma_errors("list the users of"):
            collections = self._client.list_collections()
        for collection in collections:
            if collection.name.startswith(COLLECTION_PREFIX):
                user_id = (collection.metadata or {}).get("user_id")
                if isinstance(user_id, str):
                    users.append(user_id)
        return sorted(users)

    def count(self, user_id: str) -> int:
        """Number of stored chunks for ``user_id``."""
        collection = self._collection(user_id)
        with self._chroma_errors("count in"):
            return int(collection.count())

    def delete_user(self, user_id: str) -> None:
        """Remove every vector and document of ``user_id``, also from the disk.

        Chroma leaves a deleted collection's index folder and the freed database pages
        (which still hold the text) on disk; both are erased here. This is the store
        alone: :func:`~langchain_cogenesis.privacy.erasure.erase_user` (``cogenesis
        users delete``) also erases the user's audit payloads, checkpoints and caches.
        """
        self._collection(user_id)  # raises UnknownUser
        self.forget(user_id)
        with self._writes():
            self._client.delete_collection(collection_name(user_id))
            self._folder.checked.discard(collection_name(user_id))
            if self._path is not None:
                erase_leftovers(self._path)

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
        self.forget(user_id)
        with self._writes():
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
        collection = self._collection(user_id)
        with self._chroma_errors("read from"):
            found = collection.get(include=["documents", "metadatas"])
        return [
            Document(page_content=text, metadata=dict(metadata or {}))
            for text, metadata in zip(found["documents"], found["metadatas"], strict=True)
            if (metadata or {}).get("user_id") == user_id
        ]

    def search(self, user_id: str, query: str, k: int = 4) -> list[Document]:
        """The ``k`` chunks of ``user_id`` closest to ``query``, best first."""
        if not isinstance(k, int) or k <= 0:
            raise ConfigurationError(f"k must be an integer of at least 1, not {k!r}.")
        collection = self._collection(user_id)
        with self._chroma_errors("search"):
            check_index(user_id, collection, location=self.location, checked=self._folder.checked)
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
