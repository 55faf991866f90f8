"""A small cache bounded in size and age, for what a long-lived process reuses.

Tokenizer verdicts, vocabulary maps, private indexes and default components are
costly to build and cheap to keep, but a server runs for weeks: every such cache in
the package is a :class:`BoundedCache`, so it holds at most ``max_size`` entries
(least recently used go first) and none older than ``max_age`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar, cast

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """A thread-safe least-recently-used map with a size and an age limit.

    Key init args:
        max_size: most entries kept; the least recently used one goes first.
        max_age: seconds an entry is served after it was stored; ``None``: no limit.
        clock: seconds, monotonic (a test passes a fake one).

    Use:
        .. code-block:: python

            cache: BoundedCache[str, int] = BoundedCache(max_size=8, max_age=600)
            size = cache.get_or_create("vocab", lambda: expensive())
    """

    def __init__(
        self,
        *,
        max_size: int,
        max_age: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_size < 1 or (max_age is not None and max_age <= 0):
            raise ValueError("max_size must be >= 1 and max_age > 0 (or None)")
        self.max_size = max_size
        self.max_age = max_age
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value stored under ``key``, or ``None`` when absent or too old."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            stored, value = entry
            if self.max_age is not None and self._clock() - stored >= self.max_age:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Store ``value`` under ``key``, dropping the oldest entries beyond the limits."""
        with self._lock:
            self._entries[key] = (self._clock(), value)
            self._entries.move_to_end(key)
            self._drop_expired()
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def get_or_create(self, key: K, create: Callable[[], V]) -> V:
        """The cached value, or ``create()`` stored and returned.

        ``create`` runs outside the lock (it may be a network call); two threads that
        miss at once may both run it, and the later value is kept.
        """
        value = self.get(key)
        if value is None:
            value = create()
            self.put(key, value)
        return value

    def discard(self, key: K) -> None:
        """Forget ``key`` (nothing happens when it is absent)."""
        with self._lock:
            self._entries.pop(key, None)

    def discard_where(self, test: Callable[[K], bool]) -> None:
        """Forget every key for which ``test`` is true."""
        with self._lock:
            for key in [k for k in self._entries if test(k)]:
                del self._entries[key]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            self._drop_expired()
            return len(self._entries)

    def _drop_expired(self) -> None:
        if self.max_age is None:
            return
        now = self._clock()
        # entries are in use order, not age order: look at all of them (caches are small)
        for key in [k for k, (stored, _) in self._entries.items() if now - stored >= self.max_age]:
            del self._entries[key]


class DerivedPerUser:
    """Values computed from a user's stored documents (a leak detector's index, the
    embeddings of stored facts), each kept while the user's document count is the one
    it was built from; held by the store whose documents they come from."""

    def __init__(self, *, max_size: int = 256, max_age: float | None = 3600.0) -> None:
        self._values: BoundedCache[tuple[str, str], tuple[int, Any]] = BoundedCache(
            max_size=max_size, max_age=max_age
        )

    def get(self, user_id: str, name: str, size: int, build: Callable[[], V]) -> V:
        """The value ``name`` of ``user_id`` built from ``size`` documents; built now
        (``build()``) when none is kept for that size."""
        kept = self._values.get((name, user_id))
        if kept is not None and kept[0] == size:
            return cast("V", kept[1])
        value = build()
        self._values.put((name, user_id), (size, value))
        return value

    def kept(self, user_id: str, name: str) -> bool:
        """Whether a value ``name`` of ``user_id`` is kept."""
        return self._values.get((name, user_id)) is not None

    def forget(self, user_id: str) -> None:
        """Drop every value of ``user_id``."""
        self._values.discard_where(lambda key: key[1] == user_id)

    def __len__(self) -> int:
        return len(self._values)
