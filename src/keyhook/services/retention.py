"""Pruning: finished records past their retention, and OIDC rows nothing can use any more.

Events are never deleted: the event store is the record of what happened. What
goes are rows of tables that only serve reads and would otherwise grow for ever:

- succeeded and failed deliveries, with their attempts, ``KEYHOOK_RETENTION_DELIVERIES``
  after their last change (pending ones never);
- the record of synchronous target calls, ``KEYHOOK_RETENTION_CALLS`` after the call;
- authorization requests a day after they (and their code) expired;
- access tokens an hour after they expired (a token without a row is invalid anyway);
- grants that can issue nothing more (revoked, refresh token expired, or never had
  one) once every access token they issued has expired, plus a day, with the
  hashes of the refresh tokens they rotated away.

Each batch is its own short write transaction, so pruning never holds the write
lock for long. Nodes running the delivery worker prune every
``KEYHOOK_RETENTION_INTERVAL`` (``off``: this node never prunes); several nodes
pruning at once is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select

from keyhook.clock import now
from keyhook.command.oidc_keys import longest_jwt_lifetime
from keyhook.config import Settings
from keyhook.domain.durations import parse_duration
from keyhook.errors import field_error
from keyhook.storage import schema as t
from keyhook.storage.database import Database

log = logging.getLogger("keyhook.retention")

BATCH = 500
AUTH_REQUEST_GRACE = timedelta(days=1)
ACCESS_TOKEN_GRACE = timedelta(hours=1)
GRANT_GRACE = timedelta(days=1)


def _period(value: str, name: str) -> timedelta | None:
    if value.strip().lower() == "off":
        return None
    seconds = parse_duration(value, name)
    if seconds <= 0:
        raise field_error(name, f"{value!r} would delete at once", "a duration above 0s, or off")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class Retention:
    deliveries: timedelta | None  # None: kept
    calls: timedelta | None
    interval: timedelta | None  # None: this node never prunes
    longest_token: timedelta  # the longest access or ID token lifetime

    @classmethod
    def parse(cls, settings: Settings) -> Retention:
        return cls(
            deliveries=_period(settings.retention.deliveries, "KEYHOOK_RETENTION_DELIVERIES"),
            calls=_period(settings.retention.calls, "KEYHOOK_RETENTION_CALLS"),
            interval=_period(settings.retention.interval, "KEYHOOK_RETENTION_INTERVAL"),
            longest_token=timedelta(seconds=longest_jwt_lifetime(settings)),
        )


class Pruner:
    def __init__(self, db: Database, retention: Retention) -> None:
        self.db = db
        self.retention = retention
        self._task: asyncio.Task[None] | None = None

    async def _batches(self, table: Any, ids_query: Any, *, before: Any = None) -> int:
        """Delete the rows ``ids_query`` selects (by id), a batch per transaction."""
        removed = 0
        while True:
            async with self.db.write() as conn:
                ids = [row[0] for row in await conn.execute(ids_query.limit(BATCH))]
                if not ids:
                    return removed
                if before is not None:
                    await conn.execute(before(ids))
                await conn.execute(delete(table).where(table.c.id.in_(ids)))
            removed += len(ids)
            if len(ids) < BATCH:
                return removed

    async def prune_once(self, moment: datetime | None = None) -> dict[str, int]:
        """One pass over every kind of record; how many rows of each went."""
        moment = moment or now()
        r = self.retention
        counts: dict[str, int] = {}
        d, a = t.deliveries, t.delivery_attempts
        if r.deliveries is not None:
            counts["deliveries"] = await self._batches(
                d,
                select(d.c.id).where(
                    d.c.status.in_(("succeeded", "failed")),
                    d.c.updated_at < moment - r.deliveries,
                ),
                before=lambda ids: delete(a).where(a.c.delivery_id.in_(ids)),
            )
        if r.calls is not None:
            c = t.execution_calls
            counts["calls"] = await self._batches(
                c, select(c.c.id).where(c.c.created_at < moment - r.calls)
            )
        q = t.oidc_auth_requests
        counts["authRequests"] = await self._batches(
            q,
            select(q.c.id).where(
                q.c.expires_at < moment - AUTH_REQUEST_GRACE,
                or_(
                    q.c.code_expires_at.is_(None),
                    q.c.code_expires_at < moment - AUTH_REQUEST_GRACE,
                ),
            ),
        )
        k = t.oidc_access_tokens
        counts["accessTokens"] = await self._batches(
            k, select(k.c.id).where(k.c.expires_at < moment - ACCESS_TOKEN_GRACE)
        )
        g, rotated = t.oidc_sessions, t.oidc_rotated_refresh_tokens
        # A grant's last access token was issued at its last change at the latest.
        counts["grants"] = await self._batches(
            g,
            select(g.c.id).where(
                g.c.changed_at < moment - r.longest_token - GRANT_GRACE,
                or_(
                    g.c.revoked.is_(True),
                    g.c.refresh_expires_at.is_(None),
                    g.c.refresh_expires_at < moment,
                ),
            ),
            before=lambda ids: delete(rotated).where(rotated.c.oidc_session_id.in_(ids)),
        )
        return counts

    async def _run(self, interval: timedelta) -> None:
        while True:
            try:
                counts = await self.prune_once()
                if any(counts.values()):
                    log.info("pruned %s", ", ".join(f"{n} {k}" for k, n in counts.items() if n))
            except Exception:
                log.exception("pruning failed; trying again in %s", interval)
            await asyncio.sleep(interval.total_seconds())

    def start(self) -> None:
        """Prune every ``interval`` in the background (not at all when it is off)."""
        if self.retention.interval is not None:
            self._task = asyncio.create_task(
                self._run(self.retention.interval), name="keyhook-retention"
            )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
