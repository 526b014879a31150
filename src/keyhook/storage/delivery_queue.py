"""The delivery worker's hot statements.

These few statements run thousands of times a second (docs/performance.md), so
they are written with the engines' strengths in mind. They run on a
:class:`~keyhook.storage.connection.Connection` like every other statement, as
SQL text with ``:name`` parameters, but in transactions of their own:

* on SQLite, a ``BEGIN IMMEDIATE`` transaction on the process's writer
  connection, taken in turn with every other writer of the process
  (:meth:`~keyhook.storage.database.Database.sqlite_write_turn`). A list of ids
  is one JSON text read with ``json_each``, and a batch of results one
  ``executemany`` per table;
* on PostgreSQL, asyncpg connections of the worker's own (no pool checkout)
  with ``synchronous_commit = off``: one for claims, one for results, so a
  claim never waits behind the recording of a large batch (measured: the
  worker's pipeline ran dry while a 500-row record held the one connection).
  The two touch different rows: a claim locks due rows (``SKIP LOCKED`` passes
  over rows a record is updating), a record updates rows this worker leased.
  A list of ids is one array parameter, the claim locks its rows with
  ``FOR UPDATE SKIP LOCKED``, and a batch of results is one
  ``UPDATE … FROM unnest(…)`` and one ``INSERT … SELECT FROM unnest(…)``.

So each statement's text is the same whatever the batch's size.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from keyhook.storage import target_stats
from keyhook.storage.connection import (
    Array,
    Connection,
    PostgresConnection,
    SqliteConnection,
    sqlite_time,
)
from keyhook.storage.database import Database
from keyhook.storage.text import storable

# SQLite takes a list as one JSON text, read with json_each: one parameter and one
# statement text whatever the length (IN (:ids) binds, and compiles, one per item).

# The targets with pending deliveries after ``:after`` in id order, one index seek each
# (a loose scan of ix_deliveries_target_due), at most ``:walk`` of them, each with
# whether it has work now: not paused, and a due delivery nobody holds a lease on. A
# paused target's backlog, or a busy one's, is never walked row by row, and a claim
# examines at most ``:walk`` targets however many there are: the next claim goes on
# from where this one stopped.
_PENDING_TARGETS = (
    "WITH RECURSIVE pending(target_id, n) AS ("
    "SELECT min(target_id), 1 FROM deliveries WHERE status = 'pending' AND target_id > :after "
    "UNION ALL SELECT (SELECT min(target_id) FROM deliveries "
    "WHERE status = 'pending' AND target_id > pending.target_id), pending.n + 1 "
    "FROM pending WHERE pending.target_id IS NOT NULL AND pending.n < :walk) "
    "SELECT p.target_id, CASE WHEN p.target_id NOT IN (SELECT id FROM targets WHERE paused) "
    "AND EXISTS (SELECT 1 FROM deliveries AS d WHERE d.status = 'pending' "
    "AND d.target_id = p.target_id AND d.next_attempt_at <= :at "
    "AND (d.lease_until IS NULL OR d.lease_until < :at)) THEN 1 ELSE 0 END AS has_work "
    "FROM pending AS p WHERE p.target_id IS NOT NULL ORDER BY p.n"
)
# How many targets one claim examines at most.
TARGETS_PER_CLAIM = 256
# One target's due deliveries, oldest first: a range of the same index.
_DUE_OF_TARGET_SQLITE = (
    "SELECT id, instance_id, target_id, trigger, payload, attempts, kind FROM deliveries "
    "WHERE status = 'pending' AND target_id = :target_id AND next_attempt_at <= :at "
    "AND (lease_until IS NULL OR lease_until < :at) "
    "ORDER BY next_attempt_at LIMIT :cap"
)
# Every target's at once, each up to its own cap, locked (SKIP LOCKED passes over what
# another worker is claiming) and leased in the same statement: one round trip and no
# BEGIN or COMMIT, which under load cost milliseconds each (docs/performance.md).
_CLAIM_POSTGRES = (
    "WITH due AS (SELECT d.id "
    "FROM unnest(CAST(:targets AS TEXT[]), CAST(:caps AS INT[])) AS t(target_id, cap) "
    "CROSS JOIN LATERAL (SELECT id FROM deliveries "
    "WHERE status = 'pending' AND target_id = t.target_id "
    "AND next_attempt_at <= :at AND (lease_until IS NULL OR lease_until < :at) "
    "ORDER BY next_attempt_at LIMIT t.cap FOR UPDATE SKIP LOCKED) AS d LIMIT :limit) "
    "UPDATE deliveries SET lease_owner = :owner, lease_until = :until FROM due "
    "WHERE deliveries.id = due.id RETURNING deliveries.id, deliveries.instance_id, "
    "deliveries.target_id, deliveries.trigger, deliveries.payload, deliveries.attempts, "
    "deliveries.kind, deliveries.next_attempt_at"
)

_LEASE_SQLITE = (
    "UPDATE deliveries SET lease_owner = :owner, lease_until = :until "
    "WHERE id IN (SELECT value FROM json_each(:ids))"
)

# Leases given back before they end (a held delivery let go): claimable again at once.
_RELEASE_SQLITE = (
    "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE status = 'pending' "
    "AND lease_owner = :owner AND id IN (SELECT value FROM json_each(:ids))"
)
_RELEASE_POSTGRES = (
    "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE status = 'pending' "
    "AND lease_owner = :owner AND id = ANY(CAST(:ids AS TEXT[]))"
)

_RECORD_SQLITE = (
    "UPDATE deliveries SET status = :status, attempts = :attempts, "
    "next_attempt_at = :next_attempt_at, last_status_code = :status_code, last_error = :error, "
    "updated_at = :at, lease_owner = NULL, lease_until = NULL "
    "WHERE id = :id AND lease_owner = :owner"
)
_ATTEMPT_SQLITE = (
    "INSERT INTO delivery_attempts (id, delivery_id, worker, attempted_at, duration_ms, "
    "status_code, response_body, error, request_headers) VALUES (:id, :delivery_id, :worker, "
    ":attempted_at, :duration_ms, :status_code, :response_body, :error, :request_headers)"
)
# One statement per table for the whole batch: arrays in, unnest on the server.
_RECORD_POSTGRES = (
    "UPDATE deliveries d SET status = u.status, attempts = u.attempts, "
    "next_attempt_at = u.next_at, last_status_code = u.code, last_error = u.error, "
    "updated_at = :at, lease_owner = NULL, lease_until = NULL "
    "FROM unnest(CAST(:ids AS TEXT[]), CAST(:statuses AS TEXT[]), CAST(:attempts AS INT[]), "
    "CAST(:next_ats AS TIMESTAMPTZ[]), CAST(:codes AS INT[]), CAST(:errors AS TEXT[]), "
    "CAST(:owners AS TEXT[])) AS u(id, status, attempts, next_at, code, error, owner) "
    "WHERE d.id = u.id AND d.lease_owner = u.owner"
)
_ATTEMPT_COLUMNS = (
    "id",
    "delivery_id",
    "worker",
    "attempted_at",
    "duration_ms",
    "status_code",
    "response_body",
    "error",
    "request_headers",
)
_ATTEMPT_POSTGRES = (
    "INSERT INTO delivery_attempts (id, delivery_id, worker, attempted_at, "
    "duration_ms, status_code, response_body, error, request_headers) "
    "SELECT * FROM unnest(CAST(:id AS TEXT[]), CAST(:delivery_id AS TEXT[]), "
    "CAST(:worker AS TEXT[]), CAST(:attempted_at AS TIMESTAMPTZ[]), "
    "CAST(:duration_ms AS FLOAT8[]), CAST(:status_code AS INT[]), "
    "CAST(:response_body AS TEXT[]), CAST(:error AS TEXT[]), "
    "CAST(:request_headers AS TEXT[]))"
)


@dataclass(frozen=True)
class DueRow:
    id: str
    instance_id: str
    target_id: str
    trigger: str
    payload: str
    attempts: int
    kind: str = "event"  # or "request" / "response": a restAsync call of an execution


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


def _json_list(items: Sequence[str]) -> str:
    return orjson.dumps(list(items)).decode()


class DeliveryQueue:
    CLAIMS = "claims"
    RESULTS = "results"

    def __init__(self, db: Database) -> None:
        self.db = db
        self._after = ""  # where the next claim's walk over the targets begins
        self._postgres: dict[str, Any] = {}
        # Per lane, its transactions take turns on its connection.
        self._postgres_locks = {self.CLAIMS: asyncio.Lock(), self.RESULTS: asyncio.Lock()}

    @asynccontextmanager
    async def transaction(self, lane: str = RESULTS) -> AsyncIterator[Connection]:
        """A write transaction: committed on normal exit, rolled back on error."""
        if self.db.is_sqlite:
            callbacks: list[Callable[[], None]] = []
            async with self.db.sqlite_write_turn(callbacks) as raw:
                yield SqliteConnection(raw, after_commit=callbacks)
            return
        async with self._postgres_locks[lane]:
            raw = await self._postgres_connection(lane)
            async with raw.transaction():
                conn = PostgresConnection(raw)
                yield conn
        for callback in conn.after_commit:
            callback()

    @asynccontextmanager
    async def claims(self) -> AsyncIterator[Connection]:
        """Where :meth:`claim` runs: on SQLite a write transaction; on PostgreSQL the
        claims' own connection outside any transaction, since each of the claim's two
        statements stands alone (a read of which targets have work, then one statement
        that locks and leases)."""
        if self.db.is_sqlite:
            async with self.transaction(self.CLAIMS) as conn:
                yield conn
            return
        async with self._postgres_locks[self.CLAIMS]:
            yield PostgresConnection(await self._postgres_connection(self.CLAIMS))

    async def _postgres_connection(self, lane: str) -> Any:
        """A connection of the lane's own: no pool checkout, no reset, one less layer."""
        raw = self._postgres.get(lane)
        if raw is None or raw.is_closed():
            import asyncpg

            raw = await asyncpg.connect(self.db.postgres_dsn)
            # Leases and results may be lost in a crash without losing anything: the
            # delivery comes back when its lease ends and is sent again with the same
            # webhook-id (at least once). So these commits need not wait for the disk.
            await raw.execute("SET synchronous_commit = off")
            self._postgres[lane] = raw
        return raw

    async def close(self) -> None:
        for raw in self._postgres.values():
            await raw.close()
        self._postgres.clear()

    async def _targets_with_work(self, conn: Connection, at: datetime) -> list[str]:
        """Up to :data:`TARGETS_PER_CLAIM` targets examined, in id order from where the
        previous claim stopped (wrapping round once); those with work now."""
        found: list[str] = []
        budget, after, wrapped = TARGETS_PER_CLAIM, self._after, False
        while budget > 0:
            rows = (
                await conn.execute(_PENDING_TARGETS, {"after": after, "walk": budget, "at": at})
            ).all()
            for row in rows:
                if wrapped and row.target_id > self._after:
                    break  # round once: back where this claim began
                found += [row.target_id] if row.has_work else []
                after = row.target_id
            budget -= len(rows)
            if len(rows) == TARGETS_PER_CLAIM or budget <= 0 or wrapped or not self._after:
                break
            after, wrapped = "", True  # reached the last target: once more from the first
        self._after = after if budget <= 0 else ""
        return found

    async def claim(
        self,
        conn: Connection,
        at: datetime,
        limit: int,
        held: Mapping[str, int],
        hold: int,
        owner: str,
        until: datetime,
    ) -> tuple[list[DueRow], bool]:
        """Lease to ``owner`` until ``until`` at most ``limit`` due deliveries, and of
        each target at most what tops this worker's ``held`` count of it up to
        ``hold``; none of a target holding more than half of ``hold`` already. Also
        whether a target may have more due right now (it filled its share), so the
        caller claims again at once. On a connection from :meth:`claims`."""
        # Least held first (ties in the rotating order of the walk), an even share of
        # the limit each among the targets that have work, so one target's backlog does
        # not take every claim and targets late in id order are not left behind.
        candidates = sorted(
            (t for t in await self._targets_with_work(conn, at) if held.get(t, 0) <= hold // 2),
            key=lambda target: held.get(target, 0),
        )
        if not candidates:
            return [], False
        share = max(1, limit // len(candidates))
        caps = {target: min(hold - held.get(target, 0), share) for target in candidates}
        found: list[DueRow] = []
        if not conn.is_sqlite:
            rows = await conn.execute(
                _CLAIM_POSTGRES,
                {
                    "at": at,
                    "targets": Array(list(caps)),
                    "caps": Array(list(caps.values())),
                    "limit": limit,
                    "owner": owner,
                    "until": until,
                },
            )
            # RETURNING keeps no order: each target's oldest first, as they were chosen.
            ordered = sorted(rows, key=lambda row: (row["next_attempt_at"], row["id"]))
            found = [
                DueRow(row["id"], row["instance_id"], row["target_id"], row["trigger"],
                       row["payload"], row["attempts"], row["kind"])
                for row in ordered
            ]  # fmt: skip
        else:
            for target, cap in caps.items():
                rows = await conn.execute(
                    _DUE_OF_TARGET_SQLITE,
                    {"target_id": target, "at": at, "cap": min(cap, limit - len(found))},
                )
                found += [DueRow(**row) for row in rows]
                if len(found) >= limit:
                    break
            if found:
                await conn.execute(
                    _LEASE_SQLITE,
                    {"owner": owner, "until": until, "ids": _json_list([f.id for f in found])},
                )
        taken: dict[str, int] = {}
        for row in found:
            taken[row.target_id] = taken.get(row.target_id, 0) + 1
        more = any(taken.get(target, 0) >= cap for target, cap in caps.items())
        return found, more

    async def release(self, conn: Connection, ids: Sequence[str], owner: str) -> None:
        """Give back ``owner``'s leases of the pending deliveries ``ids``."""
        if conn.is_sqlite:
            await conn.execute(_RELEASE_SQLITE, {"owner": owner, "ids": _json_list(ids)})
        else:
            await conn.execute(_RELEASE_POSTGRES, {"owner": owner, "ids": Array(list(ids))})

    async def record(
        self,
        conn: Connection,
        outcomes: Sequence[Outcome],
        attempts: Sequence[dict[str, Any]],
        at: datetime,
        samples: Sequence[target_stats.Sample] = (),
    ) -> None:
        """Each delivery's new state (only while its lease is still this worker's), every
        attempt, and the attempts' ``samples`` counted into their targets' hourly
        counters (:mod:`keyhook.storage.target_stats`). Text from the receiver is made
        storable here, on its way in."""
        attempts = [
            {**a, "response_body": storable(a["response_body"]), "error": storable(a["error"])}
            for a in attempts
        ]
        if conn.is_sqlite:
            stamp = sqlite_time(at)  # converted once for the batch, not once per row
            await conn.execute_many(
                _RECORD_SQLITE,
                [
                    {
                        "status": o.status,
                        "attempts": o.attempts,
                        "next_attempt_at": o.next_attempt_at,
                        "status_code": o.status_code,
                        "error": storable(o.error),
                        "at": stamp,
                        "id": o.delivery_id,
                        "owner": o.owner,
                    }
                    for o in outcomes
                ],
            )
            await conn.execute_many(_ATTEMPT_SQLITE, attempts)
        else:
            await conn.execute(
                _RECORD_POSTGRES,
                {
                    "at": at,
                    "ids": Array([o.delivery_id for o in outcomes]),
                    "statuses": Array([o.status for o in outcomes]),
                    "attempts": Array([o.attempts for o in outcomes]),
                    "next_ats": Array([o.next_attempt_at for o in outcomes]),
                    "codes": Array([o.status_code for o in outcomes]),
                    "errors": Array([storable(o.error) for o in outcomes]),
                    "owners": Array([o.owner for o in outcomes]),
                },
            )
            await conn.execute(
                _ATTEMPT_POSTGRES,
                {key: Array([a[key] for a in attempts]) for key in _ATTEMPT_COLUMNS},
            )
        await target_stats.add(conn, samples)
