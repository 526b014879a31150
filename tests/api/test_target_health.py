"""ListTargetHealth (issue 12): per target its last call or attempt, the last 24 hours'
counts, success rate and p50/p95, and the failing flag, on a real server with a real
receiver; and the hourly counters equal a recount from the raw rows after a mix of
calls, test calls and deliveries (on PostgreSQL too, with KEYHOOK_TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from keyhook.config import normalise_database_url
from keyhook.storage.database import Database
from keyhook.storage.target_stats import BOUNDS, BUCKETS, bucket_of
from tests.support.api import Api
from tests.support.receiver import Answer, Handler, Received, Receiver
from tests.support.server import KeyhookServer

FAST = {
    "KEYHOOK_ACTIONS_RETRY_SCHEDULE": "0s,200ms",
    "KEYHOOK_ACTIONS_THROTTLE_MIN_DELAY": "100ms",
    "KEYHOOK_ACTIONS_POLL_INTERVAL": "100ms",
}
GET_USER = "/zitadel.user.v2.UserService/GetUserByID"
HEALTH = "/v2/actions/targets/health/search"


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KeyhookServer]:
    started = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("health")), extra_env=FAST)
    await started.start()
    yield started
    await started.stop()


@pytest.fixture
async def api(server: KeyhookServer) -> AsyncIterator[Api]:
    client = Api(server.url, server.token)
    yield client
    await client.clear_executions()
    await client.close()


@pytest.fixture
async def db(server: KeyhookServer) -> AsyncIterator[Database]:
    """The server's own database, read beside it."""
    url = server.database_url
    found = Database(
        normalise_database_url(url)
        if url
        else f"sqlite+aiosqlite:///{(server.data_dir / 'keyhook.db').resolve()}"
    )
    yield found
    await found.close()


async def health(api: Api, *ids: str) -> dict[str, dict[str, Any]]:
    found = (await api.post(HEALTH, {"targetIds": list(ids)})).ok()
    return {t["targetId"]: t for t in found["targets"]}


async def counted(api: Api, ids: list[str], total: int) -> dict[str, dict[str, Any]]:
    """The targets' health once each counts ``total`` calls and attempts (polled: the
    call log and the worker write in the background)."""
    for _ in range(200):
        found = await health(api, *ids)
        if all(found[i]["last24h"]["total"] >= total for i in ids):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"not all of {ids} counted {total}: {found}")


def counter(fail: set[int], slow: frozenset[int] = frozenset()) -> Handler:
    """A handler answering 500 to the calls numbered in ``fail`` (from 1), late to those
    in ``slow``."""
    seen = [0]

    async def handle(_: Received) -> Answer:
        seen[0] += 1
        delay = 0.25 if seen[0] in slow else 0.0
        if seen[0] in fail:
            return Answer(500, {"status": "broken"}, delay=delay)
        return Answer(200, {"status": "success"}, delay=delay)

    return handle


async def test_counts_rate_quantiles_last_call_and_failing(
    api: Api, receiver: Receiver, db: Database
) -> None:
    tag = secrets.token_hex(3)
    mixed = await api.create_target(
        receiver.endpoint(f"/mixed-{tag}", counter({3, 7, 12}, frozenset({18, 19}))),
        name=f"m-{tag}",
    )
    last_failed = await api.create_target(
        receiver.endpoint(f"/last-{tag}", counter({20})), name=f"l-{tag}"
    )
    fine = await api.create_target(receiver.endpoint(f"/fine-{tag}"), name=f"f-{tag}")
    ids = [mixed["id"], last_failed["id"], fine["id"]]
    user = (await api.add_user(f"h-{tag}@example.com")).ok()["userId"]
    await api.set_execution({"request": {"method": GET_USER}}, ids)
    for _ in range(20):
        (await api.get(f"/v2/users/{user}")).ok()
    # A test call reaches the target and is recorded, but is not counted.
    (
        await api.post(
            f"/v2/actions/targets/{fine['id']}/test",
            {"request": {"method": GET_USER, "message": {"userId": user}}},
        )
    ).ok()
    found = await counted(api, ids, 20)

    m = found[mixed["id"]]
    assert m["last24h"]["total"] == 20
    assert (m["last24h"]["succeeded"], m["last24h"]["failed"]) == (17, 3)
    assert m["last24h"]["calls"] == {"succeeded": 17, "failed": 3}
    assert m["last24h"]["deliveryAttempts"] == {"succeeded": 0, "failed": 0}
    assert m["last24h"]["successRate"] == pytest.approx(0.85)
    assert m["failing"] is True  # under 90 % though the last call succeeded
    assert m["last"]["succeeded"] is True and m["last"]["statusCode"] == 200
    assert m["last"]["source"] == "call" and m["paused"] is False
    newest = (await api.post("/v2/actions/calls/search", {"targetId": mixed["id"]})).ok()
    assert m["last"]["id"] == newest["calls"][0]["id"]

    # The quantiles are the upper bounds of the buckets of the exact nearest-rank values.
    async with db.read() as conn:
        durations = sorted(
            r.duration_ms
            for r in await conn.execute(
                "SELECT duration_ms FROM execution_calls WHERE target_id = :t", {"t": mixed["id"]}
            )
        )
    assert len(durations) == 20
    for q, key in ((0.5, "p50Ms"), (0.95, "p95Ms")):
        exact = durations[math.ceil(q * 20) - 1]
        assert m["last24h"][key] == BOUNDS[bucket_of(exact)]
        assert exact <= m["last24h"][key] < exact * 2**0.25 or m["last24h"][key] == BOUNDS[0]
    assert m["last24h"]["p95Ms"] >= 250  # the 19th of 20 is one of the two slow answers

    lf = found[last_failed["id"]]
    assert (lf["last24h"]["succeeded"], lf["last24h"]["failed"]) == (19, 1)
    assert lf["failing"] is True  # 95 %, but the last call failed
    assert lf["last"]["succeeded"] is False and lf["last"]["statusCode"] == 500
    assert lf["last"]["error"]

    f = found[fine["id"]]
    assert f["last24h"]["total"] == 20 and f["last24h"]["successRate"] == 1.0
    assert f["failing"] is False and f["last"]["succeeded"] is True
    calls = (await api.post("/v2/actions/calls/search", {"targetId": fine["id"]})).ok()
    assert "test" in {c["kind"] for c in calls["calls"]}  # recorded, yet not counted


