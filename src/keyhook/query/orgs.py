"""Organizations for ListOrganizations, in ZITADEL's v2 form."""

from __future__ import annotations

from typing import Any

from keyhook.clock import iso
from keyhook.domain.caller import Caller
from keyhook.query.paging import Search, count_and_rows, pagination
from keyhook.storage.database import Database


class OrgQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(
        self, caller: Caller, offset: int, limit: int, asc: bool, name: str | None
    ) -> dict[str, Any]:
        search = Search("SELECT * FROM orgs").where(
            "instance_id = :instance_id", instance_id=caller.instance_id
        )
        if caller.orgs is not None:
            search.where("id IN (:caller_orgs)", caller_orgs=sorted(caller.orgs))
        if name:
            search.where("lower(name) LIKE :name", name=f"%{name.lower()}%")
        async with self.db.read() as conn:
            order = "id" if asc else "id DESC"
            total, rows = await count_and_rows(conn, search, order, offset, limit)
        return {
            "details": pagination(total, limit),
            "pagination": pagination(total, limit),
            "result": [
                {
                    "id": r.id,
                    "name": r.name,
                    "state": "ORGANIZATION_STATE_ACTIVE",
                    "details": {"creationDate": iso(r.created_at), "changeDate": iso(r.created_at)},
                }
                for r in rows
            ],
        }
