"""Duplicates: Keyhook delivers an event at least once (a retry after a lost answer, a
replay), always with the same ``webhook-id``. :class:`Deduplicator` remembers the ids it
has seen in a pluggable :class:`Store` so a handler runs once per delivery.

The default store is an in-memory LRU (one process). For several processes, a store is
any object with ``add(key, ttl) -> bool`` that adds ``key`` for ``ttl`` seconds and says
whether it was new, atomically — for Redis ``SET key 1 NX EX ttl``, for SQL an
``INSERT`` into a table with a primary key on the id (a conflict: seen). Standard library
only.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

DEFAULT_TTL = 7 * 24 * 3600.0  # longer than Keyhook's whole retry schedule (about 37 h)


class Store(Protocol):
    def add(self, key: str, ttl: float) -> bool:
        """Remember ``key`` for ``ttl`` seconds; True if it was not already there."""
        ...


class MemoryStore:
    """The ids of the last ``capacity`` deliveries, each for its ``ttl`` (thread-safe)."""

    def __init__(
        self, capacity: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = capacity
        self.clock = clock
        self._until: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str, ttl: float) -> bool:
        now = self.clock()
        with self._lock:
            until = self._until.get(key)
            if until is not None and until > now:
                self._until.move_to_end(key)
                return False
            self._until[key] = now + ttl
            self._until.move_to_end(key)
            while len(self._until) > self.capacity:
                self._until.popitem(last=False)
            return True


class Deduplicator:
    """``first(webhook_id)`` is True the first time an id is seen (within ``ttl``)."""

    def __init__(self, store: Store | None = None, ttl: float = DEFAULT_TTL) -> None:
        self.store: Store = store or MemoryStore()
        self.ttl = ttl

    def first(self, webhook_id: str) -> bool:
        return self.store.add(webhook_id, self.ttl)
