"""Per-target counters by hour (table ``target_stats``), kept where calls and attempts
are written, so a target's health and the overview read a few rows instead of
grouping every call and attempt of the last 24 hours.

One row per instance, target, source and hour (UTC): ``source`` is ``call`` (a
synchronous call of a request, response or function execution, from the call log;
test calls are left out) or ``delivery`` (one attempt of an event or ``restAsync``
delivery). A row counts what succeeded (the target answered 2xx and its answer was
usable: the record has no error), what failed, and of the failed delivery attempts
those that ended their delivery (``gave_up``: the delivery is ``failed`` for good);
the durations go into a histogram of fixed, log-spaced buckets (four per doubling:
each bound is 2^(1/4) ≈ 1.19 times the one before, from 0.5 ms to ≈ 311 s, the last
bucket also holding anything longer), and the row keeps its hour's last call or
attempt (time, the call's or the delivery's id, status code, error, success).

A quantile read from the histogram is the upper bound of the bucket it falls in:
at most 19 % above the true value, never below it.

The counters are added in the transaction that writes the call records or the
attempts: one ``INSERT … ON CONFLICT … DO UPDATE`` per row a batch touches (per
target and hour, not per sample), naming only the buckets it adds to, rows in key
order so concurrent writers on PostgreSQL lock them in the same order.
:func:`rebuild_sql` recounts the rows from ``execution_calls`` and
``delivery_attempts`` (the migration's backfill, the scale benchmark's seed).
Imports only the standard library and :mod:`keyhook.storage`.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from keyhook.storage.connection import Connection
from keyhook.storage.schema import STAT_BUCKETS
from keyhook.storage.text import storable

# Upper bounds (ms) of the histogram's buckets: 2^(k/4) for k = -4 … 73.
BOUNDS: tuple[float, ...] = tuple(2 ** ((i - 4) / 4) for i in range(STAT_BUCKETS))
BUCKETS = tuple(f"b{i:02d}" for i in range(len(BOUNDS)))
SOURCES = ("call", "delivery")
# How much of the last error a row keeps (the whole error is in the call or attempt).
ERROR_CHARS = 300


def bucket_of(duration_ms: float) -> int:
    """The bucket of a duration: the first whose upper bound is not below it."""
    return min(bisect_left(BOUNDS, duration_ms), len(BOUNDS) - 1)


def quantile(counts: Sequence[int], q: float) -> float | None:
    """The upper bound (ms) of the bucket holding the ``q``-quantile (nearest rank) of
    a histogram; None for an empty one."""
    total = sum(counts)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index, count in enumerate(counts):
        seen += count
        if seen >= rank:
            return BOUNDS[index]
    return BOUNDS[-1]


@dataclass(frozen=True)
class Sample:
    """One call or attempt, as the counters see it."""

    instance_id: str
    target_id: str
    source: str  # "call" or "delivery"
    at: datetime  # when it was made
    duration_ms: float
    ref: str  # the call's id or the delivery's
    status_code: int | None
    error: str | None  # None: it succeeded
    gave_up: bool = False  # a delivery attempt that ended its delivery failed


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


_KEY = ("instance_id", "target_id", "source", "hour_at")
_FIXED = (
    *_KEY,
    "succeeded",
    "failed",
    "gave_up",
    "last_at",
    "last_ref",
    "last_status",
    "last_error",
    "last_ok",
)
_COLUMNS = (*_FIXED, *BUCKETS)
_LAST = ("last_ref", "last_status", "last_error", "last_ok")
# The newest of the two rows' last outcomes wins (ties: the one being added).
_NEWER = "excluded.last_at >= target_stats.last_at"


@lru_cache(maxsize=256)
def upsert_sql(buckets: tuple[int, ...]) -> str:
    """The upsert of a row whose samples fell in ``buckets``: only those bucket columns
    are named (the others default to 0): binding and adding all 78 made a row's upsert
    twice as dear (SQLite, ≈ 65 against 30 µs, docs/performance.md). A batch's rows hit
    a few buckets each, so few texts are ever made."""
    names = [*_FIXED, *(BUCKETS[i] for i in buckets)]
    summed = ["succeeded", "failed", "gave_up", *(BUCKETS[i] for i in buckets)]
    return (
        f"INSERT INTO target_stats ({', '.join(names)}) "  # noqa: S608 - constant text
        f"VALUES ({', '.join(':' + c for c in names)}) "
        "ON CONFLICT (instance_id, target_id, source, hour_at) DO UPDATE SET "
        + ", ".join(f"{c} = target_stats.{c} + excluded.{c}" for c in summed)
        + ", "
        + ", ".join(
            f"{c} = CASE WHEN {_NEWER} THEN excluded.{c} ELSE target_stats.{c} END" for c in _LAST
        )
        + f", last_at = CASE WHEN {_NEWER} THEN excluded.last_at ELSE target_stats.last_at END"
    )


@dataclass
class _Row:
    succeeded: int = 0
    failed: int = 0
    gave_up: int = 0
    last: Sample | None = None
    buckets: dict[int, int] = field(default_factory=dict)


def rows_of(samples: Iterable[Sample]) -> list[tuple[tuple[int, ...], dict[str, object]]]:
    """The samples summed per row of ``target_stats``, in key order, each with the
    buckets it adds to (its :func:`upsert_sql`)."""
    rows: dict[tuple[str, str, str, datetime], _Row] = {}
    for s in samples:
        row = rows.setdefault((s.instance_id, s.target_id, s.source, _hour(s.at)), _Row())
        if s.error is None:
            row.succeeded += 1
        else:
            row.failed += 1
        row.gave_up += s.gave_up
        bucket = bucket_of(s.duration_ms)
        row.buckets[bucket] = row.buckets.get(bucket, 0) + 1
        if row.last is None or s.at >= row.last.at:
            row.last = s
    found: list[tuple[tuple[int, ...], dict[str, object]]] = []
    for (instance_id, target_id, source, hour), row in sorted(rows.items()):
        last = row.last
        assert last is not None  # every row counts at least one sample
        error = None if last.error is None else storable(last.error[:ERROR_CHARS])
        buckets = tuple(sorted(row.buckets))
        values: dict[str, object] = {
            "instance_id": instance_id,
            "target_id": target_id,
            "source": source,
            "hour_at": hour,
            "succeeded": row.succeeded,
            "failed": row.failed,
            "gave_up": row.gave_up,
            "last_at": last.at,
            "last_ref": last.ref,
            "last_status": last.status_code,
            "last_error": error,
            "last_ok": last.error is None,
        }
        for i in buckets:
            values[BUCKETS[i]] = row.buckets[i]
        found.append((buckets, values))
    return found


async def add(conn: Connection, samples: Iterable[Sample]) -> None:
    """Count ``samples`` in ``conn``'s transaction, a row at a time in key order (so
    concurrent writers on PostgreSQL lock rows in one order and never deadlock)."""
    for buckets, values in rows_of(samples):
        await conn.execute(upsert_sql(buckets), values)


def _hour_sql(sqlite: bool, column: str) -> str:
    if sqlite:  # SQLite keeps times as 'YYYY-MM-DD HH:MM:SS.ffffff' text, UTC
        return f"substr({column}, 1, 13) || ':00:00.000000'"
    return f"date_trunc('hour', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"


def rebuild_sql(sqlite: bool) -> str:
    """One statement that counts every call and attempt into an empty ``target_stats``.

    A delivery's last attempt ended it if the delivery is ``failed`` (a delivery sent
    again by RetryDelivery counts its earlier end no more). Run it as driver SQL: the
    text holds colons that are not parameters."""
    bucket = (
        "CASE "
        + " ".join(f"WHEN duration_ms <= {bound!r} THEN {i}" for i, bound in enumerate(BOUNDS))
        + f" ELSE {len(BOUNDS) - 1} END"
    )
    raw = (
        "SELECT instance_id, target_id, 'call' AS source, "  # noqa: S608 - constant text
        f"{_hour_sql(sqlite, 'created_at')} AS hour_at, created_at AS at, id AS ref, "
        "status_code, error, duration_ms, 0 AS gave_up "
        "FROM execution_calls WHERE kind <> 'test' "
        "UNION ALL "
        "SELECT d.instance_id, d.target_id, 'delivery', "
        f"{_hour_sql(sqlite, 'a.attempted_at')}, a.attempted_at, d.id, a.status_code, "
        "a.error, a.duration_ms, CASE WHEN d.status = 'failed' AND row_number() OVER ("
        "PARTITION BY a.delivery_id ORDER BY a.attempted_at DESC, a.id DESC) = 1 "
        "THEN 1 ELSE 0 END "
        "FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id"
    )
    numbered = (
        f"SELECT r.*, {bucket} AS bucket, CASE WHEN error IS NULL THEN 1 ELSE 0 END AS ok, "  # noqa: S608
        "row_number() OVER (PARTITION BY instance_id, target_id, source, hour_at "
        "ORDER BY at DESC, ref DESC) AS newest "
        f"FROM ({raw}) r"
    )
    ok_type = "" if sqlite else "::boolean"
    sums = ", ".join(f"sum(CASE WHEN bucket = {i} THEN 1 ELSE 0 END)" for i in range(len(BOUNDS)))
    last_error = f"max(CASE WHEN newest = 1 THEN substr(error, 1, {ERROR_CHARS}) END)"
    return (
        f"INSERT INTO target_stats ({', '.join(_COLUMNS)}) "  # noqa: S608 - constant text
        "SELECT instance_id, target_id, source, hour_at, sum(ok), sum(1 - ok), sum(gave_up), "
        "max(CASE WHEN newest = 1 THEN at END), max(CASE WHEN newest = 1 THEN ref END), "
        f"max(CASE WHEN newest = 1 THEN status_code END), {last_error}, "
        f"max(CASE WHEN newest = 1 THEN ok END){ok_type}, {sums} "
        f"FROM ({numbered}) n GROUP BY instance_id, target_id, source, hour_at"
    )
