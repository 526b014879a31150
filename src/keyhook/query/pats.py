"""Personal access tokens for ListPersonalAccessTokens: their ids, users and expiry,
never the token or its hash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keyhook.clock import iso
from keyhook.domain.caller import Caller
from keyhook.query.paging import Search, count_and_rows, pagination
from keyhook.storage.database import Database

_SELECT = (
    "SELECT p.id, p.user_id, p.expires_at, p.created_at, u.org_id "
    "FROM personal_access_tokens AS p JOIN users AS u ON u.id = p.user_id"
)
_ORDERS = {
    "PERSONAL_ACCESS_TOKEN_FIELD_NAME_UNSPECIFIED": "p.created_at {d}, p.id {d}",
    "PERSONAL_ACCESS_TOKEN_FIELD_NAME_CREATED_DATE": "p.created_at {d}, p.id {d}",
    "PERSONAL_ACCESS_TOKEN_FIELD_NAME_ID": "p.id {d}",
    "PERSONAL_ACCESS_TOKEN_FIELD_NAME_USER_ID": "p.user_id {d}, p.id {d}",
    "PERSONAL_ACCESS_TOKEN_FIELD_NAME_EXPIRATION_DATE": "p.expires_at {d}, p.id {d}",
}


@dataclass(frozen=True)
class PatFilter:
    token_id: str | None = None
    user_id: str | None = None
    org_id: str | None = None


class PatQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(
        self,
        caller: Caller,
        filters: list[PatFilter],
        offset: int,
        limit: int,
        asc: bool,
        sorting: str,
    ) -> dict[str, Any]:
        search = Search(_SELECT).where(
            "p.instance_id = :instance_id", instance_id=caller.instance_id
        )
        if caller.orgs is not None:
            search.where("u.org_id IN (:caller_orgs)", caller_orgs=sorted(caller.orgs))
        for i, f in enumerate(filters):
            if f.token_id is not None:
                search.where(f"p.id = :token_{i}", **{f"token_{i}": f.token_id})
            if f.user_id is not None:
                search.where(f"p.user_id = :user_{i}", **{f"user_{i}": f.user_id})
            if f.org_id is not None:
                search.where(f"u.org_id = :org_{i}", **{f"org_{i}": f.org_id})
        order = _ORDERS[sorting].format(d="ASC" if asc else "DESC")
        async with self.db.read() as conn:
            total, rows = await count_and_rows(conn, search, order, offset, limit)
        return {
            "pagination": pagination(total, limit),
            "result": [
                {
                    "creationDate": iso(r.created_at),
                    "changeDate": iso(r.created_at),
                    "id": r.id,
                    "userId": r.user_id,
                    "organizationId": r.org_id,
                    "expirationDate": None if r.expires_at is None else iso(r.expires_at),
                }
                for r in rows
            ],
        }
