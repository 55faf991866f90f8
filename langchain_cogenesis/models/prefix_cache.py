"""A user's stable prompt prefix, kept as llama.cpp state between that user's requests.

Every writer prompt of one user starts the same way: the system prompt, then the
user's profile and writing history, and only then the sketch and the task (see
:func:`~langchain_cogenesis.prompts.writer_messages`). llama.cpp already skips the
part of a prompt that the *last* sequence it evaluated shares; once another user's
request (or a scorer) ran in between, the whole prompt is read again. A
:class:`PrefixCache` keeps, per user, the KV cache of that stable part
(``llama_state_seq_get_data``: the sequence's keys and values, no logits), so the
user's next request loads it and reads only the rest.

It belongs to the loaded model whose context it saves
(:attr:`~langchain_cogenesis.models.loader.LoadedModel.prefix_cache`), so a state is
only ever loaded into the file, window and adapter it was computed with. It holds one
entry per user, least recently used first out, and at most ``max_bytes`` in all; an
entry dropped (evicted, replaced, or forgotten when the user is erased) has its bytes
overwritten with zeros first. Which part of a prompt is stable is
:class:`~langchain_cogenesis.models.local.ChatLocalLlama`'s decision (it compares
the token ids of the user's requests); this module stores and moves the bytes.
"""

from __future__ import annotations

import ctypes
import threading
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llama_cpp import Llama

DEFAULT_PREFIX_CACHE_BYTES = 256 * 2**20
"""The default bound on the states one loaded model keeps, all users together."""

_SEQUENCE = 0  # the package evaluates one sequence per context


@dataclass
class PrefixEntry:
    """One user's saved prefix: its token ids, their KV state, and the last prompt.

    ``tokens`` is always a prefix of ``last_prompt``, the ids of the user's latest
    request, which the next request is compared with to learn which part stays.
    """

    tokens: array[int]
    state: bytearray
    last_prompt: array[int]

    @property
    def nbytes(self) -> int:
        """The memory this entry holds (state and token ids)."""
        ids = len(self.tokens) * self.tokens.itemsize
        return len(self.state) + ids + len(self.last_prompt) * self.last_prompt.itemsize

    def wipe(self) -> None:
        """Overwrite the state with zeros (the bytes are the user's prompt, encoded)."""
        if self.state:
            ctypes.memset(
                (ctypes.c_uint8 * len(self.state)).from_buffer(self.state), 0, len(self.state)
            )


class PrefixCache:
    """Saved prompt prefixes of one loaded model: one per user, bounded in bytes, LRU.

    Use it with the model's lock held (the states are loaded into and read from its
    context); the cache's own lock keeps its bookkeeping whole on its own.
    """

    def __init__(self, max_bytes: int = DEFAULT_PREFIX_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, PrefixEntry] = OrderedDict()
        self._lock = threading.Lock()
        self.live_user: str | None = None
        """The user whose prefix was last loaded into or saved from the context."""

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._entries

    @property
    def nbytes(self) -> int:
        """The memory all entries hold."""
        with self._lock:
            return sum(entry.nbytes for entry in self._entries.values())

    def get(self, user_id: str) -> PrefixEntry | None:
        """The user's entry (now the most recently used), or ``None``."""
        with self._lock:
            entry = self._entries.get(user_id)
            if entry is not None:
                self._entries.move_to_end(user_id)
            return entry

    def put(self, user_id: str, entry: PrefixEntry, max_bytes: int | None = None) -> bool:
        """Keep ``entry`` as the user's (replacing and wiping the old one), then drop
        the least recently used entries until at most ``max_bytes`` (default: the
        cache's own bound, which a value given here replaces) are held. An entry
        larger than the bound is not kept. Returns whether it was kept."""
        with self._lock:
            if max_bytes is not None:
                self.max_bytes = max_bytes
            old = self._entries.pop(user_id, None)
            if old is not None and old is not entry:
                old.wipe()
            if entry.nbytes > self.max_bytes:
                entry.wipe()
                self._trim()
                return False
            self._entries[user_id] = entry
            self._trim()
            return True

    def remember_prompt(self, user_id: str, prompt: Sequence[int]) -> None:
        """Record the user's latest prompt ids (what the next request is compared with)."""
        with self._lock:
            entry = self._entries.get(user_id)
            if entry is not None:
                entry.last_prompt = array("i", prompt)
                self._trim()

    def forget(self, user_id: str) -> int:
        """Drop (and wipe) the user's entry; how many were dropped (0 or 1)."""
        with self._lock:
            entry = self._entries.pop(user_id, None)
            if entry is None:
                return 0
            entry.wipe()
            return 1

    def clear(self) -> None:
        """Drop (and wipe) every entry."""
        with self._lock:
            for entry in self._entries.values():
                entry.wipe()
            self._entries.clear()
            self.live_user = None

    def _trim(self) -> None:
        total = sum(entry.nbytes for entry in self._entries.values())
        while total > self.max_bytes and self._entries:
            _, evicted = self._entries.popitem(last=False)
            total -= evicted.nbytes
            evicted.wipe()


def save_sequence(llama: Llama) -> bytearray | None:
    """The KV state of the context's sequence (``None`` when llama.cpp copies nothing)."""
    import llama_cpp

    size = int(llama_cpp.llama_state_seq_get_size(llama.ctx, _SEQUENCE))
    if size <= 0:
        return None
    state = bytearray(size)
    buffer: Any = (ctypes.c_uint8 * size).from_buffer(state)
    written = int(llama_cpp.llama_state_seq_get_data(llama.ctx, buffer, size, _SEQUENCE))
    del buffer  # a live export would pin the bytearray
    if written <= 0:
        return None
    if written < size:
        del state[written:]
    return state


def load_sequence(llama: Llama, entry: PrefixEntry, keep: int) -> bool:
    """Load ``entry`` into the context and keep its first ``keep`` tokens.

    The context's token ids follow (``llama.input_ids``, ``llama.n_tokens``), so the
    next evaluation reads only what comes after. On failure the context is left empty
    (everything is read again) and ``False`` is returned.
    """
    import llama_cpp

    llama._ctx.kv_cache_seq_rm(-1, 0, -1)
    buffer: Any = (ctypes.c_uint8 * len(entry.state)).from_buffer(entry.state)
    read = int(llama_cpp.llama_state_seq_set_data(llama.ctx, buffer, len(entry.state), _SEQUENCE))
    del buffer
    if read <= 0:
        llama._ctx.kv_cache_seq_rm(-1, 0, -1)
        llama.n_tokens = 0
        return False
    keep = min(keep, len(entry.tokens))
    llama.input_ids[:keep] = entry.tokens[:keep]
    if keep < len(entry.tokens):
        llama._ctx.kv_cache_seq_rm(-1, keep, -1)
    llama.n_tokens = keep
    return True


def wipe_context(llama: Llama) -> None:
    """Empty the context and zero its cache and token ids (when its user is erased)."""
    context: Any = llama._ctx
    context.kv_cache_clear()  # frees the cells and zeroes their memory
    llama.input_ids[:] = 0
    llama.n_tokens = 0
