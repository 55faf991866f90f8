"""LangGraph's PostgreSQL savers with every channel value encrypted (server extra).

``PostgresSaver.put`` keeps a checkpoint's strings, numbers and booleans in the plain
``checkpoints.checkpoint`` JSONB column and only other values in the serialized
``checkpoint_blobs``. These savers wrap the short values (:class:`Sealed`) so that
they are stored as blobs too, through the encrypting serializer; reading needs no
change, since blobs come back through the serializer as the values they were.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import Checkpoint, CheckpointMetadata

from langchain_cogenesis.errors import MissingExtra
from langchain_cogenesis.graphs.encryption import Sealed

with MissingExtra.if_absent("server", "The PostgreSQL checkpointer"):
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver


def sealed(checkpoint: Checkpoint) -> Checkpoint:
    """``checkpoint`` with its short values wrapped, so they go through the serializer."""
    values = {
        name: Sealed(value) if isinstance(value, str | int | float | bool) else value
        for name, value in checkpoint["channel_values"].items()
    }
    return {**checkpoint, "channel_values": values}


class EncryptedPostgresSaver(PostgresSaver):
    """``PostgresSaver`` whose every channel value goes through its serializer."""

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: Any,
    ) -> RunnableConfig:
        return super().put(config, sealed(checkpoint), metadata, new_versions)


class AsyncEncryptedPostgresSaver(AsyncPostgresSaver):
    """``AsyncPostgresSaver`` whose every channel value goes through its serializer."""

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: Any,
    ) -> RunnableConfig:
        return await super().aput(config, sealed(checkpoint), metadata, new_versions)
