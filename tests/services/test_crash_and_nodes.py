"""Nothing is lost when a server is killed; several servers share the work.

The crash test kills the server with SIGKILL while hundreds of deliveries are
pending against a slow receiver, restarts it, and checks every event arrives
(any duplicate with the delivery's one webhook-id). The multi-node test runs
two servers on one PostgreSQL database (only when KEYHOOK_TEST_DATABASE_URL is
set) and checks 2,000 events arrive exactly once, both servers sending some.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections import defaultdict
from pathlib import Path

import asyncpg
import pytest

from tests.services.conftest import FAST_DELIVERY
from tests.support.api import Api
from tests.support.events import metadata_events, wait_until
from tests.support.receiver import Receiver, answer
from tests.support.server import KeyhookServer, create_database, drop_database

METADATA_SET = {"event": {"event": "user.metadata.set"}}


async def event_positions(api: Api, user_id: str) -> set[str]:
    found: set[str] = set()
    after = 0
    while True:
        page = (
            await api.post(
                "/v2/events/search",
                {
                    "aggregateId": user_id,
                    "eventTypes": ["user.metadata.set"],
                    "limit": 1000,
                    "afterPosition": after,
                },
            )
        ).ok()["events"]
        if not page:
            return found
        found |= {e["position"] for e in page}
        after = int(page[-1]["position"])


def webhook_ids_per_event(receiver: Receiver, hook: str) -> dict[str, set[str]]:
    per_event: dict[str, set[str]] = defaultdict(set)
    for request in receiver.on(hook):
        per_event[request.json["eventID"]].add(request.headers["webhook-id"])
    return per_event


async def test_sigkill_with_pending_deliveries_loses_nothing(
    tmp_path: Path, receiver: Receiver
) -> None:
    server = KeyhookServer(data_dir=tmp_path / "crash", extra_env=dict(FAST_DELIVERY))
    await server.start()
    api = Api(server.url, server.token)
    hook = f"/crash-{secrets.token_hex(3)}"
    try:
        target = await api.create_target(
            receiver.endpoint(hook, answer(200, delay=0.1)), kind="restAsync", timeout="1s"
        )
        await api.set_execution(METADATA_SET, [target["id"]])
        user_id = await metadata_events(api, 400)
        expected = await event_positions(api, user_id)
        assert len(expected) == 400
        await receiver.wait_for(hook, 50, timeout=20)
        assert server.process is not None
        server.process.kill()  # SIGKILL: no shutdown, leases and buffers lost
        server.process.wait()
        arrived_before = len(receiver.on(hook))
        assert arrived_before < 400, "the kill came too late to test anything"
        await server.start()
        await api.close()
        api = Api(server.url, server.token)

        async def everything_arrived() -> bool:
            return set(webhook_ids_per_event(receiver, hook)) == expected

        await wait_until(everything_arrived, timeout=60, interval=0.3)
        per_event = webhook_ids_per_event(receiver, hook)
        assert all(len(ids) == 1 for ids in per_event.values()), "a duplicate had a new id"

        async def none_pending() -> bool:
            found = (
                await api.post(
                    "/v2/actions/deliveries/search",
                    {"targetId": target["id"], "status": "pending"},
                )
            ).ok()
            return bool(found["pagination"]["totalResult"] == "0")

        await wait_until(none_pending, timeout=20)
    finally:
        await api.close()
        await server.stop()


@pytest.mark.skipif(
    not os.environ.get("KEYHOOK_TEST_DATABASE_URL"),
    reason="several nodes need PostgreSQL (set KEYHOOK_TEST_DATABASE_URL)",
)
async def test_two_nodes_on_postgresql_deliver_each_event_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    url, name = await create_database()
    assert url is not None
    shared = {"KEYHOOK_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(), **FAST_DELIVERY}
    first = KeyhookServer(data_dir=tmp_path / "a", database_url=url, extra_env=dict(shared))
    second = KeyhookServer(data_dir=tmp_path / "b", database_url=url, extra_env=dict(shared))
    hook = f"/nodes-{secrets.token_hex(3)}"
    apis: list[Api] = []
    try:
        await first.start()
        await second.start()
        apis = [Api(first.url, first.token), Api(second.url, first.token)]
        target = await apis[0].create_target(receiver.endpoint(hook), kind="restAsync")
        await apis[0].set_execution(METADATA_SET, [target["id"]])
        user_id = str(
            (await apis[0].add_user(f"n-{secrets.token_hex(3)}@example.com")).ok()["userId"]
        )
        for i in range(20):  # 2,000 events, written through both nodes in turn
            await metadata_events(apis[i % 2], 100, user_id)
        expected = await event_positions(apis[0], user_id)
        assert len(expected) == 2000

        async def all_arrived() -> bool:
            return len(receiver.on(hook)) >= 2000

        try:
            await wait_until(all_arrived, timeout=60, interval=0.2)
        except AssertionError:
            raise AssertionError(f"{len(receiver.on(hook))} of 2000 arrived") from None
        await first.stop(drop=False)
        await second.stop(drop=False)
        arrived = [r.json["eventID"] for r in receiver.on(hook)]
        assert sorted(arrived) == sorted(expected), "each event exactly once"
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            rows = await conn.fetch(
                "SELECT worker, count(*) AS n FROM delivery_attempts GROUP BY worker"
            )
        finally:
            await conn.close()
        assert len(rows) == 2, f"both nodes should send: {rows}"
        assert all(row["n"] > 0 for row in rows)
    finally:
        for api in apis:
            await api.close()
        await first.stop(drop=False)
        await second.stop(drop=False)
        await drop_database(name)
