"""The actions' overview (GetActionsOverview, Keyhook's): deliveries and calls per hour
over the last 24 hours by outcome, the paused and the failing targets, and the age of
the oldest pending delivery.

The hours are read from the hourly counters of :mod:`keyhook.storage.target_stats`
(index ``ix_target_stats_instance_hour``), kept where attempts and calls are written:
one row per target, source and hour, so an overview costs the same with 100 or
100,000 deliveries a day and is computed on every call. A delivery attempt counts in
the hour it was made: ``succeeded`` (it delivered), ``failed`` (it ended its delivery
failed for good) or ``retried`` (it failed and the delivery is tried again, or held
while its target is paused). Test calls are not counted."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from keyhook.clock import aware, iso
from keyhook.domain.caller import Caller
from keyhook.storage.database import Database

HOURS = 24

_STATS = (
    "SELECT hour_at, source, target_id, succeeded, failed, gave_up FROM target_stats "
    "WHERE instance_id = :instance_id AND hour_at >= :since"
)
# Over the pending deliveries only (ix_deliveries_target_due's status prefix), not over
# every delivery of the instance in creation order until a pending one: the instance
# term is an expression so that no engine walks ix_deliveries_instance_created for it
# (measured: 30 ms over 100,000 finished deliveries). It costs what the backlog is long.
_OLDEST_PENDING = (
    "SELECT id, created_at FROM deliveries WHERE status = 'pending' "
    "AND instance_id || '' = :instance_id ORDER BY created_at LIMIT 1"
)
_TARGETS = "SELECT id, name, paused FROM targets WHERE instance_id = :instance_id"


class OverviewQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def overview(self, caller: Caller, now: datetime) -> dict[str, Any]:
        first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)
        params = {"instance_id": caller.instance_id, "since": first}
        async with self.db.read() as conn:
            stats = (await conn.execute(_STATS, params)).all()
            oldest = (await conn.execute(_OLDEST_PENDING, params)).first()
            targets = (await conn.execute(_TARGETS, params)).all()
        hours = [first + timedelta(hours=i) for i in range(HOURS)]
        index = {h: i for i, h in enumerate(hours)}
        buckets: list[dict[str, Any]] = [
            {
                "hour": iso(h),
                "deliveries": {"succeeded": 0, "failed": 0, "retried": 0},
                "calls": {"succeeded": 0, "failed": 0},
            }
            for h in hours
        ]
        failing: dict[str, dict[str, int]] = {}
        for row in stats:
            at = index.get(aware(row.hour_at))
            succeeded, failed, gave_up = int(row.succeeded), int(row.failed), int(row.gave_up)
            if row.source == "delivery":
                if at is not None:
                    counts = buckets[at]["deliveries"]
                    counts["succeeded"] += succeeded
                    counts["failed"] += gave_up
                    counts["retried"] += failed - gave_up
                lost = gave_up
            else:
                if at is not None:
                    buckets[at]["calls"]["succeeded"] += succeeded
                    buckets[at]["calls"]["failed"] += failed
                lost = failed
            if lost:
                counts = failing.setdefault(row.target_id, {"delivery": 0, "call": 0})
                counts[row.source] += lost
        names = {t.id: t.name for t in targets}
        return {
            "hours": buckets,
            "pausedTargets": [{"id": t.id, "name": t.name} for t in targets if t.paused],
            "failingTargets": [
                {
                    "id": target_id,
                    "name": names[target_id],
                    "failedDeliveries": counts["delivery"],
                    "failedCalls": counts["call"],
                }
                for target_id, counts in sorted(
                    failing.items(), key=lambda item: (-sum(item[1].values()), item[0])
                )
                if target_id in names
            ],
            "oldestPending": None
            if oldest is None
            else {
                "id": oldest.id,
                "creationDate": iso(oldest.created_at),
                "ageSeconds": round((now - aware(oldest.created_at)).total_seconds(), 3),
            },
            "computedDate": iso(now),
        }
