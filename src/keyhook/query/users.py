"""Users as the API shows them (ZITADEL's v2 user shape, plus metadata)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from keyhook.storage.connection import Row
from keyhook.storage.connection import Connection

from keyhook.clock import iso
from keyhook.domain.caller import Caller
from keyhook.domain.user import MACHINE_TOKEN_TYPES
from keyhook.errors import NotFound
from keyhook.eventstore.store import from_row
from keyhook.query.paging import count_and_rows, pagination
from keyhook.storage import schema as t
from keyhook.storage.database import Database

MAX_LIMIT = 1000
_TOKEN_TYPE_WIRE = {stored: wire for wire, stored in MACHINE_TOKEN_TYPES.items()}


async def _machine_details(
    conn: Connection, instance_id: str, user_ids: list[str]
) -> dict[str, dict[str, str]]:
    """Description and access token type of machine users, from their
    ``user.machine.added`` events (sequence 1, read through the aggregate's
    unique index): the ``users`` table has no columns for them, and neither
    can change after creation."""
    if not user_ids:
        return {}
    rows = await conn.execute(
        select(t.events).where(
            t.events.c.instance_id == instance_id,
            t.events.c.aggregate_type == "user",
            t.events.c.aggregate_id.in_(user_ids),
            t.events.c.sequence == 1,
            t.events.c.event_type == "user.machine.added",
        )
    )
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        data = from_row(row._mapping).data
        found[row.aggregate_id] = {
            "description": str(data.get("description", "")),
            "accessTokenType": _TOKEN_TYPE_WIRE.get(
                str(data.get("accessTokenType", "bearer")), "ACCESS_TOKEN_TYPE_BEARER"
            ),
        }
    return found


def user_to_wire(
    row: Row,
    metadata: list[dict[str, str]],
    machine: dict[str, str] | None = None,
) -> dict[str, Any]:
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
        details = machine or {}
        user["machine"] = {
            "name": row["display_name"],
            "description": details.get("description", ""),
            "accessTokenType": details.get("accessTokenType", "ACCESS_TOKEN_TYPE_BEARER"),
            "hasSecret": row["secret_hash"] is not None,
        }
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
            machine = (
                await _machine_details(conn, caller.instance_id, [user_id])
                if row.kind == "machine"
                else {}
            )
        return {"user": user_to_wire(row._mapping, metadata, machine.get(user_id))}

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
            machines = await _machine_details(
                conn, caller.instance_id, [r.id for r in rows if r.kind == "machine"]
            )
            result = [user_to_wire(r._mapping, metadata[r.id], machines.get(r.id)) for r in rows]
        return {
            "details": pagination(total, limit),
            "pagination": pagination(total, limit),
            "result": result,
        }
