"""Applications (OAuth clients) by client id, remembered for a moment.

The token endpoint, introspection and revocation read the calling application on
every request, and introspection asks first whether a machine user's client id
is an application's (it is not: a read that finds nothing). This keeps both
answers within the bound of :mod:`keyhook.query.recent`: another node's change
applies within 1 s, this process's at once. Any event of an application, a
project, an organization or an instance drops them all: such events are rare
next to the token traffic, and an application's record carries its project's
organization.
"""

from __future__ import annotations

from collections.abc import Sequence

from keyhook.eventstore.store import StoredEvent
from keyhook.query.oidc import Client, OidcQueries
from keyhook.query.recent import DEFAULT_TTL, Recent
from keyhook.storage.connection import Connection
from keyhook.storage.database import Database

_TOUCHING = frozenset({"application", "project", "org", "instance"})


class RecentClients:
    def __init__(self, queries: OidcQueries, db: Database, ttl: float = DEFAULT_TTL) -> None:
        self._queries = queries
        self._by_client_id = Recent(db, self._load, ttl=ttl)

    async def _load(self, client_id: str) -> Client | None:
        return await self._queries.client(client_id)

    async def client(self, client_id: str) -> Client | None:
        return await self._by_client_id.get(client_id)

    async def forget(self, conn: Connection, stored: Sequence[StoredEvent]) -> None:
        if any(e.aggregate_type in _TOUCHING for e in stored):
            self._by_client_id.forget(conn)
