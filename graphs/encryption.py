"""Checkpoints encrypted at rest: LangGraph's ``EncryptedSerializer`` with AES-GCM.

A checkpoint holds a run's private context, private instruction and answer. The
savers of this module write none of it in clear text:

- :func:`checkpoint_serde` is LangGraph's ``EncryptedSerializer`` over
  :class:`CheckpointCipher` (AES-GCM, key from ``COGENESIS_CHECKPOINT_KEY``);
- LangGraph's PostgreSQL savers keep short values (strings, numbers) of a checkpoint
  in a plain JSONB column, outside the serializer; the savers of
  :mod:`~langchain_cogenesis.graphs._sealed_postgres` (which
  :func:`~langchain_cogenesis.graphs.checkpointers.postgres_checkpointer` builds when encrypting)
  hand those to the serializer too, so the answer and the private instruction are
  encrypted like every other value;
- :func:`served_checkpointer` is the checkpointer ``langgraph.json`` gives LangGraph
  Server: PostgreSQL when ``COGENESIS_POSTGRES_URI`` is set, else SQLite at
  ``$COGENESIS_HOME/served-threads.sqlite3``; it refuses to start without a key.

What stays readable: thread ids, checkpoint ids, step numbers, channel names and
versions, and the checkpoint metadata (the run's source, step and configurable keys).

Key rotation: put the new key in ``COGENESIS_CHECKPOINT_KEY`` and the old one in
``COGENESIS_CHECKPOINT_OLD_KEYS`` (comma-separated); new checkpoints use the new key,
old ones stay readable. Each ciphertext names its key by an 8-hex-digit id (a hash,
not the key).

Setup:
    .. code-block:: bash

        pip install 'langchain-cogenesis[server]'
        export COGENESIS_CHECKPOINT_KEY=$(cogenesis tokens new-key)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langgraph.checkpoint.serde.base import CipherProtocol
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langchain_cogenesis.errors import CheckpointKeyMissing, ConfigurationError, MissingExtra

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

KEY_VARIABLE = "COGENESIS_CHECKPOINT_KEY"
OLD_KEYS_VARIABLE = "COGENESIS_CHECKPOINT_OLD_KEYS"
_CIPHER = "aesgcm"
_NONCE_BYTES = 12
_FEATURE = "Encrypted checkpoints"


def parse_key(text: str, *, source: str = KEY_VARIABLE) -> bytes:
    """A key given as base64 of 16, 24 or 32 bytes."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(
            f"{source} is not base64; use `cogenesis tokens new-key` to make a key."
        ) from None
    if len(key) not in (16, 24, 32):
        raise ConfigurationError(f"{source} holds {len(key)} bytes; an AES key has 16, 24 or 32.")
    return key


def key_id(key: bytes) -> str:
    """The name a ciphertext gives its key: 8 hex digits of a hash, not the key."""
    return hashlib.sha256(b"cogenesis-checkpoint-key:" + key).hexdigest()[:8]


class CheckpointCipher(CipherProtocol):
    """AES-GCM with a current key and older keys that still decrypt.

    Key init args:
        key: the key new checkpoints are encrypted with.
        previous: older keys, for checkpoints written before a rotation.
    """

    def __init__(self, key: bytes, previous: Sequence[bytes] = ()) -> None:
        with MissingExtra.if_absent("server", _FEATURE):
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        self._current = key_id(key)
        self._keys = {key_id(each): AESGCM(each) for each in (key, *previous)}

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        """Seal with the current key; the name carries the key's id."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._keys[self._current].encrypt(nonce, plaintext, None)
        return f"{_CIPHER}.{self._current}", nonce + sealed

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        """Open with the key the name points to (current or previous)."""
        from cryptography.exceptions import InvalidTag

        name, _, kid = ciphername.partition(".")
        aead = self._keys.get(kid) if name == _CIPHER else None
        if aead is None:
            raise ConfigurationError(
                f"A checkpoint is encrypted with key {kid or ciphername!r}, which is not "
                f"configured: add it to {OLD_KEYS_VARIABLE}."
            )
        try:
            return aead.decrypt(ciphertext[:_NONCE_BYTES], ciphertext[_NONCE_BYTES:], None)
        except InvalidTag:
            raise ConfigurationError(
                f"A checkpoint encrypted with key {kid} fails its integrity check: it was "
                "altered, or the key under that id is not the one it was written with."
            ) from None


class Sealed:
    """A short value that a PostgreSQL saver would otherwise keep in clear text
    (:mod:`~langchain_cogenesis.graphs._sealed_postgres` wraps them)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _SealingSerializer(EncryptedSerializer):
    """``EncryptedSerializer`` that also takes the values :class:`Sealed` wraps."""

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        return super().dumps_typed(obj.value if isinstance(obj, Sealed) else obj)


def checkpoint_serde(
    key: bytes | str | None = None,
    *,
    previous: Sequence[bytes | str] = (),
    required: bool = False,
    environ: Mapping[str, str] | None = None,
) -> EncryptedSerializer | None:
    """LangGraph's ``EncryptedSerializer`` with :class:`CheckpointCipher`.

    Args:
        key: the key (bytes, or base64 text); default ``COGENESIS_CHECKPOINT_KEY``.
        previous: older keys; default ``COGENESIS_CHECKPOINT_OLD_KEYS``.
        required: raise when no key is configured, instead of returning ``None``.

    Raises:
        CheckpointKeyMissing: ``required`` and no key.
        ConfigurationError: a key that is not base64 of 16, 24 or 32 bytes.
    """
    if key is None:
        from langchain_cogenesis.config import Settings

        settings = Settings.from_env(environ)
        key = settings.secret("checkpoint_key")
        if not previous:
            old = settings.secret("checkpoint_old_keys") or ""
            previous = [part for part in old.split(",") if part.strip()]
    if key is None:
        if required:
            raise CheckpointKeyMissing("Checkpoints")
        return None
    current = parse_key(key) if isinstance(key, str) else key
    older = [parse_key(k, source=OLD_KEYS_VARIABLE) if isinstance(k, str) else k for k in previous]
    return _SealingSerializer(CheckpointCipher(current, older), JsonPlusSerializer())


SERVED_SQLITE = "served-threads.sqlite3"


@asynccontextmanager
async def served_checkpointer() -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """The checkpointer of the served graphs (``langgraph.json``), encrypted at rest.

    PostgreSQL when ``COGENESIS_POSTGRES_URI`` is set (the scale-out database), else
    SQLite at ``$COGENESIS_HOME/served-threads.sqlite3``, which erasure knows.

    Raises:
        CheckpointKeyMissing: ``COGENESIS_CHECKPOINT_KEY`` is not set.
    """
    serde = checkpoint_serde(required=True)
    from langchain_cogenesis.config import Settings

    settings = Settings.from_env()
    uri = settings.secret("postgres_uri")
    if uri:
        from langchain_cogenesis.graphs.checkpointers import async_postgres_checkpointer

        postgres = await async_postgres_checkpointer(uri, encryption=serde)
        try:
            yield postgres
        finally:
            await postgres.conn.close()
        return
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = Path(settings.home) / SERVED_SQLITE
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(str(path)) as connection:
        saver = AsyncSqliteSaver(connection, serde=serde)
        await saver.setup()
        yield saver
