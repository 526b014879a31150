"""Paging against a real database: every page of ``count_and_rows`` holds exactly the
rows a plain ``OFFSET`` read gives, whether it was read from the start or, nearer the
end, backwards from the end. SQLite, and PostgreSQL when ``KEYHOOK_TEST_DATABASE_URL``
names one (a fresh database is created and dropped)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from keyhook.query.paging import Search, count_and_rows, page, reversed_order
from keyhook.storage.database import Database
from keyhook.storage.migrate import upgrade
from tests.support.databases import ENGINES, migrated_database

AT = datetime(2026, 1, 10, 10, 30, tzinfo=UTC)
ROWS = 57  # of the instance searched; the other instance has a few more


@pytest.fixture(scope="module", params=ENGINES)
async def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Database]:
    rows = [
        {
            "id": f"{1000 + n}",
            "instance_id": "i1" if n < ROWS else "i2",
            "target_id": "t1",
            "kind": "request",
            "trigger": "/m",
            "status_code": 200,
            "duration_ms": 1.0,
            "error": None if n % 3 else "boom",
            "created_at": AT + timedelta(seconds=n),
        }
        for n in range(ROWS + 5)
    ]
    directory = Path(tmp_path_factory.mktemp("paging"))
    async with migrated_database(request.param, directory) as database:
        async with database.write() as conn:
            await conn.execute_many(
                "INSERT INTO execution_calls (id, instance_id, target_id, kind, trigger, "
                "status_code, duration_ms, error, created_at) VALUES (:id, :instance_id, "
                ":target_id, :kind, :trigger, :status_code, :duration_ms, :error, :created_at)",
                rows,
            )
        yield database


def _search(failed_only: bool = False) -> Search:
    search = Search("SELECT * FROM execution_calls")
    search.where("instance_id = :instance_id", instance_id="i1")
    if failed_only:
        search.where("error IS NOT NULL")
    return search


@pytest.mark.parametrize("order", ["id", "id DESC"])
@pytest.mark.parametrize("limit", [1, 7, 30, 100])
@pytest.mark.parametrize("failed_only", [False, True])
async def test_every_page_is_the_plain_offset_page(
    db: Database, order: str, limit: int, failed_only: bool
) -> None:
    async with db.read() as conn:
        everything = [r.id for r in await page(conn, _search(failed_only), order, 0, 1000)]
        for offset in range(len(everything) + 3):
            total, rows = await count_and_rows(conn, _search(failed_only), order, offset, limit)
            assert total == len(everything)
            assert [r.id for r in rows] == everything[offset : offset + limit], offset
    assert len(everything) == (ROWS if not failed_only else len(range(0, ROWS, 3)))


async def test_rows_read_from_the_end_come_back_whole(db: Database) -> None:
    async with db.read() as conn:
        [last] = (await count_and_rows(conn, _search(), "id", ROWS - 1, 10))[1]
    assert last.id == str(1000 + ROWS - 1)
    assert last.created_at == AT + timedelta(seconds=ROWS - 1)
    assert last.instance_id == "i1"


def test_reversed_order() -> None:
    assert reversed_order("id") == "id DESC"
    assert reversed_order("id DESC") == "id"
    assert reversed_order("attempted_at, id desc") == "attempted_at DESC, id"
    assert reversed_order("condition_key ASC") == "condition_key DESC"
    for unreadable in ("", "id, ", "id NULLS FIRST", "a DESC NULLS LAST", "id SIDEWAYS"):
        with pytest.raises(ValueError, match="cannot reverse"):
            reversed_order(unreadable)


async def test_the_count_is_right_with_one_instance_and_with_two(tmp_path: Path) -> None:
    # With one instance a list counts the whole table (SQLite's fast count); with a
    # second instance it must count by instance again.
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'keyhook.db'}")
    await upgrade(database)

    async def add_instance(instance_id: str, calls: int) -> None:
        async with database.write() as conn:
            await conn.execute(
                "INSERT INTO instances (id, name, default_org_id, admin_user_id, "
                "actions_generation, lockout_max_attempts, created_at) VALUES "
                "(:id, :id, 'o', 'a', 0, 5, :at)",
                {"id": instance_id, "at": AT},
            )
            await conn.execute_many(
                "INSERT INTO execution_calls (id, instance_id, target_id, kind, trigger, "
                "status_code, duration_ms, error, created_at) VALUES (:id, :instance_id, "
                "'t1', 'request', '/m', 200, 1.0, NULL, :at)",
                [
                    {"id": f"{instance_id}-{n}", "instance_id": instance_id, "at": AT}
                    for n in range(calls)
                ],
            )

    def of(instance_id: str) -> Search:
        return Search("SELECT * FROM execution_calls").where(
            "instance_id = :instance_id", instance_id=instance_id
        )

    try:
        await add_instance("i1", 12)
        async with database.read() as conn:
            assert (await count_and_rows(conn, of("i1"), "id", 0, 5))[0] == 12
            assert (await count_and_rows(conn, of("nobody"), "id", 0, 5))[0] == 0
        await add_instance("i2", 5)
        async with database.read() as conn:
            assert (await count_and_rows(conn, of("i1"), "id", 0, 5))[0] == 12
            assert (await count_and_rows(conn, of("i2"), "id", 0, 5))[0] == 5
    finally:
        await database.close()
