"""Users as the API shows them (ZITADEL's v2 user shape, plus metadata)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import RowMapping

from keyhook.clock import iso
from keyhook.domain.caller import Caller
from keyhook.errors import NotFound
from keyhook.query.paging import count_and_rows, pagination
from keyhook.storage import schema as t
from keyhook.storage.database import Database

MAX_LIMIT = 1000


def user_to_wire(row: RowMapping, metadata: list[dict[str, str]]) -> dict[str, Any]:
    user: dict[str, Any] = {
        "userId": row["id"],
        "details": {
            "sequence": str(row["sequence"]),
            "changeDate": iso(row["changed_at"]),
            "resourceOwner": row["org_id"],
        },
        "state": row["state"],
        "username": row["user_name"],
        "loginNames": [row["user_name"]],
        "preferredLoginName": row["user_name"],
        "metadata": metadata,
    }
    if row["kind"] == "human":
        user["human"] = {
            "profile": {
                "givenName": row["given_name"],
                "familyName": row["family_name"],
                "nickName": row["nick_name"],
                "displayName": row["display_name"],
                "preferredLanguage": row["preferred_language"],
            },
            "email": {"email": row["email"], "isVerified": row["email_verified"]},
            "phone": {"phone": row["phone"], "isVerified": row["phone_verified"]},
        }
    else:
        user["machine"] = {"name": row["display_name"]}
    return user


class UserQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, caller: Caller, user_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    select(t.users).where(
                        t.users.c.id == user_id, t.users.c.instance_id == caller.instance_id
                    )
                )
            ).first()
            if row is None:
                raise NotFound(
                    f"user {user_id} does not exist",
                    details=[{"field": "userId", "problem": "unknown"}],
                )
            meta = await conn.execute(
                select(t.user_metadata)
                .where(t.user_metadata.c.user_id == user_id)
                .order_by(t.user_metadata.c.key)
            )
            metadata = [{"key": m.key, "value": m.value} for m in meta]
        return {"user": user_to_wire(row._mapping, metadata)}

    async def list(
        self,
        caller: Caller,
        offset: int,
        limit: int,
        text: str | None,
        org_id: str | None,
        asc: bool = True,
    ) -> dict[str, Any]:
        query = select(t.users).where(t.users.c.instance_id == caller.instance_id)
        if org_id:
            query = query.where(t.users.c.org_id == org_id)
        if text:
            like = f"%{text.lower()}%"
            query = query.where(
                or_(
                    func.lower(t.users.c.user_name).like(like),
                    func.lower(t.users.c.email).like(like),
                    func.lower(t.users.c.display_name).like(like),
                )
            )
        async with self.db.read() as conn:
            order = t.users.c.id if asc else t.users.c.id.desc()
            total, rows = await count_and_rows(conn, query, order, offset, limit)
            metadata: dict[str, list[dict[str, str]]] = {r.id: [] for r in rows}
            if rows:
                found = await conn.execute(
                    select(t.user_metadata)
                    .where(t.user_metadata.c.user_id.in_(list(metadata)))
                    .order_by(t.user_metadata.c.key)
                )
                for m in found:
                    metadata[m.user_id].append({"key": m.key, "value": m.value})
            result = [user_to_wire(r._mapping, metadata[r.id]) for r in rows]
        return {
            "details": pagination(total, limit),
            "pagination": pagination(total, limit),
            "result": result,
        }
