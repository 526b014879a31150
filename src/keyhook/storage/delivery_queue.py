"""The delivery worker's hot statements, on the raw driver.

Measured (docs/performance.md): a claim through SQLAlchemy Core and aiosqlite
costs 2-4 ms, the same SELECT on the raw driver 0.04 ms. These few statements
run thousands of times a second, so they skip SQLAlchemy's compile and bind
layers. On PostgreSQL they run on an asyncpg connection of the worker's own. On
SQLite they run on a sqlite3 connection of their own, in the
event loop's thread (each statement takes tens of microseconds, less than the
hop to aiosqlite's thread would), in a ``BEGIN IMMEDIATE`` transaction taken in
turn with every other writer of the process. Everything else stays on
SQLAlchemy.

Timestamps on SQLite are written in SQLAlchemy's own storage format
(``YYYY-MM-DD HH:MM:SS.ffffff``, UTC), so values written here and there compare
correctly as strings.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from keyhook.storage.connection import sqlite_time
from keyhook.storage.database import Database
from keyhook.storage.text import storable

_SELECT_DUE = (
    "SELECT id, instance_id, target_id, trigger, payload, attempts FROM deliveries "
    "WHERE status = 'pending' AND next_attempt_at <= {at} "
    "AND (lease_until IS NULL OR lease_until < {at}) "
    "AND target_id NOT IN (SELECT id FROM targets WHERE paused) {excluded}"
    "ORDER BY next_attempt_at LIMIT {limit}"
)


@dataclass(frozen=True)
class DueRow:
    id: str
    instance_id: str
    target_id: str
    trigger: str
    payload: str
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt, for :meth:`DeliveryQueue.record`."""

    delivery_id: str
    owner: str
    status: str
    attempts: int
    next_attempt_at: datetime
    status_code: int | None
    error: str | None


class DeliveryQueue:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._postgres: Any = None
        self._postgres_lock = asyncio.Lock()  # claims and records take turns on it

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        """A write transaction on the raw driver connection."""
        if self.db.is_sqlite:
            async with self.db.sqlite_write_turn() as con:
                yield con
            return
        raw = await self._postgres_connection()
        async with self._postgres_lock, raw.transaction():
            yield raw

    async def _postgres_connection(self) -> Any:
        """A connection of the worker's own: no pool checkout, no reset, one less layer."""
        if self._postgres is None or self._postgres.is_closed():
            import asyncpg

            dsn = self.db.url.replace("postgresql+asyncpg://", "postgresql://", 1)
            self._postgres = await asyncpg.connect(dsn)
            # Leases and results may be lost in a crash without losing anything: the
            # delivery comes back when its lease ends and is sent again with the same
            # webhook-id (at least once). So these commits need not wait for the disk.
            await self._postgres.execute("SET synchronous_commit = off")
        return self._postgres

    async def close(self) -> None:
        if self._postgres is not None:
            await self._postgres.close()
            self._postgres = None

    async def due(
        self, raw: Any, at: datetime, limit: int, excluded: Sequence[str]
    ) -> list[DueRow]:
        """Due deliveries, locked (SKIP LOCKED) on PostgreSQL until the transaction ends."""
        if self.db.is_sqlite:
            marks = ",".join("?" * len(excluded))
            sql = _SELECT_DUE.format(
                at="?",
                limit="?",
                excluded=f"AND target_id NOT IN ({marks}) " if excluded else "",
            )
            stamp = sqlite_time(at)
            rows = raw.execute(sql, (stamp, stamp, *excluded, limit)).fetchall()
        else:
            sql = (
                _SELECT_DUE.format(
                    at="$1",
                    limit="$3",
                    excluded="AND NOT (target_id = ANY($2::text[])) ",
                )
                + " FOR UPDATE SKIP LOCKED"
            )
            rows = await raw.fetch(sql, at, list(excluded), limit)
        return [DueRow(*row) for row in rows]

    async def lease(self, raw: Any, ids: Sequence[str], owner: str, until: datetime) -> None:
        if self.db.is_sqlite:
            marks = ",".join("?" * len(ids))
            raw.execute(
                f"UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE id IN ({marks})",  # noqa: S608 - placeholders only
                (owner, sqlite_time(until), *ids),
            )
        else:
            await raw.execute(
                "UPDATE deliveries SET lease_owner = $1, lease_until = $2 "
                "WHERE id = ANY($3::text[])",
                owner,
                until,
                list(ids),
            )

    async def record(
        self,
        raw: Any,
        outcomes: Sequence[Outcome],
        attempts: Sequence[dict[str, Any]],
        at: datetime,
    ) -> None:
        """Each delivery's new state (only while its lease is still this worker's), and
        every attempt. Text from the receiver is made storable here, on its way in."""
        attempts = [
            {**a, "response_body": storable(a["response_body"]), "error": storable(a["error"])}
            for a in attempts
        ]
        if self.db.is_sqlite:
            stamp = sqlite_time(at)
            raw.executemany(
                "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, "
                "last_status_code = ?, last_error = ?, updated_at = ?, lease_owner = NULL, "
                "lease_until = NULL WHERE id = ? AND lease_owner = ?",
                [
                    (
                        o.status,
                        o.attempts,
                        sqlite_time(o.next_attempt_at),
                        o.status_code,
                        storable(o.error),
                        stamp,
                        o.delivery_id,
                        o.owner,
                    )
                    for o in outcomes
                ],
            )
            raw.executemany(
                "INSERT INTO delivery_attempts (id, delivery_id, worker, attempted_at, "
                "duration_ms, status_code, response_body, error) VALUES (?,?,?,?,?,?,?,?)",
                [
                    (
                        a["id"],
                        a["delivery_id"],
                        a["worker"],
                        sqlite_time(a["attempted_at"]),
                        a["duration_ms"],
                        a["status_code"],
                        a["response_body"],
                        a["error"],
                    )
                    for a in attempts
                ],
            )
        else:
            # One statement per table for the whole batch: arrays in, unnest on the server.
            await raw.execute(
                "UPDATE deliveries d SET status = u.status, attempts = u.attempts, "
                "next_attempt_at = u.next_at, last_status_code = u.code, last_error = u.error, "
                "updated_at = $1, lease_owner = NULL, lease_until = NULL "
                "FROM unnest($2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::int[], "
                "$7::text[], $8::text[]) AS u(id, status, attempts, next_at, code, error, owner) "
                "WHERE d.id = u.id AND d.lease_owner = u.owner",
                at,
                [o.delivery_id for o in outcomes],
                [o.status for o in outcomes],
                [o.attempts for o in outcomes],
                [o.next_attempt_at for o in outcomes],
                [o.status_code for o in outcomes],
                [storable(o.error) for o in outcomes],
                [o.owner for o in outcomes],
            )
            await raw.execute(
                "INSERT INTO delivery_attempts (id, delivery_id, worker, attempted_at, "
                "duration_ms, status_code, response_body, error) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], "
                "$5::float8[], $6::int[], $7::text[], $8::text[])",
                *(
                    [a[key] for a in attempts]
                    for key in (
                        "id",
                        "delivery_id",
                        "worker",
                        "attempted_at",
                        "duration_ms",
                        "status_code",
                        "response_body",
                        "error",
                    )
                ),
            )
