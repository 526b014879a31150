"""Users as token issuance and introspection read them, remembered for a moment.

Every client-credentials request names its machine user, every refresh and
introspection reads the token's user (the user, its organization's name, its
metadata for the token's claims: two statements). :class:`RecentUsers` keeps
them by client id (machine users) and by user id, within the bound of
:mod:`keyhook.query.recent`: another node's change applies within 1 s, this
process's at once. A user's events drop that user; any organization event drops
all, since the organization's name is part of the record; an unknown name or id
is remembered as absent until any user event, since a new user may now carry it.
"""

from __future__ import annotations

from collections.abc import Sequence

from keyhook.eventstore.store import StoredEvent
from keyhook.query.oidc import OidcQueries, UserRecord
from keyhook.query.recent import DEFAULT_TTL, Recent
from keyhook.storage.connection import Connection
from keyhook.storage.database import Database


class RecentUsers:
    def __init__(self, queries: OidcQueries, db: Database, ttl: float = DEFAULT_TTL) -> None:
        self._queries = queries
        self._by_client_id = Recent(db, self._load_machine_user, ttl=ttl)
        self._by_id = Recent(db, self._load_user, ttl=ttl)

    async def _load_machine_user(self, client_id: str) -> UserRecord | None:
        # Looked up at call time, so a test may stand in for the query.
        return await self._queries.machine_user(client_id)

    async def _load_user(self, user_id: str) -> UserRecord | None:
        return await self._queries.user(user_id)

    async def machine_user(self, client_id: str) -> UserRecord | None:
        """The machine user whose user name is ``client_id`` (in any case)."""
        return await self._by_client_id.get(client_id.lower())

    async def user(self, user_id: str) -> UserRecord | None:
        return await self._by_id.get(user_id)

    async def forget(self, conn: Connection, stored: Sequence[StoredEvent]) -> None:
        users = {e.aggregate_id for e in stored if e.aggregate_type == "user"}
        if any(e.aggregate_type == "org" for e in stored):
            self._by_client_id.forget(conn)
            self._by_id.forget(conn)
        elif users:

            def stale(user: UserRecord | None) -> bool:
                return user is None or user.user_id in users

            self._by_client_id.forget(conn, stale)
            self._by_id.forget(conn, stale)
