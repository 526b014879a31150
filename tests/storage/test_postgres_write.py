"""PostgreSQL write transactions that hold blind writes and send them together.

The grouping rules run without a database; the rest runs on PostgreSQL (skipped
without ``KEYHOOK_TEST_DATABASE_URL``): what a held write is sent with, what a
block sees, and what an error leaves behind."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keyhook.errors import Conflict
from keyhook.storage.connection import ExpectationFailed, IntegrityError, Later
from keyhook.storage.database import Database
from keyhook.storage.postgres_write import PostgresWrite, plan
from tests.support.databases import migrated_database

_ORG = "INSERT INTO orgs (id, instance_id, name, created_at) VALUES (:id, 'i1', :name, now())"
_TOKEN = (
    "INSERT INTO unique_constraints (instance_id, unique_type, unique_field) "
    "VALUES ('i1', 'test', :value)"
)
_CHECK = "SELECT keyhook_expect(:ok, 'the test said no')"


def _held(*texts: str) -> list[Later]:
    return [Later(text, None, None) for text in texts]


def _sizes(groups: list[list[Later]]) -> list[int]:
    return [len(group) for group in groups]


def test_writes_of_different_tables_and_checks_go_as_one_statement() -> None:
    held = _held(
        "INSERT INTO events (position) VALUES (1) RETURNING position",
        "INSERT INTO oidc_sessions (id) VALUES ('a')",
        "UPDATE oidc_access_tokens SET revoked = TRUE WHERE oidc_session_id = 'a'",
        "SELECT keyhook_expect(true, 'x') FROM instances",
    )
    assert _sizes(plan(held)) == [4]


def test_a_statement_that_reads_or_writes_a_table_written_before_it_starts_a_new_one() -> None:
    held = _held(
        "INSERT INTO oidc_sessions (id) VALUES ('a')",
        "UPDATE oidc_sessions SET revoked = TRUE WHERE id = 'a'",  # must see the insert
        "INSERT INTO users (id) VALUES ('u')",
        "UPDATE orgs SET name = (SELECT user_name FROM users WHERE id = 'u')",  # reads users
        "SELECT keyhook_expect(true, 'x') FROM orgs",  # reads what the update wrote
    )
    assert _sizes(plan(held)) == [1, 2, 1, 1]


def test_two_statements_returning_rows_and_statements_that_cannot_be_ctes_go_alone() -> None:
    held = _held(
        "INSERT INTO events (position) VALUES (1) RETURNING position",
        "INSERT INTO users (id) VALUES ('u') RETURNING id",
        "NOTIFY keyhook_deliveries",
        "INSERT INTO orgs (id) VALUES ('o')",
        "WITH x AS (SELECT 1) INSERT INTO targets (id) SELECT 't' FROM x",
        "INSERT INTO public.users (id) VALUES ('p')",  # a name the grouping does not know
        "SELECT keyhook_expect(true, 'x') FROM users",
    )
    assert _sizes(plan(held)) == [1, 1, 1, 1, 1, 1, 1]


# ---------------------------------------------------------------- on PostgreSQL

needs_postgres = pytest.mark.skipif(
    not os.environ.get("KEYHOOK_TEST_DATABASE_URL"), reason="KEYHOOK_TEST_DATABASE_URL is not set"
)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database("postgresql", tmp_path) as db:
        yield db


async def _count(db: Database, sql: str) -> int:
    async with db.read() as conn:
        return int((await conn.execute(sql)).scalar_one())


@needs_postgres
async def test_a_single_command_settles_as_one_statement_and_nothing_may_follow(
    database: Database,
) -> None:
    async with database.write(single=True) as conn:
        assert isinstance(conn, PostgresWrite)
        await conn.later(_ORG, {"id": "o1", "name": "first"})
        await conn.later(_TOKEN, {"value": "v1"})
        await conn.later(_CHECK, {"ok": True})
        assert await _count(database, "SELECT count(*) FROM orgs WHERE id = 'o1'") == 0
        await conn.settle()
        assert conn.committed and not conn.begun
        # Committed already: another connection sees both rows inside the block.
        assert await _count(database, "SELECT count(*) FROM orgs WHERE id = 'o1'") == 1
        assert await _count(database, "SELECT count(*) FROM unique_constraints") == 1
        with pytest.raises(RuntimeError, match="nothing after it"):
            await conn.execute("SELECT 1")


@needs_postgres
async def test_held_writes_reach_the_server_before_a_statement_that_needs_an_answer(
    database: Database,
) -> None:
    async with database.write() as conn:
        await conn.later(_ORG, {"id": "o1", "name": "first"})
        await conn.later(_TOKEN, {"value": "v1"})
        seen = await conn.execute("SELECT count(*) FROM orgs WHERE id = 'o1'")
        assert seen.scalar_one() == 1
        assert conn.started  # an answer was needed: the transaction is open on the server
        assert await _count(database, "SELECT count(*) FROM orgs") == 0  # not committed yet
    assert await _count(database, "SELECT count(*) FROM orgs") == 1


@needs_postgres
async def test_an_error_in_the_block_leaves_nothing_of_it(database: Database) -> None:
    with pytest.raises(ZeroDivisionError):
        async with database.write(single=True) as conn:
            await conn.later(_ORG, {"id": "o1", "name": "first"})
            raise ZeroDivisionError
    with pytest.raises(ZeroDivisionError):
        async with database.write() as conn:
            await conn.later(_ORG, {"id": "o2", "name": "second"})
            await conn.execute("SELECT 1")  # opens the transaction, sends the insert
            raise ZeroDivisionError
    assert await _count(database, "SELECT count(*) FROM orgs") == 0


@needs_postgres
async def test_a_violated_constraint_is_the_error_its_statement_asked_for(
    database: Database,
) -> None:
    async with database.write() as conn:
        await conn.later(_TOKEN, {"value": "taken"})
    with pytest.raises(Conflict, match="taken again"):
        async with database.write(single=True) as conn:
            await conn.later(_ORG, {"id": "o1", "name": "first"})
            await conn.later(
                _TOKEN,
                {"value": "taken"},
                on_integrity_error=lambda exc: Conflict(f"taken again ({exc.table})"),
            )
            await conn.settle()
    with pytest.raises(IntegrityError) as raised:  # none asked: the driver's, with its table
        async with database.write(single=True) as conn:
            await conn.later(_TOKEN, {"value": "taken"})
            await conn.later(_ORG, {"id": "o2", "name": "second"})
    assert raised.value.table == "unique_constraints"
    assert await _count(database, "SELECT count(*) FROM orgs") == 0


@needs_postgres
async def test_a_failed_check_writes_nothing_and_the_command_can_run_again(
    database: Database,
) -> None:
    async with database.write(single=True) as conn:
        await conn.later(_ORG, {"id": "o1", "name": "first"})
        mark = conn.mark()
        await conn.later(_CHECK, {"ok": False})
        with pytest.raises(ExpectationFailed, match="the test said no"):
            await conn.settle()
        assert await _count(database, "SELECT count(*) FROM orgs") == 0
        conn.rewind(mark)
        await conn.begin()
        await conn.later(_CHECK, {"ok": True})
        await conn.settle()
    assert await _count(database, "SELECT count(*) FROM orgs") == 1


@needs_postgres
async def test_a_failed_check_beside_a_write_that_returns_rows_writes_nothing(
    database: Database,
) -> None:
    """The rows come from the write; the check must still run (a column nobody
    selects would be planned away, and a check with it)."""
    with pytest.raises(ExpectationFailed):
        async with database.write(single=True) as conn:
            await conn.later(_ORG + " RETURNING id", {"id": "o1", "name": "first"})
            await conn.later(_TOKEN, {"value": "v1"})
            await conn.later(_CHECK, {"ok": False})
            await conn.settle()
    assert await _count(database, "SELECT count(*) FROM orgs") == 0
    async with database.write(single=True) as conn:
        returned = await conn.later(_ORG + " RETURNING id", {"id": "o1", "name": "first"})
        await conn.later(_CHECK, {"ok": True})
        await conn.settle()
    assert returned.result is not None and returned.result.all() == [{"id": "o1"}]


@needs_postgres
async def test_a_check_runs_first_when_the_writes_need_several_statements(
    database: Database,
) -> None:
    async with database.write(single=True) as conn:
        await conn.later(_ORG, {"id": "o1", "name": "first"})
        await conn.later("UPDATE orgs SET name = 'renamed' WHERE id = 'o1'")  # a second one
        await conn.later(_CHECK, {"ok": False})
        with pytest.raises(ExpectationFailed):
            await conn.settle()
        # The check ran right after BEGIN, before any write, and ended the transaction:
        assert not conn.started
        assert await _count(database, "SELECT count(*) FROM orgs") == 0
        conn.rewind(0)  # the caller gives up on the command
    assert await _count(database, "SELECT count(*) FROM orgs") == 0
