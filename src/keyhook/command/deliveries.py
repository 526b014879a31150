"""Operator commands on the delivery log: retry one delivery, replay a target's (or
count what a replay would send).

Deliveries are operational state, not event-sourced: these commands set rows
back to ``pending`` (same body, same ``webhook-id``, so receivers that drop
duplicates still can) and leave the attempt history as it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from keyhook.clock import iso, now
from keyhook.domain.caller import Caller
from keyhook.errors import FailedPrecondition, NotFound, field_error
from keyhook.storage.database import Database

# A delivery back in the queue, due now (``:at``), on a fresh schedule, unleased.
_PENDING_AGAIN = (
    "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = :at, "
    "lease_owner = NULL, lease_until = NULL, updated_at = :at"
)
_RETRY = f"{_PENDING_AGAIN} WHERE id = :id AND instance_id = :instance_id AND status != 'pending'"
# A target's waiting deliveries made due now, their schedule (attempts) kept.
_DUE_NOW = (
    "UPDATE deliveries SET next_attempt_at = :at, updated_at = :at "
    "WHERE target_id = :target_id AND instance_id = :instance_id AND status = 'pending' "
    "AND next_attempt_at > :at AND (lease_until IS NULL OR lease_until < :at)"
)
_EXISTS = "SELECT id FROM deliveries WHERE id = :id AND instance_id = :instance_id"
# The deliveries a replay sends again; a preview counts the same rows.
_COUNT = "SELECT count(*) AS n FROM deliveries "
_REPLAYED = (
    " WHERE target_id = :target_id AND instance_id = :instance_id "
    "AND created_at >= :since AND status != 'pending'"
)


def checked_range(since: datetime, until: datetime | None) -> None:
    """ReplayTargetDeliveries' field rules (no I/O)."""
    if until is not None and until <= since:
        raise field_error("to", "must be after from")


class DeliveryCommands:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def retry(self, caller: Caller, delivery_id: str) -> dict[str, Any]:
        at = now()
        key = {"id": delivery_id, "instance_id": caller.instance_id}
        async with self.db.write() as conn:
            found = await conn.execute(_RETRY, {**key, "at": at})
            if found.rowcount == 0:
                exists = await conn.execute(_EXISTS, key)
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

    async def due_now(self, caller: Caller, target_id: str) -> int:
        """Make the target's pending deliveries due now (a relay target's listener has
        just attached: what waited for it need not wait for its next scheduled attempt).
        How many."""
        at = now()
        params = {"target_id": target_id, "instance_id": caller.instance_id, "at": at}
        async with self.db.write() as conn:
            changed = (await conn.execute(_DUE_NOW, params)).rowcount
            if changed:
                await self.db.notify_deliveries(conn)
        return int(changed)

    async def replay(
        self,
        caller: Caller,
        target_id: str,
        since: datetime,
        until: datetime | None,
        only_failed: bool,
        preview: bool = False,
    ) -> dict[str, Any]:
        """Send the target's deliveries in the range again; with ``preview``, only count
        them (the same rows, nothing changed)."""
        checked_range(since, until)
        at = now()
        where = _REPLAYED
        params: dict[str, Any] = {
            "target_id": target_id,
            "instance_id": caller.instance_id,
            "since": since,
        }
        if until is not None:
            where += " AND created_at < :until"
            params["until"] = until
        if only_failed:
            where += " AND status = 'failed'"
        if preview:
            async with self.db.read() as conn:
                count = (await conn.execute(_COUNT + where, params)).scalar()
            return {"count": str(count or 0)}
        async with self.db.write() as conn:
            result = await conn.execute(_PENDING_AGAIN + where, {**params, "at": at})
            await self.db.notify_deliveries(conn)
        return {"replayed": str(result.rowcount), "replayDate": iso(at)}
