"""ListTargetHealth (Keyhook's): per target, its last call or delivery attempt, and over
the last 24 hours (the current hour and the 23 before it) how many calls and attempts
succeeded and failed, the success rate, p50 and p95 latency, and whether it is
failing (:mod:`keyhook.domain.health`).

Read from the hourly counters of :mod:`keyhook.storage.target_stats` (a quantile is the
upper bound of its histogram bucket), never from the calls and attempts themselves:
a page of targets costs a few index reads whatever their traffic. Test calls are not
counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from keyhook.clock import iso
from keyhook.domain.caller import Caller
from keyhook.domain.health import is_failing, success_rate
from keyhook.query.paging import Search, count_and_rows, pagination
from keyhook.storage.connection import Connection, Row
from keyhook.storage.database import Database
from keyhook.storage.target_stats import BUCKETS, quantile

HOURS = 24

_SUMS = (
    "SELECT target_id, source, sum(succeeded) AS succeeded, sum(failed) AS failed, "  # noqa: S608
    + ", ".join(f"sum({b}) AS {b}" for b in BUCKETS)
    + " FROM target_stats WHERE instance_id = :instance_id AND hour_at >= :since "
    "AND target_id IN (:ids) GROUP BY target_id, source"
)
# Each target's newest row per source, whatever its age: one primary-key seek each.
_LAST = (
    "SELECT s.target_id, s.source, s.last_at, s.last_ref, s.last_status, s.last_error, "
    "s.last_ok FROM target_stats s "
    "JOIN (SELECT 'call' AS source UNION ALL SELECT 'delivery') AS k ON k.source = s.source "
    "WHERE s.instance_id = :instance_id AND s.target_id IN (:ids) AND s.hour_at = ("
    "SELECT max(m.hour_at) FROM target_stats m WHERE m.instance_id = s.instance_id "
    "AND m.target_id = s.target_id AND m.source = k.source)"
)


def window_start(now: datetime) -> datetime:
    """The first hour the last 24 hours count."""
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)


class TargetHealthQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def search(
        self,
        caller: Caller,
        now: datetime,
        offset: int,
        limit: int,
        target_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        search = Search("SELECT id, name, paused FROM targets").where(
            "instance_id = :instance_id", instance_id=caller.instance_id
        )
        if target_ids:
            search.where("id IN (:target_ids)", target_ids=target_ids)
        since = window_start(now)
        async with self.db.read() as conn:
            total, rows = await count_and_rows(conn, search, "id", offset, limit)
            health = await self._health(conn, caller.instance_id, [r.id for r in rows], since)
        return {
            "pagination": pagination(total, limit),
            "since": iso(since),
            "targets": [
                {"targetId": r.id, "name": r.name, "paused": bool(r.paused), **health[r.id]}
                for r in rows
            ],
        }

    async def _health(
        self, conn: Connection, instance_id: str, ids: list[str], since: datetime
    ) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        params = {"instance_id": instance_id, "ids": ids, "since": since}
        sums = (await conn.execute(_SUMS, params)).all()
        lasts = (await conn.execute(_LAST, params)).all()
        return {target_id: _one(target_id, sums, lasts) for target_id in ids}


def _one(target_id: str, sums: list[Row], lasts: list[Row]) -> dict[str, Any]:
    counts = {"call": (0, 0), "delivery": (0, 0)}
    histogram = [0] * len(BUCKETS)
    for row in sums:
        if row.target_id == target_id:
            counts[row.source] = (int(row.succeeded), int(row.failed))
            histogram = [h + int(row[b]) for h, b in zip(histogram, BUCKETS, strict=True)]
    newest = max(
        (row for row in lasts if row.target_id == target_id),
        key=lambda row: row.last_at,
        default=None,
    )
    succeeded = counts["call"][0] + counts["delivery"][0]
    failed = counts["call"][1] + counts["delivery"][1]
    last = (
        None
        if newest is None
        else {
            "source": newest.source,
            # The call's id (ListTargetCalls) or the delivery's (GetDelivery).
            "id": newest.last_ref,
            "date": iso(newest.last_at),
            "statusCode": newest.last_status,
            "error": newest.last_error,
            "succeeded": bool(newest.last_ok),
        }
    )
    return {
        "failing": is_failing(None if last is None else last["succeeded"], succeeded, failed),
        "last": last,
        "last24h": {
            "total": succeeded + failed,
            "succeeded": succeeded,
            "failed": failed,
            "successRate": success_rate(succeeded, failed),
            "p50Ms": quantile(histogram, 0.5),
            "p95Ms": quantile(histogram, 0.95),
            "calls": {"succeeded": counts["call"][0], "failed": counts["call"][1]},
            "deliveryAttempts": {
                "succeeded": counts["delivery"][0],
                "failed": counts["delivery"][1],
            },
        },
    }
