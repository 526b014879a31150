"""The event store against a real database: a SQLite file, and PostgreSQL when
``KEYHOOK_TEST_DATABASE_URL`` names one (a fresh database is created and dropped)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from keyhook.errors import AlreadyExists, Conflict
from keyhook.eventstore.store import (
    PendingEvent,
    UniqueClaim,
    aggregate_events,
    append,
    current_sequence,
    events_after,
)
from keyhook.storage.database import Database
from tests.support.databases import ENGINES, migrated_database

INSTANCE = "100"
AT = datetime(2026, 1, 10, 10, 30, 0, 123456, tzinfo=UTC)


@pytest.fixture(params=ENGINES)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        yield database


def user_event(user_id: str, event_type: str = "user.human.added", **data: object) -> PendingEvent:
    return PendingEvent(event_type, "user", user_id, "200", {"userId": user_id, **data})


async def count(database: Database, table: str = "events") -> int:
    counted = "events" if table == "events" else "unique_constraints"
    async with database.read() as conn:
        return int((await conn.execute(f"SELECT count(*) FROM {counted}")).scalar_one())  # noqa: S608 - constant text


async def test_sequences_increase_per_aggregate(db: Database) -> None:
    async with db.write() as conn:
        first = await append(
            conn,
            instance_id=INSTANCE,
            creator="1",
            at=AT,
            pending=[
                user_event("300", userName="john"),
                user_event("301", userName="jane"),
                user_event("300", "user.locked", reason="Locked by administrator"),
            ],
        )
    assert [(e.aggregate_id, e.sequence) for e in first] == [("300", 1), ("301", 1), ("300", 2)]
    assert first[0].position < first[1].position < first[2].position

    async with db.write() as conn:
        second = await append(
            conn,
            instance_id=INSTANCE,
            creator="1",
            at=AT + timedelta(seconds=1),
            pending=[user_event("300", "user.unlocked")],
            expected={("user", "300"): 2},
        )
    assert second[0].sequence == 3
    assert second[0].position > first[2].position

    async with db.read() as conn:
        assert await current_sequence(conn, INSTANCE, "user", "300") == 3
        assert await current_sequence(conn, INSTANCE, "user", "301") == 1
        assert await current_sequence(conn, INSTANCE, "user", "999") == 0
        # Another instance has its own sequences.
        assert await current_sequence(conn, "other", "user", "300") == 0
        history = await aggregate_events(conn, INSTANCE, "user", "300")
    assert [(e.sequence, e.type) for e in history] == [
        (1, "user.human.added"),
        (2, "user.locked"),
        (3, "user.unlocked"),
    ]


async def test_a_command_of_many_events_keeps_their_order_across_statements(
    db: Database,
) -> None:
    # More events than one INSERT carries: positions follow the command's order, and
    # what comes back is what was stored.
    pending = [user_event(str(400 + i % 3), "user.metadata.set", n=i) for i in range(1201)]
    async with db.write() as conn:
        stored = await append(conn, instance_id=INSTANCE, creator="1", at=AT, pending=pending)
    assert [e.data["n"] for e in stored] == list(range(1201))
    positions = [e.position for e in stored]
    assert positions == sorted(positions) and len(set(positions)) == 1201
    assert [e.sequence for e in stored if e.aggregate_id == "401"] == list(range(1, 401))
    async with db.read() as conn:
        after = await events_after(conn, 0, limit=2000)
    assert [(e.position, e.aggregate_id, e.sequence, e.data) for e in after] == [
        (e.position, e.aggregate_id, e.sequence, e.data) for e in stored
    ]


async def test_events_come_back_with_their_data_and_aware_utc_timestamps(db: Database) -> None:
    data: dict[str, Any] = {
        "userName": "jürgen@example.com",
        "nested": {"list": [1, "two", None, True]},
    }
    async with db.write() as conn:
        [written] = await append(
            conn,
            instance_id=INSTANCE,
            creator="42",
            at=AT,
            pending=[PendingEvent("user.human.added", "user", "300", "200", data)],
        )
    async with db.read() as conn:
        [read] = await aggregate_events(conn, INSTANCE, "user", "300")
    assert read == written
    assert read.data == data
    assert read.creator == "42"
    assert read.resource_owner == "200"
    assert read.instance_id == INSTANCE
    assert read.aggregate_type == "user"
    assert read.created_at == AT
    assert read.created_at.utcoffset() == timedelta(0)


async def test_a_timestamp_in_another_zone_keeps_its_instant(db: Database) -> None:
    at = datetime(2026, 1, 10, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    async with db.write() as conn:
        await append(conn, instance_id=INSTANCE, creator="1", at=at, pending=[user_event("300")])
    async with db.read() as conn:
        [read] = await aggregate_events(conn, INSTANCE, "user", "300")
    assert read.created_at == at  # the same instant: 10:30 UTC
    assert read.created_at.utcoffset() == timedelta(0)


async def test_a_stale_expected_sequence_conflicts_and_writes_nothing(db: Database) -> None:
    async with db.write() as conn:
        await append(conn, instance_id=INSTANCE, creator="1", at=AT, pending=[user_event("300")])
    before = await count(db)

    with pytest.raises(Conflict) as caught:
        async with db.write() as conn:
            await append(
                conn,
                instance_id=INSTANCE,
                creator="1",
                at=AT,
                # Another aggregate's event and a unique claim come first in the same call.
                pending=[user_event("301"), user_event("300", "user.locked")],
                expected={("user", "300"): 0},  # the command saw no events; there is one
                claims=[UniqueClaim("user_name", "200:jane")],
            )
    assert caught.value.code == "aborted"
    assert await count(db) == before
    assert await count(db, "unique_constraints") == 0
    async with db.read() as conn:
        assert await aggregate_events(conn, INSTANCE, "user", "301") == []
        assert [e.type for e in await aggregate_events(conn, INSTANCE, "user", "300")] == [
            "user.human.added"
        ]

    # The database is usable afterwards and the write succeeds with the right sequence.
    async with db.write() as conn:
        [event] = await append(
            conn,
            instance_id=INSTANCE,
            creator="1",
            at=AT,
            pending=[user_event("300", "user.locked")],
            expected={("user", "300"): 1},
        )
    assert event.sequence == 2


async def test_unique_claims_collide_and_can_be_released(db: Database) -> None:
    claim = UniqueClaim("user_name", "200:john", error="user name john is taken")
    async with db.write() as conn:
        await append(
            conn,
            instance_id=INSTANCE,
            creator="1",
            at=AT,
            pending=[user_event("300")],
            claims=[claim],
        )

    with pytest.raises(AlreadyExists, match="user name john is taken"):
        async with db.write() as conn:
            await append(
                conn,
                instance_id=INSTANCE,
                creator="1",
                at=AT,
                pending=[user_event("301")],
                claims=[claim],
            )
    async with db.read() as conn:
        assert await aggregate_events(conn, INSTANCE, "user", "301") == []

    # Without a custom error the message names the type and value.
    with pytest.raises(AlreadyExists, match="user_name '200:john' already exists"):
        async with db.write() as conn:
            await append(
                conn,
                instance_id=INSTANCE,
                creator="1",
                at=AT,
                pending=[],
                claims=[UniqueClaim("user_name", "200:john")],
            )

    # The same value in another instance, or of another type, is free.
    async with db.write() as conn:
        await append(conn, instance_id="other", creator="1", at=AT, pending=[], claims=[claim])
        await append(
            conn,
            instance_id=INSTANCE,
            creator="1",
            at=AT,
            pending=[],
            claims=[UniqueClaim("target_name", "200:john")],
        )

    async with db.write() as conn:
        await append(
            conn,
            instance_id=INSTANCE,
            creator="1",
            at=AT,
            pending=[user_event("300", "user.removed")],
            claims=[UniqueClaim("user_name", "200:john", add=False)],
        )
    async with db.write() as conn:
        [event] = await append(
            conn,
            instance_id=INSTANCE,
            creator="1",
            at=AT,
            pending=[user_event("301")],
            claims=[claim],
        )
    assert event.aggregate_id == "301"
    assert await count(db, "unique_constraints") == 3


async def test_events_after_reads_in_position_order_with_a_limit(db: Database) -> None:
    async with db.write() as conn:
        written = await append(
            conn,
            instance_id=INSTANCE,
            creator="1",
            at=AT,
            pending=[user_event(str(300 + i)) for i in range(5)],
        )
    async with db.read() as conn:
        assert await events_after(conn, 0) == written
        assert await events_after(conn, written[1].position, limit=2) == written[2:4]
        assert await events_after(conn, written[-1].position) == []


async def _blocked_on_a_lock(db: Database) -> bool:
    async with db.read() as conn:
        waiting = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(waiting.scalar_one()) > 0


async def test_a_claim_won_by_a_concurrent_transaction_is_already_exists(db: Database) -> None:
    """Issue 8, finding 10: both transactions saw the name free; the loser's insert hits
    the primary key, and that is AlreadyExists, not a driver error (a 500)."""
    if db.is_sqlite:
        pytest.skip("SQLite serialises writers: two transactions cannot both pass the check")
    claim = UniqueClaim("target_name", "race", error="a target named 'race' already exists")

    async def claim_in_own_transaction(aggregate_id: str) -> None:
        async with db.write() as conn:
            await append(
                conn,
                instance_id=INSTANCE,
                creator="1",
                at=AT,
                pending=[user_event(aggregate_id)],
                claims=[claim],
            )

    async with db.write() as first:
        await append(
            first,
            instance_id=INSTANCE,
            creator="1",
            at=AT,
            pending=[user_event("300")],
            claims=[claim],
        )
        second = asyncio.create_task(claim_in_own_transaction("301"))
        # The second has passed the check and waits on the first's uncommitted row.
        while not await _blocked_on_a_lock(db):
            assert not second.done(), second
            await asyncio.sleep(0.01)
    with pytest.raises(AlreadyExists, match="a target named 'race' already exists"):
        await second
    assert await count(db, "unique_constraints") == 1
    async with db.read() as conn:
        assert await aggregate_events(conn, INSTANCE, "user", "301") == []
