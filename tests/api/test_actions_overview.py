"""GetActionsOverview (issue 12): the last 24 hours of delivery attempts and calls by
outcome per hour, the failing and paused targets, the oldest pending delivery."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import Api, serving
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import KeyhookServer

FAST = {
    "KEYHOOK_ACTIONS_RETRY_SCHEDULE": "0s,200ms",
    "KEYHOOK_ACTIONS_THROTTLE_MIN_DELAY": "100ms",
    "KEYHOOK_ACTIONS_POLL_INTERVAL": "100ms",
}


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("overview")), extra_env=FAST)
    async with serving(server) as api:
        yield api


async def totals(api: Api) -> tuple[dict[str, int], dict[str, int], dict[str, Any]]:
    found = (await api.get("/v2/actions/overview")).ok()
    deliveries = {
        k: sum(h["deliveries"][k] for h in found["hours"])
        for k in ("succeeded", "failed", "retried")
    }
    calls = {k: sum(h["calls"][k] for h in found["hours"]) for k in ("succeeded", "failed")}
    return deliveries, calls, found


async def test_the_overview_counts_what_happened(own: Api, receiver: Receiver) -> None:
    api = own
    _, _, empty = await totals(api)
    assert len(empty["hours"]) == 24
    assert empty["oldestPending"] is None and empty["failingTargets"] == []

    async def broken(_: Received) -> Answer:
        return Answer(500, {"status": "broken"})

    failing = await api.create_target(
        receiver.endpoint(f"/b-{secrets.token_hex(3)}", broken), kind="restAsync", name="broken"
    )
    fine = await api.create_target(
        receiver.endpoint(f"/f-{secrets.token_hex(3)}"), kind="restAsync", name="fine"
    )
    await api.set_execution({"event": {"event": "user.locked"}}, [failing["id"], fine["id"]])

    async def refuse(_: Received) -> Answer:
        return Answer(400, {"status": "error", "message": "no"})

    gate = await api.create_target(
        receiver.endpoint(f"/g-{secrets.token_hex(3)}", refuse), interrupt=True, name="gate"
    )
    method = "/zitadel.user.v2.UserService/AddHumanUser"
    await api.set_execution({"request": {"method": method}}, [gate["id"]])
    assert (await api.add_user(f"x-{secrets.token_hex(3)}@example.com")).status == 400
    await api.set_execution({"request": {"method": method}}, [])
    user = (await api.add_user(f"y-{secrets.token_hex(3)}@example.com")).ok()["userId"]
    (await api.post(f"/v2/users/{user}/lock")).ok()
    await api.post(f"/v2/actions/targets/{fine['id']}/pause")
    # The worker delivers in the background: polled for up to 15 s.
    for _ in range(150):
        deliveries, calls, found = await totals(api)
        if deliveries["failed"] == 1 and calls["failed"] == 1:
            break
        await asyncio.sleep(0.1)
    # The broken target's delivery: tried, retried 200 ms later, failed for good.
    assert deliveries == {"succeeded": 1, "failed": 1, "retried": 1}
    assert calls == {"succeeded": 0, "failed": 1}
    assert [t["name"] for t in found["failingTargets"]] == ["broken", "gate"]
    assert found["failingTargets"][0]["failedDeliveries"] == 1
    assert found["failingTargets"][1]["failedCalls"] == 1
    assert [t["name"] for t in found["pausedTargets"]] == ["fine"]
    # A delivery held by the paused target is the oldest pending one.
    (await api.post(f"/v2/users/{user}/unlock")).ok()
    (await api.post(f"/v2/users/{user}/lock")).ok()
    for _ in range(150):
        _, _, found = await totals(api)
        if found["oldestPending"] is not None:
            break
        await asyncio.sleep(0.1)
    assert found["oldestPending"] is not None
    assert found["oldestPending"]["ageSeconds"] >= 0
    await api.set_execution({"event": {"event": "user.locked"}}, [])
