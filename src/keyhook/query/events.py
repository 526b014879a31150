"""The event store as an audit trail: events filtered by aggregate, type and position."""

from __future__ import annotations

from typing import Any

from keyhook.clock import iso
from keyhook.domain.caller import Caller
from keyhook.domain.payload import redact
from keyhook.eventstore.store import StoredEvent, from_row
from keyhook.query.paging import Search, page
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
        search = (
            Search("SELECT * FROM events")
            .where("instance_id = :instance_id", instance_id=caller.instance_id)
            .where("position > :after", after=after)
        )
        if aggregate_id:
            search.where("aggregate_id = :aggregate_id", aggregate_id=aggregate_id)
        if aggregate_types:
            search.where("aggregate_type IN (:aggregate_types)", aggregate_types=aggregate_types)
        if event_types:
            search.where("event_type IN (:event_types)", event_types=event_types)
        async with self.db.read() as conn:
            rows = await page(conn, search, "position", 0, limit)
            found = [event_to_wire(from_row(r)) for r in rows]
        return {"events": found}
