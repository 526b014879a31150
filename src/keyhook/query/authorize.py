"""The authorize step's memory of who holds which roles.

A user's grants (:func:`keyhook.query.administrators.grants_of`) are read once and
remembered for ``ttl`` seconds per node, so an API call costs a dictionary lookup,
not a database read, while a change of roles made on any node takes effect on every
node within ``ttl`` (docs/api.md: half a second).
"""

from __future__ import annotations

import time
from dataclasses import replace

from keyhook.domain.caller import Caller
from keyhook.domain.roles import Grants, authorized_orgs
from keyhook.query.administrators import grants_of
from keyhook.storage.database import Database

GRANTS_TTL = 0.5


class Authorizer:
    def __init__(self, db: Database, ttl: float = GRANTS_TTL, size: int = 4096) -> None:
        self._db = db
        self._ttl = ttl
        self._size = size
        self._known: dict[tuple[str, str], tuple[float, Grants]] = {}

    async def grants(self, caller: Caller) -> Grants:
        key = (caller.instance_id, caller.user_id)
        found = self._known.get(key)
        moment = time.monotonic()
        if found is not None and found[0] > moment:
            return found[1]
        async with self._db.read() as conn:
            grants = await grants_of(conn, caller.instance_id, caller.user_id)
        if len(self._known) >= self._size:
            self._known.clear()
        self._known[key] = (moment + self._ttl, grants)
        return grants

    async def authorize(
        self, caller: Caller, permission: str, org_permission: str | None
    ) -> Caller:
        """``caller`` with the organizations this call may act in, or PermissionDenied."""
        grants = await self.grants(caller)
        return replace(
            caller, orgs=authorized_orgs(grants, permission, org_permission), grants=grants
        )
