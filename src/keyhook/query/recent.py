"""Read models remembered for a moment, and dropped by this process's own commits.

The token endpoint and introspection read the same few rows on every request (the
calling application or machine user, the token's user). :class:`Recent` keeps
such answers, absent ones included, for at most ``ttl`` seconds (1 s by default),
the ``size`` most recently used. The bound is what another node's change may take
to apply here. A change committed through this process applies to the next
request: the owner's ``Writer.after_append`` hook calls :meth:`Recent.forget`,
which drops what the appended events touched now and again once the transaction
has committed. A read that was under way while something was forgotten is not
kept, so it cannot put back what the commit replaced.

No I/O of its own: the owner passes the loader.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from keyhook.storage.connection import Connection
from keyhook.storage.database import Database

V = TypeVar("V")

DEFAULT_TTL = 1.0
DEFAULT_SIZE = 1024
# Longer keys (no client id or user id is this long) are looked up but not kept: an
# unauthenticated caller names them, and must not fill memory with megabyte keys.
MAX_KEY_LENGTH = 256


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V | None
    at: float


class Recent(Generic[V]):
    def __init__(
        self,
        db: Database,
        load: Callable[[str], Awaitable[V | None]],
        *,
        ttl: float = DEFAULT_TTL,
        size: int = DEFAULT_SIZE,
    ) -> None:
        self._db = db
        self._load = load
        self._ttl = ttl
        self._size = size
        self._entries: OrderedDict[str, _Entry[V]] = OrderedDict()
        self._forgotten = 0  # bumped by every forget: a read spanning one is not kept

    async def get(self, key: str) -> V | None:
        entry = self._entries.get(key)
        moment = time.monotonic()
        if entry is not None and moment - entry.at < self._ttl:
            self._entries.move_to_end(key)
            return entry.value
        before = self._forgotten
        value = await self._load(key)
        if self._forgotten == before and len(key) <= MAX_KEY_LENGTH:
            self._entries[key] = _Entry(value, moment)
            self._entries.move_to_end(key)
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value

    def forget(self, conn: Connection, stale: Callable[[V | None], bool] | None = None) -> None:
        """Drop the entries ``stale`` picks (all without it), now and once ``conn``'s
        transaction has committed."""

        def drop() -> None:
            self._forgotten += 1
            if stale is None:
                self._entries.clear()
                return
            for key, entry in list(self._entries.items()):
                if stale(entry.value):
                    del self._entries[key]

        # Now too, so a read racing this transaction is not kept; and after the
        # commit, so nothing read before it survives.
        drop()
        self._db.after_commit(conn, drop)
