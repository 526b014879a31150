"""The delivery log: deliveries and their attempts, as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from keyhook.storage.connection import Row

from keyhook.clock import iso
from keyhook.domain.caller import Caller
from keyhook.errors import NotFound
from keyhook.query.paging import count_and_rows, pagination
from keyhook.storage import schema as t
from keyhook.storage.database import Database


def delivery_to_wire(row: Row, with_payload: bool = False) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "id": row["id"],
        "webhookId": f"msg_{row['id']}",
        "targetId": row["target_id"],
        "kind": row["kind"],
        "trigger": row["trigger"],
        "eventPosition": None if row["event_position"] is None else str(row["event_position"]),
        "status": row["status"],
        "attempts": row["attempts"],
        "nextAttemptDate": iso(row["next_attempt_at"]) if row["status"] == "pending" else None,
        "lastStatusCode": row["last_status_code"],
        "lastError": row["last_error"],
        "creationDate": iso(row["created_at"]),
        "changeDate": iso(row["updated_at"]),
    }
    if with_payload:
        wire["payload"] = orjson.loads(row["payload"])
    return wire


def attempt_to_wire(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "attemptDate": iso(row["attempted_at"]),
        "durationMs": round(row["duration_ms"], 3),
        "statusCode": row["status_code"],
        "responseBody": row["response_body"],
        "error": row["error"],
        "worker": row["worker"],
    }


class DeliveryQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def search(
        self,
        caller: Caller,
        *,
        offset: int,
        limit: int,
        asc: bool,
        target_id: str | None,
        trigger: str | None,
        status: str | None,
        since: datetime | None,
        until: datetime | None,
    ) -> dict[str, Any]:
        d = t.deliveries
        query = select(d).where(d.c.instance_id == caller.instance_id)
        if target_id:
            query = query.where(d.c.target_id == target_id)
        if trigger:
            query = query.where(d.c.trigger == trigger)
        if status:
            query = query.where(d.c.status == status)
        if since:
            query = query.where(d.c.created_at >= since)
        if until:
            query = query.where(d.c.created_at < until)
        order = d.c.id if asc else d.c.id.desc()
        async with self.db.read() as conn:
            total, rows = await count_and_rows(conn, query, order, offset, limit)
            found = [delivery_to_wire(r._mapping) for r in rows]
        return {
            "pagination": pagination(total, limit),
            "deliveries": found,
        }

    async def get(self, caller: Caller, delivery_id: str) -> dict[str, Any]:
        d, a = t.deliveries, t.delivery_attempts
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    select(d).where(d.c.id == delivery_id, d.c.instance_id == caller.instance_id)
                )
            ).first()
            if row is None:
                raise NotFound(
                    f"delivery {delivery_id} does not exist",
                    details=[{"field": "id", "problem": "unknown"}],
                )
            attempts = await conn.execute(
                select(a).where(a.c.delivery_id == delivery_id).order_by(a.c.attempted_at, a.c.id)
            )
            wire = delivery_to_wire(row._mapping, with_payload=True)
            wire["attemptLog"] = [attempt_to_wire(r._mapping) for r in attempts]
        return {"delivery": wire}


def call_to_wire(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "targetId": row["target_id"],
        "kind": row["kind"],
        "trigger": row["trigger"],
        "statusCode": row["status_code"],
        "durationMs": round(row["duration_ms"], 3),
        "error": row["error"],
        "callDate": iso(row["created_at"]),
    }


class CallQueries:
    """The record of synchronous target calls (request, response and function executions)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def search(
        self,
        caller: Caller,
        *,
        offset: int,
        limit: int,
        target_id: str | None,
        trigger: str | None,
        failed_only: bool,
    ) -> dict[str, Any]:
        c = t.execution_calls
        query = select(c).where(c.c.instance_id == caller.instance_id)
        if target_id:
            query = query.where(c.c.target_id == target_id)
        if trigger:
            query = query.where(c.c.trigger == trigger)
        if failed_only:
            query = query.where(c.c.error.is_not(None))
        async with self.db.read() as conn:
            total, rows = await count_and_rows(conn, query, c.c.id.desc(), offset, limit)
            found = [call_to_wire(r._mapping) for r in rows]
        return {
            "pagination": pagination(total, limit),
            "calls": found,
        }
