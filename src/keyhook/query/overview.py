"""The actions' overview (GetActionsOverview, Keyhook's): deliveries and calls per hour
over the last 24 hours by outcome, the paused and the failing targets, and the age of
the oldest pending delivery. Grouped in SQL over the instance's rows of those hours
(indexes ``ix_deliveries_instance_created``, ``ix_execution_calls_instance_created``).

Grouping 100,000 deliveries and 100,000 calls costs a few hundred milliseconds, so an
overview is remembered per instance: answered as it is for ``FRESH`` seconds, then
still answered at once while one refresh runs in the background, and computed anew,
waiting, when it is older than ``STALE`` seconds or from another hour. So an overview
is at most ``FRESH`` seconds old, plus one refresh (docs/api.md); the oldest pending
delivery's age is as of the answer."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from keyhook.clock import aware, iso
from keyhook.domain.caller import Caller
from keyhook.storage.connection import Connection
from keyhook.storage.database import Database

log = logging.getLogger("keyhook.query")
HOURS = 24
FRESH = 5.0
STALE = 60.0

# The hour of a time as 'YYYY-MM-DD HH': SQLite keeps times as ISO text in UTC.
_HOUR = {
    True: "substr({column}, 1, 13)",
    False: "to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')",
}


def _sql(conn: Connection, template: str, column: str) -> str:
    return template.format(hour=_HOUR[conn.is_sqlite].format(column=column))


_DELIVERIES = (
    "SELECT {hour} AS hour, status, target_id, count(*) AS n FROM deliveries "
    "WHERE instance_id = :instance_id AND created_at >= :since "
    "GROUP BY {hour}, status, target_id"
)
_CALLS = (
    "SELECT {hour} AS hour, error IS NOT NULL AS failed, target_id, count(*) AS n "
    "FROM execution_calls WHERE instance_id = :instance_id AND created_at >= :since "
    "AND kind <> 'test' "
    "GROUP BY {hour}, error IS NOT NULL, target_id"
)
_OLDEST_PENDING = (
    "SELECT id, created_at FROM deliveries WHERE instance_id = :instance_id "
    "AND status = 'pending' ORDER BY created_at LIMIT 1"
)
_TARGETS = "SELECT id, name, paused FROM targets WHERE instance_id = :instance_id"


class OverviewQueries:
    def __init__(self, db: Database) -> None:
        self.db = db
        # instance id -> (computed at (monotonic), its hour, the overview)
        self._known: dict[str, tuple[float, datetime, dict[str, Any]]] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}

    async def overview(self, caller: Caller, now: datetime) -> dict[str, Any]:
        hour = now.replace(minute=0, second=0, microsecond=0)
        known = self._known.get(caller.instance_id)
        age = None if known is None else time.monotonic() - known[0]
        if known is None or age is None or age > STALE or known[1] != hour:
            found = await self._remember(caller, now)
        else:
            found = known[2]
            if age > FRESH and caller.instance_id not in self._refreshing:
                task = asyncio.create_task(self._refresh(caller, now))
                self._refreshing[caller.instance_id] = task
        return _aged(found, now)

    async def _refresh(self, caller: Caller, now: datetime) -> None:
        try:
            await self._remember(caller, now)
        except Exception:  # the remembered overview stays; the next call tries again
            log.exception("refreshing the actions overview failed")
        finally:
            self._refreshing.pop(caller.instance_id, None)

    async def _remember(self, caller: Caller, now: datetime) -> dict[str, Any]:
        started = time.monotonic()
        found = await self.compute(caller, now)
        self._known[caller.instance_id] = (
            started,
            now.replace(minute=0, second=0, microsecond=0),
            found,
        )
        return found

    async def compute(self, caller: Caller, now: datetime) -> dict[str, Any]:
        first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)
        params = {"instance_id": caller.instance_id, "since": first}
        async with self.db.read() as conn:
            deliveries = (await conn.execute(_sql(conn, _DELIVERIES, "created_at"), params)).all()
            calls = (await conn.execute(_sql(conn, _CALLS, "created_at"), params)).all()
            oldest = (await conn.execute(_OLDEST_PENDING, params)).first()
            targets = (await conn.execute(_TARGETS, params)).all()
        hours = [first + timedelta(hours=i) for i in range(HOURS)]
        keys = {h.strftime("%Y-%m-%d %H"): i for i, h in enumerate(hours)}
        buckets: list[dict[str, Any]] = [
            {
                "hour": iso(h),
                "deliveries": {"succeeded": 0, "failed": 0, "pending": 0},
                "calls": {"succeeded": 0, "failed": 0},
            }
            for h in hours
        ]
        failing: dict[str, dict[str, int]] = {}
        for row in deliveries:
            if row.hour in keys and row.status in ("succeeded", "failed", "pending"):
                buckets[keys[row.hour]]["deliveries"][row.status] += int(row.n)
            if row.status == "failed":
                failing.setdefault(row.target_id, {"deliveries": 0, "calls": 0})
                failing[row.target_id]["deliveries"] += int(row.n)
        for row in calls:
            outcome = "failed" if row.failed else "succeeded"
            if row.hour in keys:
                buckets[keys[row.hour]]["calls"][outcome] += int(row.n)
            if row.failed:
                failing.setdefault(row.target_id, {"deliveries": 0, "calls": 0})
                failing[row.target_id]["calls"] += int(row.n)
        names = {t.id: t.name for t in targets}
        return {
            "hours": buckets,
            "pausedTargets": [{"id": t.id, "name": t.name} for t in targets if t.paused],
            "failingTargets": [
                {
                    "id": target_id,
                    "name": names.get(target_id, ""),
                    "failedDeliveries": counts["deliveries"],
                    "failedCalls": counts["calls"],
                }
                for target_id, counts in sorted(
                    failing.items(), key=lambda item: -(item[1]["deliveries"] + item[1]["calls"])
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


def _aged(found: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A remembered overview with the oldest pending delivery's age as of ``now``."""
    oldest = found["oldestPending"]
    if oldest is None:
        return found
    created = datetime.fromisoformat(oldest["creationDate"].replace("Z", "+00:00"))
    age = round((now - created).total_seconds(), 3)
    return {**found, "oldestPending": {**oldest, "ageSeconds": age}}
