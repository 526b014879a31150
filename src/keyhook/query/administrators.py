"""Administrators: a user's grants (for the authorize step) and the search of
ListAdministrators, in ZITADEL's ``Administrator`` form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from keyhook.clock import iso
from keyhook.domain.caller import Caller
from keyhook.domain.roles import Grants
from keyhook.query.paging import Search, count_and_rows, pagination
from keyhook.storage.connection import Connection
from keyhook.storage.database import Database

_GRANTS = (
    "SELECT resource_type, resource_id, roles FROM administrators "
    "WHERE user_id = :user_id AND instance_id = :instance_id"
)
_SELECT = (
    "SELECT a.user_id, a.resource_id, a.resource_type, a.roles, a.created_at, a.changed_at, "
    "u.user_name, u.display_name, u.org_id AS user_org_id, o.name AS org_name "
    "FROM administrators AS a JOIN users AS u ON u.id = a.user_id "
    "LEFT JOIN orgs AS o ON o.id = a.resource_id"
)
_ORDERS = {
    "ADMINISTRATOR_FIELD_NAME_UNSPECIFIED": "a.created_at {d}, a.user_id {d}, a.resource_id {d}",
    "ADMINISTRATOR_FIELD_NAME_CREATION_DATE": "a.created_at {d}, a.user_id {d}, a.resource_id {d}",
    "ADMINISTRATOR_FIELD_NAME_CHANGE_DATE": "a.changed_at {d}, a.user_id {d}, a.resource_id {d}",
    "ADMINISTRATOR_FIELD_NAME_USER_ID": "a.user_id {d}, a.resource_id {d}",
}


async def grants_of(conn: Connection, instance_id: str, user_id: str) -> Grants:
    rows = await conn.execute(_GRANTS, {"user_id": user_id, "instance_id": instance_id})
    return Grants.of(
        (r.resource_type, r.resource_id, frozenset(orjson.loads(r.roles))) for r in rows
    )


@dataclass(frozen=True)
class AdministratorFilter:
    """One ANDed condition of a search (the API's filter, decoded)."""

    user_ids: list[str] | None = None
    user_org_id: str | None = None
    instance: bool = False
    org_id: str | None = None
    role: str | None = None


def _to_wire(row: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "creationDate": iso(row.created_at),
        "changeDate": iso(row.changed_at),
        "user": {
            "id": row.user_id,
            "preferredLoginName": row.user_name,
            "displayName": row.display_name or row.user_name,
            "organizationId": row.user_org_id,
        },
    }
    # The members in the proto's order: the resource, then the roles.
    if row.resource_type == "instance":
        item["instance"] = True
    else:
        item["organization"] = {"id": row.resource_id, "name": row.org_name or ""}
    item["roles"] = list(orjson.loads(row.roles))
    return item


class AdministratorQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(
        self,
        caller: Caller,
        filters: list[AdministratorFilter],
        offset: int,
        limit: int,
        asc: bool,
        sorting: str,
    ) -> dict[str, Any]:
        search = Search(_SELECT).where(
            "a.instance_id = :instance_id", instance_id=caller.instance_id
        )
        if caller.orgs is not None:
            # An organization's administrator sees its organizations' administrators.
            search.where(
                "a.resource_type = 'org' AND a.resource_id IN (:caller_orgs)",
                caller_orgs=sorted(caller.orgs),
            )
        for i, f in enumerate(filters):
            if f.user_ids is not None:
                search.where(
                    f"a.user_id IN (:user_ids_{i})", **{f"user_ids_{i}": f.user_ids or [""]}
                )
            if f.user_org_id is not None:
                search.where(f"u.org_id = :user_org_{i}", **{f"user_org_{i}": f.user_org_id})
            if f.instance:
                search.where("a.resource_type = 'instance'")
            if f.org_id is not None:
                search.where(
                    f"a.resource_type = 'org' AND a.resource_id = :org_{i}",
                    **{f"org_{i}": f.org_id},
                )
            if f.role is not None:
                # Roles are a JSON list of names without quotes in them (domain.roles).
                search.where(f"a.roles LIKE :role_{i}", **{f"role_{i}": f'%"{f.role}"%'})
        order = _ORDERS[sorting].format(d="ASC" if asc else "DESC")
        async with self.db.read() as conn:
            total, rows = await count_and_rows(conn, search, order, offset, limit)
        return {
            "pagination": pagination(total, limit),
            "administrators": [_to_wire(r) for r in rows],
        }
