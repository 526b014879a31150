"""Operator commands on the delivery log: retry one delivery, replay a target's.

Deliveries are operational state, not event-sourced: these commands set rows
back to ``pending`` (same body, same ``webhook-id``, so receivers that drop
duplicates still can) and leave the attempt history as it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update

from keyhook.clock import iso, now
from keyhook.domain.caller import Caller
from keyhook.errors import FailedPrecondition, NotFound, field_error
from keyhook.storage import schema as t
from keyhook.storage.database import Database


def _pending_again(at: datetime) -> dict[str, Any]:
    """A delivery back in the queue, due now, on a fresh schedule, unleased."""
    return {
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": at,
        "lease_owner": None,
        "lease_until": None,
        "updated_at": at,
    }


class DeliveryCommands:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def retry(self, caller: Caller, delivery_id: str) -> dict[str, Any]:
        d = t.deliveries
        at = now()
        async with self.db.write() as conn:
            found = await conn.execute(
                update(d)
                .where(
                    d.c.id == delivery_id,
                    d.c.instance_id == caller.instance_id,
                    d.c.status != "pending",
                )
                .values(**_pending_again(at))
            )
            if found.rowcount == 0:
                exists = await conn.execute(
                    d.select().where(d.c.id == delivery_id, d.c.instance_id == caller.instance_id)
                )
                if exists.first() is None:
                    raise NotFound(
                        f"delivery {delivery_id} does not exist",
                        details=[{"field": "id", "problem": "unknown"}],
                    )
                raise FailedPrecondition(
                    f"delivery {delivery_id} is still pending; it is retried on its schedule"
                )
            await self.db.notify_deliveries(conn)
        return {"retryDate": iso(at)}

    async def replay(
        self,
        caller: Caller,
        target_id: str,
        since: datetime,
        until: datetime | None,
        only_failed: bool,
    ) -> dict[str, Any]:
        if until is not None and until <= since:
            raise field_error("to", "must be after from")
        d = t.deliveries
        at = now()
        where = [
            d.c.target_id == target_id,
            d.c.instance_id == caller.instance_id,
            d.c.created_at >= since,
            d.c.status != "pending",
        ]
        if until is not None:
            where.append(d.c.created_at < until)
        if only_failed:
            where.append(d.c.status == "failed")
        async with self.db.write() as conn:
            result = await conn.execute(update(d).where(*where).values(**_pending_again(at)))
            await self.db.notify_deliveries(conn)
        return {"replayed": str(result.rowcount), "replayDate": iso(at)}
