"""SQLite group commit: writers queued together share one COMMIT, and none of them
is told it committed unless it did."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keyhook.storage.database import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    path = tmp_path / "group.db"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    setup.execute("CREATE TABLE parents (id INTEGER PRIMARY KEY)")
    setup.execute(
        "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER "
        "REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED)"
    )
    setup.close()
    database = Database(f"sqlite+aiosqlite:///{path}")
    yield database
    await database.close()


def committed_ids(db: Database) -> list[int]:
    reader = sqlite3.connect(db.sqlite_path)
    try:
        return [row[0] for row in reader.execute("SELECT id FROM notes ORDER BY id")]
    finally:
        reader.close()


def count_commits(db: Database) -> list[str]:
    statements: list[str] = []
    db.sqlite_writer().set_trace_callback(statements.append)
    return statements


async def write_note(db: Database, note_id: int, *, linger: float = 0.0) -> list[int]:
    """Insert one note; return what another connection sees once the write returns."""
    async with db.write() as conn:
        await conn.execute("INSERT INTO notes (id, body) VALUES (:id, 'x')", {"id": note_id})
        if linger:
            await asyncio.sleep(linger)  # the others queue behind this turn meanwhile
    return committed_ids(db)


async def test_writers_queued_together_share_one_commit_and_each_returns_after_it(
    db: Database,
) -> None:
    statements = count_commits(db)
    seen = await asyncio.gather(
        write_note(db, 1, linger=0.02), *(write_note(db, n) for n in range(2, 7))
    )
    assert statements.count("COMMIT") == 1
    for note_id, visible in enumerate(seen, start=1):
        assert note_id in visible  # durable and visible to others before the writer returned


async def test_a_failing_writer_rolls_back_its_own_turn_alone(db: Database) -> None:
    async def failing() -> None:
        async with db.write() as conn:
            await conn.execute("INSERT INTO notes (id, body) VALUES (2, 'x')")
            raise ValueError("the command refused")

    results = await asyncio.gather(
        write_note(db, 1, linger=0.02), failing(), write_note(db, 3), return_exceptions=True
    )
    assert isinstance(results[1], ValueError)
    assert committed_ids(db) == [1, 3]


async def test_a_failed_commit_fails_every_writer_of_the_batch(db: Database) -> None:
    db.sqlite_writer().execute("PRAGMA foreign_keys=ON")  # checked at COMMIT: deferred

    async def orphan() -> None:
        async with db.write() as conn:
            await conn.execute("INSERT INTO children (id, parent_id) VALUES (1, 404)")

    results = await asyncio.gather(
        write_note(db, 1, linger=0.02), orphan(), write_note(db, 3), return_exceptions=True
    )
    assert all(isinstance(result, sqlite3.IntegrityError) for result in results), results
    assert committed_ids(db) == []
    assert await write_note(db, 4) == [4]  # the next batch starts clean


async def test_when_sqlite_rolls_back_the_whole_batch_no_turn_in_it_is_told_it_committed(
    db: Database,
) -> None:
    async def interrupted() -> None:
        async with db.write() as conn:
            raw = db.sqlite_writer()
            raw.set_progress_handler(lambda: 1, 1)  # as a full disk or an I/O error would
            try:
                await conn.execute("INSERT INTO notes (id, body) VALUES (2, 'x')")
            finally:
                raw.set_progress_handler(None, 1)

    results = await asyncio.gather(
        write_note(db, 1, linger=0.02), interrupted(), return_exceptions=True
    )
    assert isinstance(results[0], sqlite3.OperationalError), results
    assert "rolled back with the rest of its group-commit batch" in str(results[0])
    assert isinstance(results[1], sqlite3.OperationalError)
    assert committed_ids(db) == []
    # The writer after it gets a batch of its own and is told the truth.
    assert await write_note(db, 3) == [3]
    statements = count_commits(db)
    assert await write_note(db, 4) == [3, 4]
    assert "COMMIT" in statements


async def test_after_commit_runs_even_when_the_writer_is_cancelled_while_it_waits(
    db: Database,
) -> None:
    woken: list[str] = []

    async def with_callback() -> None:
        async with db.write() as conn:
            await conn.execute("INSERT INTO notes (id, body) VALUES (1, 'x')")
            db.after_commit(conn, lambda: woken.append("committed"))
            await asyncio.sleep(0.01)  # the slow writer queues behind this turn

    first = asyncio.create_task(with_callback())
    slow = asyncio.create_task(write_note(db, 2, linger=0.1))
    await asyncio.sleep(0.05)  # first has had its turn and waits for the batch
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert woken == []  # nothing committed yet
    await slow
    await asyncio.sleep(0)
    assert woken == ["committed"]
    assert committed_ids(db) == [1, 2]


async def test_after_commit_does_not_run_for_a_batch_that_failed(db: Database) -> None:
    db.sqlite_writer().execute("PRAGMA foreign_keys=ON")
    woken: list[str] = []

    async def noted() -> None:
        async with db.write() as conn:
            await conn.execute("INSERT INTO notes (id, body) VALUES (1, 'x')")
            db.after_commit(conn, lambda: woken.append("committed"))
            await asyncio.sleep(0.01)

    async def orphan() -> None:
        async with db.write() as conn:
            await conn.execute("INSERT INTO children (id, parent_id) VALUES (1, 404)")

    await asyncio.gather(noted(), orphan(), return_exceptions=True)
    await asyncio.sleep(0)
    assert woken == []


async def test_the_first_turn_of_a_batch_failing_leaves_nothing_and_the_next_commits(
    db: Database,
) -> None:
    async def failing_first() -> None:
        async with db.write() as conn:
            await conn.execute("INSERT INTO notes (id, body) VALUES (1, 'x')")
            await asyncio.sleep(0.02)  # the next writer queues behind this turn
            raise ValueError("the command refused")

    results = await asyncio.gather(failing_first(), write_note(db, 2), return_exceptions=True)
    assert isinstance(results[0], ValueError)
    assert results[1] == [2]
    assert committed_ids(db) == [2]


async def test_a_commit_cancelled_while_it_waits_does_not_stop_later_commits(
    db: Database,
) -> None:
    first = asyncio.create_task(write_note(db, 1))
    second = asyncio.create_task(write_note(db, 2, linger=0.05))
    await asyncio.sleep(0.01)  # first has had its turn, second is in its own
    committer = db._committer
    assert committer is not None, "the commit waits for the second turn to end"
    committer.cancel()  # as closing the database would
    results = await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert list(results) == [[1, 2], [1, 2]], "the next turn scheduled the commit again"