async def test_a_target_without_calls_and_paging(api: Api, receiver: Receiver) -> None:
    idle = await api.create_target(receiver.endpoint(f"/idle-{secrets.token_hex(3)}"))
    found = (await health(api, idle["id"]))[idle["id"]]
    assert found["last"] is None and found["failing"] is False
    assert found["last24h"]["total"] == 0 and found["last24h"]["successRate"] is None
    assert found["last24h"]["p95Ms"] is None
    page = (await api.post(HEALTH, {"query": {"limit": 1}})).ok()
    assert len(page["targets"]) == 1 and int(page["pagination"]["totalResult"]) >= 1
    bad = await api.post(HEALTH, {"targetIds": ["not-an-id"]})
    assert bad.status == 400


async def test_deliveries_count_and_the_counters_equal_a_recount(
    api: Api, receiver: Receiver, db: Database
) -> None:
    tag = secrets.token_hex(3)
    seen: set[str] = set()

    async def first_fails(got: Received) -> Answer:
        """Each delivery's first attempt fails, its retry succeeds."""
        first = got.headers["webhook-id"] not in seen
        seen.add(got.headers["webhook-id"])
        return Answer(503, {"status": "later"}) if first else Answer()

    flaky = await api.create_target(
        receiver.endpoint(f"/flaky-{tag}", first_fails), kind="restAsync"
    )
    broken = await api.create_target(
        receiver.endpoint(f"/broken-{tag}", counter(set(range(1, 100)))), kind="restAsync"
    )
    user = (await api.add_user(f"d-{tag}@example.com")).ok()["userId"]
    await api.set_execution({"event": {"event": "user.locked"}}, [flaky["id"], broken["id"]])
    for _ in range(4):
        (await api.post(f"/v2/users/{user}/lock")).ok()
        (await api.post(f"/v2/users/{user}/unlock")).ok()
    # Each of the 4 deliveries: flaky fails then succeeds, broken fails twice for good.
    found = await counted(api, [flaky["id"], broken["id"]], 8)
    assert found[flaky["id"]]["last24h"]["deliveryAttempts"] == {"succeeded": 4, "failed": 4}
    assert found[broken["id"]]["last24h"]["deliveryAttempts"] == {"succeeded": 0, "failed": 8}
    assert found[broken["id"]]["failing"] is True and found[flaky["id"]]["failing"] is True
    last = found[flaky["id"]]["last"]
    assert last["source"] == "delivery" and last["succeeded"] is True
    delivery = (await api.get(f"/v2/actions/deliveries/{last['id']}")).ok()
    assert delivery["delivery"]["targetId"] == flaky["id"]
    overview = (await api.get("/v2/actions/overview")).ok()
    failing = {t["id"]: t for t in overview["failingTargets"]}
    assert failing[broken["id"]]["failedDeliveries"] == 4

    # The counters hold exactly what the raw rows say (this module's calls included).
    async with db.read() as conn:
        stats = (await conn.execute("SELECT * FROM target_stats")).all()
        calls = (
            await conn.execute(
                "SELECT target_id, created_at, duration_ms, error FROM execution_calls "
                "WHERE kind <> 'test'"
            )
        ).all()
        attempts = (
            await conn.execute(
                "SELECT d.target_id, d.status, a.delivery_id, a.id, a.attempted_at, "
                "a.duration_ms, a.error FROM delivery_attempts a "
                "JOIN deliveries d ON d.id = a.delivery_id ORDER BY a.attempted_at, a.id"
            )
        ).all()
    # A failed delivery's last attempt ended it.
    last_attempt = {a.delivery_id: a.id for a in attempts}
    recount: dict[tuple[str, str, str], dict[str, int]] = {}
    samples = [("call", c.created_at, c, False) for c in calls] + [
        (
            "delivery",
            a.attempted_at,
            a,
            a.status == "failed" and last_attempt[a.delivery_id] == a.id,
        )
        for a in attempts
    ]
    for source, at, row, gave_up in samples:
        hour = at.replace(minute=0, second=0, microsecond=0).isoformat()
        counts = recount.setdefault(
            (row.target_id, source, hour),
            {"succeeded": 0, "failed": 0, "gave_up": 0, **dict.fromkeys(BUCKETS, 0)},
        )
        counts["succeeded" if row.error is None else "failed"] += 1
        counts[BUCKETS[bucket_of(row.duration_ms)]] += 1
        counts["gave_up"] += int(gave_up)
    kept = {
        (r.target_id, r.source, r.hour_at.isoformat()): {
            k: int(r[k]) for k in ("succeeded", "failed", "gave_up", *BUCKETS)
        }
        for r in stats
    }
    assert kept == recount
    assert sum(c["succeeded"] + c["failed"] for c in kept.values()) == len(samples)
    assert any(source == "delivery" for _, source, _ in kept) and calls
