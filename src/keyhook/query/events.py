"""The event store as an audit trail: events filtered by aggregate, type and position."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from keyhook.clock import iso
from keyhook.domain.caller import Caller
from keyhook.domain.payload import redact
from keyhook.eventstore.store import StoredEvent, from_row
from keyhook.storage import schema as t
from keyhook.storage.database import Database


def event_to_wire(e: StoredEvent) -> dict[str, Any]:
    return {
        "position": str(e.position),
        "eventType": e.type,
        "aggregateType": e.aggregate_type,
        "aggregateID": e.aggregate_id,
        "sequence": str(e.sequence),
        "resourceOwner": e.resource_owner,
        "creator": e.creator,
        "createdAt": iso(e.created_at),
        "eventData": redact(e.data),
    }


class EventQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(
        self,
        caller: Caller,
        *,
        after: int,
        limit: int,
        aggregate_id: str | None,
        aggregate_types: list[str],
        event_types: list[str],
    ) -> dict[str, Any]:
        query = select(t.events).where(
            t.events.c.instance_id == caller.instance_id, t.events.c.position > after
        )
        if aggregate_id:
            query = query.where(t.events.c.aggregate_id == aggregate_id)
        if aggregate_types:
            query = query.where(t.events.c.aggregate_type.in_(aggregate_types))
        if event_types:
            query = query.where(t.events.c.event_type.in_(event_types))
        async with self.db.read() as conn:
            rows = await conn.execute(query.order_by(t.events.c.position).limit(limit))
            found = [event_to_wire(from_row(r._mapping)) for r in rows]
        return {"events": found}
