"""Pruning: which rows go, which stay, and a real server pruning its delivery log."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from keyhook.config import from_environment
from keyhook.errors import InvalidArgument
from keyhook.services.retention import Pruner, Retention
from keyhook.storage import target_stats
from keyhook.storage.database import Database
from keyhook.storage.migrate import upgrade
from keyhook.storage.target_stats import Sample
from tests.services.conftest import FAST_DELIVERY
from tests.support.api import Api
from tests.support.events import deliveries, wait_until
from tests.support.receiver import Receiver, answer
from tests.support.server import KeyhookServer

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ACCESS_HOURS = timedelta(hours=1)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'keyhook.db'}")
    await upgrade(database)
    yield database
    await database.close()


def retention(**env: str) -> Retention:
    return Retention.parse(from_environment(env))


async def add(db: Database, table: str, **row: Any) -> str:
    row.setdefault("id", secrets.token_hex(8))
    columns = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    async with db.write() as conn:
        await conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({values})", row)  # noqa: S608 - constant text
    return str(row["id"])


async def ids(db: Database, table: str) -> set[str]:
    async with db.read() as conn:
        return set((await conn.execute(f"SELECT id FROM {table}")).scalars())  # noqa: S608 - constant text


async def delivery(db: Database, status: str, changed: datetime) -> str:
    delivery_id = await add(
        db,
        "deliveries",
        instance_id="1",
        target_id="2",
        kind="event",
        trigger="user.locked",
        payload="{}",
        status=status,
        attempts=1,
        next_attempt_at=changed,
        created_at=changed,
        updated_at=changed,
    )
    await add(
        db,
        "delivery_attempts",
        delivery_id=delivery_id,
        worker="w",
        attempted_at=changed,
        duration_ms=1.0,
        request_headers='{"webhook-id":"msg_1","Authorization":"********"}',
    )
    return delivery_id


async def test_finished_deliveries_past_retention_go_with_their_attempts(db: Database) -> None:
    old_ok = await delivery(db, "succeeded", NOW - 31 * DAY)
    old_failed = await delivery(db, "failed", NOW - 31 * DAY)
    old_pending = await delivery(db, "pending", NOW - 31 * DAY)
    recent = await delivery(db, "succeeded", NOW - 29 * DAY)
    counts = await Pruner(db, retention()).prune_once(NOW)
    assert counts["deliveries"] == 2
    assert await ids(db, "deliveries") == {old_pending, recent}
    async with db.read() as conn:
        left = set((await conn.execute("SELECT delivery_id FROM delivery_attempts")).scalars())
    assert left == {old_pending, recent}
    assert old_ok not in left and old_failed not in left
    async with db.read() as conn:  # the request headers recorded go with their attempts
        kept = (await conn.execute("SELECT count(request_headers) FROM delivery_attempts")).scalar()
    assert kept == 2


async def test_off_keeps_everything_and_bad_values_are_refused(db: Database) -> None:
    await delivery(db, "succeeded", NOW - 400 * DAY)
    counts = await Pruner(db, retention(KEYHOOK_RETENTION_DELIVERIES="off")).prune_once(NOW)
    assert "deliveries" not in counts
    assert len(await ids(db, "deliveries")) == 1
    with pytest.raises(InvalidArgument, match="KEYHOOK_RETENTION_CALLS"):
        retention(KEYHOOK_RETENTION_CALLS="0s")
    with pytest.raises(InvalidArgument, match="KEYHOOK_RETENTION_DELIVERIES"):
        retention(KEYHOOK_RETENTION_DELIVERIES="a month")


async def test_call_records_go_after_their_retention(db: Database) -> None:
    def call(at: datetime) -> dict[str, Any]:
        return {
            "instance_id": "1",
            "target_id": "2",
            "kind": "request",
            "trigger": "/x",
            "duration_ms": 1.0,
            "created_at": at,
        }

    await add(db, "execution_calls", **call(NOW - 2 * DAY))
    kept = await add(db, "execution_calls", **call(NOW - timedelta(hours=1)))
    await Pruner(db, retention(KEYHOOK_RETENTION_CALLS="24h")).prune_once(NOW)
    assert await ids(db, "execution_calls") == {kept}


async def test_the_targets_hourly_counters_go_with_what_they_count(db: Database) -> None:
    def counted(source: str, hour: datetime, minute: int = 0) -> Sample:
        return Sample("1", "2", source, hour + timedelta(minutes=minute), 1.0, "r", 200, None)

    hour = NOW.replace(minute=0)
    async with db.write() as conn:
        await target_stats.add(
            conn,
            [
                counted("call", hour - 2 * DAY),
                # Its hour ended 23 h before NOW: inside a day's retention still.
                counted("call", hour - DAY, minute=59),
                counted("call", hour - timedelta(hours=2)),
                counted("delivery", hour - 2 * DAY),
                counted("delivery", hour - 9 * DAY),
            ],
        )
    counts = await Pruner(
        db, retention(KEYHOOK_RETENTION_CALLS="24h", KEYHOOK_RETENTION_DELIVERIES="168h")
    ).prune_once(NOW)
    assert counts["callStats"] == 1 and counts["deliveryStats"] == 1
    async with db.read() as conn:
        left = {
            (r.source, r.hour_at)
            for r in await conn.execute("SELECT source, hour_at FROM target_stats")
        }
    assert left == {
        ("call", hour - DAY),
        ("call", hour - timedelta(hours=2)),
        ("delivery", hour - 2 * DAY),
    }


async def test_oidc_rows_go_once_nothing_can_use_them(db: Database) -> None:
    def request(expires: datetime, code_expires: datetime | None) -> dict[str, Any]:
        return {
            "instance_id": "1",
            "app_id": "2",
            "client_id": "c",
            "redirect_uri": "https://a/cb",
            "scopes": "[]",
            "status": "code",
            "expires_at": expires,
            "code_expires_at": code_expires,
            "sequence": 1,
            "created_at": expires - DAY,
            "changed_at": expires - DAY,
        }

    await add(db, "oidc_auth_requests", **request(NOW - 2 * DAY, None))
    live_request = await add(db, "oidc_auth_requests", **request(NOW - 2 * DAY, NOW))

    def token(expires: datetime) -> dict[str, Any]:
        return {
            "instance_id": "1",
            "oidc_session_id": "g",
            "user_id": "u",
            "client_id": "c",
            "scopes": "[]",
            "expires_at": expires,
            "created_at": expires - DAY,
        }

    await add(db, "oidc_access_tokens", **token(NOW - 2 * ACCESS_HOURS))
    live_token = await add(db, "oidc_access_tokens", **token(NOW + ACCESS_HOURS))

    def grant(changed: datetime, **extra: Any) -> dict[str, Any]:
        return {
            "instance_id": "1",
            "user_id": "u",
            "org_id": "o",
            "client_id": "c",
            "scopes": "[]",
            "sequence": 1,
            "created_at": changed,
            "changed_at": changed,
            **extra,
        }

    long_ago = NOW - 3 * DAY  # more than the 12 h token lifetime and a day of grace
    await add(db, "oidc_sessions", **grant(long_ago, revoked=True))
    await add(db, "oidc_sessions", **grant(long_ago))  # never had a refresh token
    await add(db, "oidc_sessions", **grant(long_ago, refresh_expires_at=NOW - DAY))
    refreshable = await add(
        db, "oidc_sessions", **grant(long_ago, refresh_token_hash="h", refresh_expires_at=NOW + DAY)
    )
    # Its refresh token expired a minute ago: a refresh that found it valid may be writing.
    just_expired = await add(
        db,
        "oidc_sessions",
        **grant(long_ago, refresh_token_hash="j", refresh_expires_at=NOW - timedelta(minutes=1)),
    )
    recent = await add(db, "oidc_sessions", **grant(NOW - timedelta(hours=2), revoked=True))

    counts = await Pruner(db, retention()).prune_once(NOW)
    assert counts["authRequests"] == 1 and counts["accessTokens"] == 1 and counts["grants"] == 3
    assert await ids(db, "oidc_auth_requests") == {live_request}
    assert await ids(db, "oidc_access_tokens") == {live_token}
    assert await ids(db, "oidc_sessions") == {refreshable, just_expired, recent}


@pytest.fixture
async def pruning_server(tmp_path: Path) -> AsyncIterator[KeyhookServer]:
    server = KeyhookServer(
        data_dir=tmp_path,
        extra_env={
            **FAST_DELIVERY,
            "KEYHOOK_RETENTION_DELIVERIES": "1s",
            "KEYHOOK_RETENTION_INTERVAL": "500ms",
        },
    )
    await server.start()
    yield server
    await server.stop()


async def test_a_running_server_prunes_its_finished_deliveries(
    pruning_server: KeyhookServer, receiver: Receiver
) -> None:
    api = Api(pruning_server.url, pruning_server.token)
    try:
        ok = await api.create_target(receiver.endpoint("/prune-ok"), kind="restAsync")
        down = await api.create_target(
            receiver.endpoint("/prune-down", answer(503)), kind="restAsync"
        )
        await api.set_execution({"event": {"event": "user.locked"}}, [ok["id"], down["id"]])
        user_id = (await api.add_user(f"prune-{secrets.token_hex(3)}@example.com")).ok()["userId"]
        (await api.post(f"/v2/users/{user_id}/lock")).ok()
        await receiver.wait_for("/prune-ok")

        async def succeeded_one_is_gone() -> bool:
            return not await deliveries(api, targetId=ok["id"])

        await wait_until(succeeded_one_is_gone, timeout=15)
        # The other one kept failing and is retried or failed; failed ones go too, pending
        # ones never. Either way the event itself is still there.
        events = (
            await api.post(
                "/v2/events/search", {"aggregateId": user_id, "eventTypes": ["user.locked"]}
            )
        ).ok()["events"]
        assert len(events) == 1
    finally:
        await api.close()


async def test_retention_reads_the_settings_it_is_given() -> None:
    settings = from_environment({"KEYHOOK_OIDC_ID_TOKEN_LIFETIME": "30h"})
    parsed = Retention.parse(settings)
    assert parsed.longest_token == timedelta(hours=30)
    assert parsed.deliveries == timedelta(days=30)
    assert parsed.interval == timedelta(minutes=10)
    never = replace(settings, retention=replace(settings.retention, interval="off"))
    assert Retention.parse(never).interval is None
