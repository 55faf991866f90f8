"""The private store, its retriever, local embeddings and loaders for private sources.

Installed as ``langchain_cogenesis.retrievers``.
"""

from langchain_cogenesis.retrievers.embeddings import LocalEmbeddings
from langchain_cogenesis.retrievers.loaders import load_sources
from langchain_cogenesis.retrievers.retriever import PrivateContextRetriever
from langchain_cogenesis.retrievers.server import chroma_server
from langchain_cogenesis.retrievers.store import PrivateStore

__all__ = [
    "LocalEmbeddings",
    "PrivateContextRetriever",
    "PrivateStore",
    "chroma_server",
    "load_sources",
]
