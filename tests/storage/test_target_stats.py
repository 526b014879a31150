"""The targets' hourly counters (keyhook.storage.target_stats): buckets and quantiles,
counts added in several transactions, the newest last outcome, and the recount from
the raw rows agreeing with what was added. SQLite, and PostgreSQL when
``KEYHOOK_TEST_DATABASE_URL`` is set."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from keyhook.config import normalise_database_url
from keyhook.storage import target_stats
from keyhook.storage.database import Database
from keyhook.storage.migrate import upgrade
from keyhook.storage.target_stats import BOUNDS, BUCKETS, Sample, bucket_of, quantile
from tests.support.databases import ENGINES, migrated_database
from tests.support.server import create_database, drop_database

HOUR = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)


@pytest.fixture(params=ENGINES)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        yield database


def test_a_duration_falls_in_the_first_bucket_whose_bound_is_not_below_it() -> None:
    assert BOUNDS[0] == 0.5 and BOUNDS[4] == 1.0 and BOUNDS[8] == 2.0
    assert bucket_of(0.0) == 0 and bucket_of(0.5) == 0 and bucket_of(0.51) == 1
    assert bucket_of(1.0) == 4 and bucket_of(1.0001) == 5
    assert BOUNDS[-1] > 270_000  # the longest timeout a target may have
    assert bucket_of(10**9) == len(BOUNDS) - 1
    for i in range(1, len(BOUNDS)):
        assert BOUNDS[i] / BOUNDS[i - 1] == pytest.approx(2**0.25)


def test_a_quantile_is_the_upper_bound_of_its_bucket() -> None:
    counts = [0] * len(BOUNDS)
    counts[bucket_of(3.0)] = 90  # 90 calls of 3 ms
    counts[bucket_of(400.0)] = 10  # 10 of 400 ms
    assert quantile(counts, 0.5) == BOUNDS[bucket_of(3.0)]
    assert quantile(counts, 0.90) == BOUNDS[bucket_of(3.0)]  # the 90th of 100 values
    assert quantile(counts, 0.95) == BOUNDS[bucket_of(400.0)]
    assert 400.0 <= quantile(counts, 0.95) < 400.0 * 2**0.25  # type: ignore[operator]
    assert quantile([0] * len(BOUNDS), 0.95) is None


def sample(minute: int, duration: float, error: str | None = None, **kw: Any) -> Sample:
    values: dict[str, Any] = {
        "instance_id": "i1",
        "target_id": "t1",
        "source": "call",
        "at": HOUR + timedelta(minutes=minute),
        "duration_ms": duration,
        "ref": f"c{minute}",
        "status_code": 500 if error else 200,
        "error": error,
    }
    values.update(kw)
    return Sample(**values)


async def rows(db: Database) -> dict[tuple[str, str, str, datetime], dict[str, Any]]:
    async with db.read() as conn:
        found = (await conn.execute("SELECT * FROM target_stats")).all()
    return {(r.target_id, r.source, r.instance_id, r.hour_at): dict(r) for r in found}


async def test_counts_add_up_across_transactions_and_the_newest_outcome_is_kept(
    db: Database,
) -> None:
    async with db.write() as conn:
        await target_stats.add(
            conn, [sample(10, 3.0), sample(20, 400.0, "the target answered 500")]
        )
    async with db.write() as conn:
        # An older call written later (another batch, another node) is counted but is not
        # the hour's last.
        await target_stats.add(conn, [sample(5, 3.0), sample(30, 0.2, source="delivery")])
    found = await rows(db)
    call = found[("t1", "call", "i1", HOUR)]
    assert (call["succeeded"], call["failed"], call["gave_up"]) == (2, 1, 0)
    assert call[BUCKETS[bucket_of(3.0)]] == 2 and call[BUCKETS[bucket_of(400.0)]] == 1
    assert sum(call[b] for b in BUCKETS) == 3
    assert call["last_ref"] == "c20" and call["last_status"] == 500
    assert call["last_ok"] is False and call["last_error"] == "the target answered 500"
    assert call["last_at"] == HOUR + timedelta(minutes=20)
    delivery = found[("t1", "delivery", "i1", HOUR)]
    assert (delivery["succeeded"], delivery["failed"], delivery["last_ok"]) == (1, 0, True)
    assert delivery[BUCKETS[0]] == 1
    async with db.write() as conn:
        await target_stats.add(conn, [sample(40, 1.0)])
    call = (await rows(db))[("t1", "call", "i1", HOUR)]
    assert (call["last_ref"], call["last_ok"], call["last_error"]) == ("c40", True, None)


async def _raw(db: Database, count: bool = True) -> None:
    """Calls and attempts as the server writes them, in two hours: a test call, a delivery
    that failed for good after two attempts, one that succeeded on its second; and, with
    ``count``, counted as the server counts them."""
    calls = [
        ("c1", "request", HOUR + timedelta(minutes=1), 2.5, 200, None),
        ("c2", "request", HOUR + timedelta(minutes=2), 700.0, 500, "the target answered 500"),
        ("c3", "test", HOUR + timedelta(minutes=3), 1.0, 200, None),
        ("c4", "function", HOUR + timedelta(hours=1, minutes=4), 0.3, 200, None),
    ]
    deliveries = [("d1", "failed"), ("d2", "succeeded")]
    attempts = [
        ("a1", "d1", HOUR + timedelta(minutes=5), 10.0, 503, "the target answered 503"),
        ("a2", "d1", HOUR + timedelta(minutes=6), 12.0, None, "timed out after 5s"),
        ("a3", "d2", HOUR + timedelta(minutes=7), 9.0, 500, "the target answered 500"),
        ("a4", "d2", HOUR + timedelta(hours=1, minutes=8), 8.0, 200, None),
    ]
    async with db.write() as conn:
        for id_, kind, at, duration, status, error in calls:
            await conn.execute(
                "INSERT INTO execution_calls (id, instance_id, target_id, kind, trigger, "
                "status_code, duration_ms, error, created_at) VALUES (:id, 'i1', 't1', :kind, "
                "'/m', :status, :duration, :error, :at)",
                {"id": id_, "kind": kind, "status": status, "duration": duration,
                 "error": error, "at": at},
            )  # fmt: skip
        for id_, state in deliveries:
            await conn.execute(
                "INSERT INTO deliveries (id, instance_id, target_id, kind, trigger, payload, "
                "status, attempts, next_attempt_at, created_at, updated_at) VALUES (:id, 'i1', "
                "'t1', 'event', 'user.locked', '{}', :status, 2, :at, :at, :at)",
                {"id": id_, "status": state, "at": HOUR},
            )
        for id_, delivery, at, duration, code, error in attempts:
            await conn.execute(
                "INSERT INTO delivery_attempts (id, delivery_id, worker, attempted_at, "
                "duration_ms, status_code, error) VALUES (:id, :delivery, 'w', :at, :duration, "
                ":status, :error)",
                {"id": id_, "delivery": delivery, "at": at, "duration": duration,
                 "status": code, "error": error},
            )  # fmt: skip
        if not count:
            return
        # What the server counts as it writes those rows (test calls are not counted).
        await target_stats.add(
            conn,
            [
                Sample("i1", "t1", "call", at, duration, id_, status, error)
                for id_, kind, at, duration, status, error in calls
                if kind != "test"
            ]
            + [
                Sample("i1", "t1", "delivery", at, duration, delivery, status, error,
                       gave_up=id_ == "a2")
                for id_, delivery, at, duration, status, error in attempts
            ],
        )  # fmt: skip


async def test_the_recount_from_the_raw_rows_equals_what_was_added(db: Database) -> None:
    await _raw(db)
    added = await rows(db)
    async with db.write() as conn:
        await conn.execute("DELETE FROM target_stats")
        await conn.execute(target_stats.rebuild_sql(conn.is_sqlite))
    recounted = await rows(db)
    assert recounted == added
    assert len(added) == 4  # two hours of calls, two of attempts
    first = added[("t1", "delivery", "i1", HOUR)]
    assert (first["succeeded"], first["failed"], first["gave_up"]) == (0, 3, 1)
    assert first["last_ref"] == "d2" and first["last_status"] == 500
    calls = added[("t1", "call", "i1", HOUR)]
    assert (calls["succeeded"], calls["failed"], calls["last_ref"]) == (1, 1, "c2")


@pytest.mark.parametrize("engine", ENGINES)
async def test_the_migration_counts_the_calls_and_attempts_already_there(
    engine: str, tmp_path: Path
) -> None:
    (tmp_path / "counted").mkdir()
    async with migrated_database(engine, tmp_path / "counted") as counted:
        await _raw(counted)
        expected = await rows(counted)
    name: str | None = None
    if engine == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    else:
        created, name = await create_database()
        assert created is not None
        url = normalise_database_url(created)
    old = Database(url)
    try:
        await upgrade(old, "0014")
        await _raw(old, count=False)
        await upgrade(old)
        assert await rows(old) == expected
    finally:
        await old.close()
        await drop_database(name)
