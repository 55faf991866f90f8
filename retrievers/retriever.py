"""``PrivateContextRetriever``: a LangChain retriever over one user's private store."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig
from pydantic import ConfigDict, Field

from langchain_cogenesis.privacy.tracing.private import private_config
from langchain_cogenesis.retrievers.store import PrivateStore


class PrivateContextRetriever(BaseRetriever):
    """Retrieve a user's private context from the local store. Runs on the device.

    Key init args:
        store: the :class:`PrivateStore` to search.
        user_id: whose context to search; can also be passed per call as ``user_id=``.
        k: number of chunks to return.

    Instantiate:
        .. code-block:: python

            from langchain_cogenesis.retrievers import PrivateContextRetriever, PrivateStore

            retriever = PrivateContextRetriever(store=PrivateStore(), user_id="maya-okafor", k=4)

    Invoke:
        .. code-block:: python

            retriever.invoke("a speech for the garden's anniversary")

    Its runs trace through the scrubber of :mod:`~langchain_cogenesis.privacy.tracing.private`:
    a tracer sees how many documents came back, not their text.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: PrivateStore
    user_id: str | None = None
    k: int = Field(default=4, ge=1)

    def invoke(
        self, input: str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> list[Document]:
        """Retrieve ``input``'s private context (``user_id=`` and ``k=`` per call)."""
        return super().invoke(input, private_config(config), **kwargs)

    async def ainvoke(
        self, input: str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> list[Document]:
        """As :meth:`invoke`, asynchronously."""
        return await super().ainvoke(input, private_config(config), **kwargs)

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        **kwargs: Any,
    ) -> list[Document]:
        user_id = kwargs.get("user_id") or self.user_id
        if not user_id:
            raise ValueError("PrivateContextRetriever needs a user_id (field or call argument).")
        return self.store.search(user_id, query, k=int(kwargs.get("k", self.k)))
