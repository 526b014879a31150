"""A command's deliveries follow the actions catalog as the database has it, even when
another node changed it a moment ago and this node's copy in memory is behind.

On PostgreSQL a single command (a client-credentials grant) is sent as one statement
that checks the catalog's generation instead of reading it first; here the check
fails, and the command must then run again in a transaction and still produce the
delivery. On SQLite the outbox reads the generation in the transaction. Two cores
share one database, as two nodes do."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from keyhook.bootstrap import Core, assemble
from keyhook.clock import now
from keyhook.command.oidc import AccessTokenRecord, NewGrant, OidcCommands, Subject
from keyhook.command.targets import TargetCommands
from keyhook.config import from_environment
from keyhook.domain.caller import Caller
from keyhook.eventstore.store import PendingEvent, StoredEvent
from keyhook.storage.connection import Connection, ExpectationFailed
from tests.query.conftest import admin_of
from tests.support.databases import ENGINES
from tests.support.server import create_database, drop_database


@pytest.fixture(params=ENGINES)
async def two_nodes(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[Core]]:
    env: dict[str, str] = {}
    name = None
    if request.param == "postgresql":
        url, name = await create_database()
        assert url is not None
        env["KEYHOOK_DATABASE_URL"] = url
    # One data directory: the nodes share the master key, as a cluster's nodes do.
    first = await assemble(from_environment(env, data_dir=tmp_path, dev=True))
    second = await assemble(from_environment(env, data_dir=tmp_path, dev=True))
    try:
        yield [first, second]
    finally:
        await second.stop()
        await first.stop()
        await drop_database(name)


async def _grant(core: Core, admin: Caller) -> str:
    session_id = core.writer.ids.new()
    await OidcCommands(core.writer).grant_client_credentials(
        admin,
        NewGrant(
            oidc_session_id=session_id,
            subject=Subject(admin.user_id, "admin", admin.org_id),
            client_id="admin",
            scopes=(),
            grant_type="client_credentials",
            access=AccessTokenRecord(core.writer.ids.new(), (), now() + timedelta(hours=1)),
        ),
    )
    return session_id


async def test_a_grant_on_a_node_whose_catalog_is_behind_is_still_delivered(
    two_nodes: list[Core],
) -> None:
    first, second = two_nodes
    admin = await admin_of(first)
    await _grant(second, admin)  # the second node's catalog is loaded: nothing to deliver
    target = await TargetCommands(first.writer).create(
        admin,
        {"name": "audit", "endpoint": "http://127.0.0.1:9/audit", "timeout": "1s", "restAsync": {}},
    )
    # The execution is set through the first node; the second is not told.
    async with first.db.write() as conn:
        await first.writer.commit(
            conn,
            admin,
            [
                PendingEvent(
                    "execution.set",
                    "execution",
                    admin.instance_id,
                    admin.instance_id,
                    {
                        "conditionKey": "event:event:oidc_session.added",
                        "condition": {"event": {"event": "oidc_session.added"}},
                        "targets": [target["id"]],
                    },
                )
            ],
        )
    session_id = await _grant(second, admin)
    async with second.db.read() as conn:
        found = await conn.execute(
            "SELECT d.target_id, d.payload FROM deliveries AS d "
            "JOIN events AS e ON e.position = d.event_position "
            "WHERE e.aggregate_id = :session_id AND e.event_type = 'oidc_session.added'",
            {"session_id": session_id},
        )
    rows = found.all()
    assert [row.target_id for row in rows] == [target["id"]]
    assert session_id in rows[0].payload


async def test_what_a_failed_attempt_asked_to_run_at_commit_does_not_run(
    two_nodes: list[Core],
) -> None:
    core = two_nodes[0]
    admin = await admin_of(core)
    ran: list[str] = []
    attempts = 0

    async def hook(conn: Connection, stored: Sequence[StoredEvent]) -> None:
        nonlocal attempts
        attempts += 1
        conn.after_commit.append(functools.partial(ran.append, f"attempt {attempts}"))
        if attempts == 1:  # as the outbox's check does when another node changed the catalog
            raise ExpectationFailed("the actions catalog changed")

    core.writer.after_append.append(hook)
    async with core.db.write() as conn:
        await core.writer.commit(
            conn,
            admin,
            [
                PendingEvent(
                    "user.metadata.set",
                    "user",
                    admin.user_id,
                    admin.org_id,
                    {"key": "k", "value": "v"},
                )
            ],
        )
    assert (attempts, ran) == (2, ["attempt 2"])
