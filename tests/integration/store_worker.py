"""Store operations in a process of their own, for the restart and multi-process tests.

    python -m tests.integration.store_worker write STORE N
    python -m tests.integration.store_worker read STORE N
    python -m tests.integration.store_worker ingest STORE_OR_URL USER N

Vectors come from a deterministic hash embedding: what is tested is the store's
persistence and locking, which do not depend on the embedding model, and thousands
of chunks embed in a second.
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from langchain_cogenesis.errors import StoreError
from langchain_cogenesis.retrievers import PrivateStore

DELETED = "Rosalind's tax refund of 2,317 dollars arrives on the ninth"


class HashEmbeddings(Embeddings):
    """A unit vector per text, seeded by the text's hash."""

    def _vector(self, text: str) -> list[float]:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        vector = np.random.default_rng(seed).standard_normal(64)
        return (vector / np.linalg.norm(vector)).tolist()  # type: ignore[no-any-return]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


def note(user: str, number: int) -> str:
    return f"{user} note {number}: plot {number * 7} gets water at {number % 24}:00"


def open_store(where: str) -> PrivateStore:
    if where.startswith("http"):
        return PrivateStore(chroma_url=where, embeddings=HashEmbeddings())
    return PrivateStore(where, embeddings=HashEmbeddings())


def main() -> None:
    action, where = sys.argv[1], sys.argv[2]
    try:
        store = open_store(where)
        if action == "write":
            count = int(sys.argv[3])
            docs = [Document(note("bulk", i), metadata={"source": f"n{i}"}) for i in range(count)]
            stored = store.add_documents("bulk", docs)
            store.add_documents("leaving", [Document(DELETED)])
            store.delete_user("leaving")
            print(json.dumps({"stored": stored, "users": store.list_users()}))
        elif action == "read":
            count = int(sys.argv[3])
            step = max(1, count // 100)
            misses = sum(
                store.search("bulk", note("bulk", i), k=1)[0].page_content != note("bulk", i)
                for i in range(0, count, step)
            )
            print(json.dumps({"users": store.list_users(), "count": store.count("bulk"),
                              "misses": misses}))  # fmt: skip
        elif action == "ingest":
            user, count = sys.argv[3], int(sys.argv[4])
            docs = [Document(note(user, i), metadata={"source": f"n{i}"}) for i in range(count)]
            print(json.dumps({"stored": store.add_documents(user, docs)}))
    except StoreError as error:
        print(json.dumps({"error": type(error).__name__, "message": str(error)}))
        sys.exit(3)


if __name__ == "__main__":
    main()
