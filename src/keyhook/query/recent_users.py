"""Machine users by client id, remembered for a moment: the token endpoint's caller.

Every client-credentials request names its machine user; reading it (the user,
its organization's name, its metadata for the token's claims) was two statements
on each request. This keeps the answers for at most ``ttl`` seconds (1 s by
default), the 1,024 most recently used. The bound is what another node's change
may take to apply here; a change committed through this process applies to the
next request: :meth:`RecentMachineUsers.forget` is a ``Writer.after_append``
hook that drops, once the transaction has committed, every remembered user an
appended event touched (a user's events; any organization event drops all,
since the organization's name is part of the record). A read that was under way
while something was forgotten is not remembered, so it cannot put back what
the commit replaced.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from keyhook.eventstore.store import StoredEvent
from keyhook.query.oidc import OidcQueries, UserRecord
from keyhook.storage.connection import Connection
from keyhook.storage.database import Database

_SIZE = 1024


@dataclass(frozen=True)
class _Remembered:
    user: UserRecord | None
    at: float


class RecentMachineUsers:
    def __init__(self, queries: OidcQueries, db: Database, ttl: float = 1.0) -> None:
        self._queries = queries
        self._db = db
        self._ttl = ttl
        self._entries: OrderedDict[str, _Remembered] = OrderedDict()
        self._forgotten = 0  # bumped by every forget: a read spanning one is not kept

    async def machine_user(self, client_id: str) -> UserRecord | None:
        key = client_id.lower()
        entry = self._entries.get(key)
        moment = time.monotonic()
        if entry is not None and moment - entry.at < self._ttl:
            self._entries.move_to_end(key)
            return entry.user
        before = self._forgotten
        user = await self._queries.machine_user(client_id)
        if self._forgotten == before:
            self._entries[key] = _Remembered(user, moment)
            self._entries.move_to_end(key)
            if len(self._entries) > _SIZE:
                self._entries.popitem(last=False)
        return user

    async def forget(self, conn: Connection, stored: Sequence[StoredEvent]) -> None:
        users = {e.aggregate_id for e in stored if e.aggregate_type == "user"}
        everyone = any(e.aggregate_type == "org" for e in stored)
        if not users and not everyone:
            return

        def drop() -> None:
            self._forgotten += 1
            if everyone:
                self._entries.clear()
                return
            for key, entry in list(self._entries.items()):
                # Unknown names are remembered as None: a new user may now carry one.
                if entry.user is None or entry.user.user_id in users:
                    del self._entries[key]

        # Now too, so a read racing this transaction is not kept; and after the
        # commit, so nothing read before it survives.
        drop()
        self._db.after_commit(conn, drop)
