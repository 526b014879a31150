"""The scale seed's data is what the scale bench claims, and the server works on it.

``bench/seed_scale.py`` runs at a small scale on SQLite, and on PostgreSQL when
``KEYHOOK_TEST_DATABASE_URL`` names one (a fresh database, dropped afterwards).
Checked: the rows per table are exactly the counts asked for and the report's;
the real queries (ListUsers, ListDeliveries, ListTargetCalls) see them; the read
tables agree with the events (each user's row and write model with the fold of its
events, its metadata with its last metadata events, every delivery with an event
of its trigger); and a real command on a seeded user appends the next sequence.
Not timed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from bench.seed_scale import Counts, SeedReport, seed

from keyhook.bootstrap import Core, assemble
from keyhook.command.users import fold_user, load_user
from keyhook.config import from_environment
from keyhook.domain.caller import Caller
from keyhook.query.deliveries import CallQueries, DeliveryQueries
from keyhook.query.row_counts import row_total
from keyhook.query.users import UserDetailQueries
from keyhook.storage.database import Database
from tests.support.databases import ENGINES
from tests.support.server import create_database, drop_database

COUNTS = Counts(events=3000, users=300, deliveries=300, calls=300)
# The tables the counts are about, by the name Counts gives each.
COUNTED = {
    "events": "events",
    "users": "users",
    "deliveries": "deliveries",
    "calls": "execution_calls",
}

# Event data members and the users columns they set.
PROFILE = {
    "userName": "user_name",
    "givenName": "given_name",
    "familyName": "family_name",
    "displayName": "display_name",
    "email": "email",
}


@dataclass
class Seeded:
    report: SeedReport
    core: Core  # the real server's core on the seeded database, without its worker
    admin: Caller


@pytest.fixture(scope="module", params=ENGINES)
async def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Seeded]:
    data_dir = tmp_path_factory.mktemp(f"seed-{request.param}")
    url, name = (None, None) if request.param == "sqlite" else await create_database()
    try:
        report = await seed(data_dir, url, COUNTS)
        settings = from_environment(
            {"KEYHOOK_NO_WORKER": "1"}, data_dir=Path(data_dir), database_url=url or ""
        )
        core = await assemble(settings)
        try:
            async with core.db.read() as conn:
                instance = (await conn.execute("SELECT * FROM instances")).one()
            admin = Caller(
                instance.id,
                instance.admin_user_id,
                instance.default_org_id,
                instance.default_org_id,
            )
            yield Seeded(report, core, admin)
        finally:
            await core.stop()
    finally:
        await drop_database(name)


async def _count(db: Database, table: str, where: str = "") -> int:
    async with db.read() as conn:
        return int(
            (await conn.execute(f"SELECT count(*) FROM {table} {where}")).scalar_one()  # noqa: S608 - constant text
        )


async def test_every_table_holds_what_the_report_and_the_counts_say(seeded: Seeded) -> None:
    report, db = seeded.report, seeded.core.db
    for field, table in COUNTED.items():
        assert report.tables[table] == getattr(COUNTS, field), table
    for table, reported in report.tables.items():
        assert await _count(db, table) == reported, table
    # The bulk step wrote all but what the real server wrote around it.
    # The two first administrators and the template user were not seeded.
    assert report.written["users"] == COUNTS.users - 3
    assert report.written["deliveries"] == COUNTS.deliveries - 1
    assert report.written["execution_calls"] == COUNTS.calls - 1
    assert report.tables["delivery_attempts"] == COUNTS.deliveries
    assert await _count(db, "unique_constraints", "WHERE unique_type = 'user_name'") == (
        COUNTS.users
    )
    assert await _count(db, "deliveries", "WHERE status = 'succeeded'") == COUNTS.deliveries
    assert await _count(db, "executions") == 0  # the seed's own were removed at its end
    async with db.read() as conn:  # the kept total (keyhook.command.row_counts) agrees
        assert await row_total(conn, "users", seeded.admin.instance_id) == COUNTS.users


async def test_the_list_queries_see_every_seeded_row(seeded: Seeded) -> None:
    core, admin = seeded.core, seeded.admin
    users = await core.user_queries.list(admin, 0, 1, None, None)
    deliveries = await DeliveryQueries(core.db).search(
        admin,
        offset=0,
        limit=1,
        asc=True,
        target_id=None,
        trigger=None,
        status="succeeded",
        since=None,
        until=None,
    )
    calls = await CallQueries(core.db).search(
        admin, offset=0, limit=1, target_id=None, trigger=None, failed_only=False
    )
    assert users["details"]["totalResult"] == str(COUNTS.users)
    assert deliveries["pagination"]["totalResult"] == str(COUNTS.deliveries)
    assert calls["pagination"]["totalResult"] == str(COUNTS.calls)
    last = await core.user_queries.list(admin, COUNTS.users - 10, 100, None, None)
    assert len(last["result"]) == 10


async def test_read_tables_agree_with_the_events(seeded: Seeded) -> None:
    db, admin = seeded.core.db, seeded.admin
    async with db.read() as conn:
        metadata: dict[str, dict[str, str]] = {}
        for row in await conn.execute("SELECT * FROM user_metadata"):
            metadata.setdefault(row.user_id, {})[row.key] = row.value
        user_ids = (await conn.execute("SELECT id FROM users ORDER BY id")).scalars()
        assert len(user_ids) == COUNTS.users
        for user_id in user_ids:
            # The write model from the users row (what commands use) is the fold of the
            # user's events, and so are its metadata rows.
            folded = await fold_user(conn, admin.instance_id, user_id)
            loaded = await load_user(conn, admin, user_id)
            assert dataclasses.replace(folded, metadata={}) == loaded, user_id
            assert folded.metadata == metadata.get(user_id, {}), user_id
        assert sum(map(len, metadata.values())) == await _count(db, "user_metadata")
        # The profile columns and the change date are those the events left.
        expected: dict[str, dict[str, object]] = {}
        for row in await conn.execute(
            "SELECT aggregate_id, event_type, payload, created_at FROM events "
            "WHERE aggregate_type = 'user' ORDER BY position"
        ):
            data = orjson.loads(row.payload)
            user = expected.setdefault(row.aggregate_id, {})
            if row.event_type == "user.human.added":
                user.update({name: data[key] for key, name in PROFILE.items()})
            elif row.event_type == "user.human.changed":
                user.update({PROFILE[k]: v for k, v in data["changed"].items()})
            user["changed_at"] = row.created_at
        for row in await conn.execute("SELECT * FROM users WHERE kind = 'human'"):
            assert {name: row[name] for name in expected[row.id]} == expected[row.id], row.id
        # Every delivery belongs to an event of its trigger and carries that event.
        for row in await conn.execute(
            "SELECT d.payload, d.trigger, e.event_type, e.position, e.aggregate_id, e.sequence "
            "FROM deliveries d JOIN events e ON e.position = d.event_position"
        ):
            body = orjson.loads(row.payload)
            assert row.trigger == row.event_type == body["event"]
            assert (body["eventID"], body["aggregateID"], body["sequence"]) == (
                str(row.position),
                row.aggregate_id,
                str(row.sequence),
            )
        joined = await conn.execute(
            "SELECT count(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id"
        )
        assert joined.scalar_one() == COUNTS.deliveries


# Last in the module: it appends an event, which the counts above do not expect.
async def test_a_command_on_a_seeded_user_appends_the_next_sequence(seeded: Seeded) -> None:
    core, admin = seeded.core, seeded.admin
    async with core.db.read() as conn:
        user = (
            await conn.execute(
                "SELECT id, sequence FROM users WHERE kind = 'human' ORDER BY id DESC LIMIT 1"
            )
        ).one()
    assert user.sequence > 1  # seeded with events after its first
    answer = await core.users.set_metadata(admin, user.id, [("afterSeed", "yes")])
    assert answer["details"]["sequence"] == str(user.sequence + 1)
    shown = await core.user_queries.get(admin, user.id)
    _, metadata = await UserDetailQueries(core.db).metadata(admin, user.id, [], 0, 1000, True)
    assert ("afterSeed", "yes") in metadata
    assert shown["user"]["details"]["sequence"] == str(user.sequence + 1)
    async with core.db.read() as conn:
        folded = await fold_user(conn, admin.instance_id, user.id)
    assert folded.sequence == user.sequence + 1
