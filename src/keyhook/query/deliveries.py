"""The delivery log: deliveries and their attempts, as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from keyhook.clock import iso
from keyhook.domain.caller import Caller
from keyhook.errors import NotFound
from keyhook.query.paging import Search, count_and_rows, pagination
from keyhook.storage.connection import Row
from keyhook.storage.database import Database

_DELIVERY = "SELECT * FROM deliveries WHERE id = :id AND instance_id = :instance_id"
_ATTEMPTS = (
    "SELECT * FROM delivery_attempts WHERE delivery_id = :delivery_id ORDER BY attempted_at, id"
)


def where_http_status(search: Search, wanted: str, status: str, error: str) -> None:
    """Narrow ``search`` to an HTTP status (``503``), a class (``5xx``) or ``none``: an
    attempt with no HTTP answer (a timeout, no connection)."""
    if wanted == "none":
        search.where(f"{status} IS NULL AND {error} IS NOT NULL")
    elif wanted.endswith("xx"):
        low = int(wanted[0]) * 100
        search.where(f"{status} >= :low AND {status} < :high", low=low, high=low + 100)
    else:
        search.where(f"{status} = :code", code=int(wanted))


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
        # Keyhook's: the body's bytes (UTF-8) exactly as every attempt sent them. The
        # outbox encodes the body once and stores that text; the worker sends it as it is.
        wire["body"] = row["payload"]
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
        # Keyhook's: the headers this attempt sent, custom header values masked; null when
        # nothing was sent (refused by the network policy, the target deleted).
        "requestHeaders": (
            None if row["request_headers"] is None else orjson.loads(row["request_headers"])
        ),
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
        http_status: str | None = None,
    ) -> dict[str, Any]:
        search = Search("SELECT * FROM deliveries").where(
            "instance_id = :instance_id", instance_id=caller.instance_id
        )
        if target_id:
            search.where("target_id = :target_id", target_id=target_id)
        if trigger:
            search.where('"trigger" = :trigger', trigger=trigger)
        if status:
            search.where("status = :status", status=status)
        if since:
            search.where("created_at >= :since", since=since)
        if until:
            search.where("created_at < :until", until=until)
        if http_status:
            where_http_status(search, http_status, "last_status_code", "last_error")
        order = "id" if asc else "id DESC"
        async with self.db.read() as conn:
            total, rows = await count_and_rows(conn, search, order, offset, limit)
            found = [delivery_to_wire(r) for r in rows]
        return {
            "pagination": pagination(total, limit),
            "deliveries": found,
        }

    async def get(self, caller: Caller, delivery_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    _DELIVERY, {"id": delivery_id, "instance_id": caller.instance_id}
                )
            ).first()
            if row is None:
                raise NotFound(
                    f"delivery {delivery_id} does not exist",
                    details=[{"field": "id", "problem": "unknown"}],
                )
            attempts = await conn.execute(_ATTEMPTS, {"delivery_id": delivery_id})
            wire = delivery_to_wire(row, with_payload=True)
            wire["attemptLog"] = [attempt_to_wire(r) for r in attempts]
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
        # Keyhook's: what the target got (secrets removed) and answered, their first
        # 2,048 characters, and the status the API caller got if the target stopped it.
        "request": row["request_body"],
        "response": row["response_body"],
        "callerStatus": row["caller_status"],
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
        asc: bool = False,
        since: datetime | None = None,
        until: datetime | None = None,
        http_status: str | None = None,
    ) -> dict[str, Any]:
        search = Search("SELECT * FROM execution_calls").where(
            "instance_id = :instance_id", instance_id=caller.instance_id
        )
        if target_id:
            search.where("target_id = :target_id", target_id=target_id)
        if trigger:
            search.where('"trigger" = :trigger', trigger=trigger)
        if failed_only:
            search.where("error IS NOT NULL")
        if since:
            search.where("created_at >= :since", since=since)
        if until:
            search.where("created_at < :until", until=until)
        if http_status:
            where_http_status(search, http_status, "status_code", "error")
        order = "id" if asc else "id DESC"
        async with self.db.read() as conn:
            total, rows = await count_and_rows(conn, search, order, offset, limit)
            found = [call_to_wire(r) for r in rows]
        return {
            "pagination": pagination(total, limit),
            "calls": found,
        }

    async def get(self, caller: Caller, call_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    "SELECT * FROM execution_calls WHERE id = :id AND instance_id = :instance_id",
                    {"id": call_id, "instance_id": caller.instance_id},
                )
            ).first()
        if row is None:
            raise NotFound(
                f"call {call_id} does not exist", details=[{"field": "id", "problem": "unknown"}]
            )
        return {"call": call_to_wire(row)}
