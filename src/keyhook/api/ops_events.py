"""The audit trail (``zitadel.event.v2.EventService``): read the event store."""

from __future__ import annotations

from typing import Any

from keyhook.api import messages as m
from keyhook.api.registry import Operation, Registry
from keyhook.domain.caller import Caller
from keyhook.query.events import EventQueries


def register(registry: Registry, queries: EventQueries) -> None:
    async def list_events(caller: Caller, req: m.ListEventsRequest) -> dict[str, Any]:
        return await queries.list(
            caller,
            after=req.after_position,
            limit=req.limit,
            aggregate_id=req.aggregate_id,
            aggregate_types=req.aggregate_types,
            event_types=req.event_types,
        )

    registry.add(
        Operation(
            "/zitadel.event.v2.EventService/ListEvents",
            (("POST", "/v2/events/search"),),
            m.ListEventsRequest,
            list_events,
            "Search the event store (audit trail); secrets left out",
            permission="events.read",
        )
    )
