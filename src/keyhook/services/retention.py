"""Pruning: finished records past their retention, and OIDC rows nothing can use any more.

Events are never deleted: the event store is the record of what happened. What
goes are rows of tables that only serve reads and would otherwise grow for ever:

- succeeded and failed deliveries, with their attempts, ``KEYHOOK_RETENTION_DELIVERIES``
  after their last change (pending ones never);
- the record of synchronous target calls, ``KEYHOOK_RETENTION_CALLS`` after the call;
- the targets' hourly counters (``target_stats``) of delivery attempts and of calls,
  each as long as the deliveries and the calls are kept, counted from the hour's end;
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

from keyhook.clock import now
from keyhook.command.oidc_keys import longest_jwt_lifetime
from keyhook.config import Settings
from keyhook.domain.durations import parse_duration
from keyhook.errors import field_error
from keyhook.storage.database import Database

log = logging.getLogger("keyhook.retention")

BATCH = 500
AUTH_REQUEST_GRACE = timedelta(days=1)
ACCESS_TOKEN_GRACE = timedelta(hours=1)
GRANT_GRACE = timedelta(days=1)
# A refresh that found its grant valid just before the refresh token expired is
# still writing: its grant is kept this long past that expiry (the refresh command
# relies on the row it read, see OidcCommands.refresh).
REFRESH_EXPIRY_GRACE = timedelta(minutes=5)


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

    async def _batches(
        self,
        table: str,
        where: str,
        params: dict[str, Any],
        *,
        children: tuple[str, str] | None = None,
    ) -> int:
        """Delete the rows of ``table`` that ``where`` selects (by id), a batch per
        transaction; ``children`` (table, column) are the rows pointing at them, deleted
        first."""
        select_ids = f"SELECT id FROM {table} WHERE {where} LIMIT :limit"  # noqa: S608 - constant text
        delete_rows = f"DELETE FROM {table} WHERE id IN (:ids)"  # noqa: S608 - constant text
        delete_children = (
            f"DELETE FROM {children[0]} WHERE {children[1]} IN (:ids)"  # noqa: S608 - constant text
            if children is not None
            else None
        )
        removed = 0
        while True:
            async with self.db.write() as conn:
                ids = (await conn.execute(select_ids, {**params, "limit": BATCH})).scalars()
                if not ids:
                    return removed
                if delete_children is not None:
                    await conn.execute(delete_children, {"ids": ids})
                await conn.execute(delete_rows, {"ids": ids})
            removed += len(ids)
            if len(ids) < BATCH:
                return removed

    async def _stats(self, source: str, before: datetime) -> int:
        """The hourly counters of ``source`` whose hour ended before ``before``: a few
        rows per target and hour, so one statement."""
        async with self.db.write() as conn:
            result = await conn.execute(
                "DELETE FROM target_stats WHERE source = :source AND hour_at < :before",
                {"source": source, "before": before - timedelta(hours=1)},
            )
        return max(result.rowcount, 0)

    async def prune_once(self, moment: datetime | None = None) -> dict[str, int]:
        """One pass over every kind of record; how many rows of each went."""
        moment = moment or now()
        r = self.retention
        counts: dict[str, int] = {}
        if r.deliveries is not None:
            counts["deliveries"] = await self._batches(
                "deliveries",
                "status IN ('succeeded', 'failed') AND updated_at < :before",
                {"before": moment - r.deliveries},
                children=("delivery_attempts", "delivery_id"),
            )
        if r.calls is not None:
            counts["calls"] = await self._batches(
                "execution_calls", "created_at < :before", {"before": moment - r.calls}
            )
        for source, kept in (("delivery", r.deliveries), ("call", r.calls)):
            if kept is not None:
                counts[f"{source}Stats"] = await self._stats(source, moment - kept)
        counts["authRequests"] = await self._batches(
            "oidc_auth_requests",
            "expires_at < :before AND (code_expires_at IS NULL OR code_expires_at < :before)",
            {"before": moment - AUTH_REQUEST_GRACE},
        )
        counts["accessTokens"] = await self._batches(
            "oidc_access_tokens",
            "expires_at < :before",
            {"before": moment - ACCESS_TOKEN_GRACE},
        )
        # A grant's last access token was issued at its last change at the latest.
        counts["grants"] = await self._batches(
            "oidc_sessions",
            "changed_at < :before "
            "AND (revoked OR refresh_expires_at IS NULL OR refresh_expires_at < :expired)",
            {
                "before": moment - r.longest_token - GRANT_GRACE,
                "expired": moment - REFRESH_EXPIRY_GRACE,
            },
            children=("oidc_rotated_refresh_tokens", "oidc_session_id"),
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
