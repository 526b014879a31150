"""Deliveries that failed for want of a listener go out when one attaches, not at
their next scheduled attempt (here an hour away)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.client.conftest import ListenProcess
from tests.support.api import Api
from tests.support.events import wait_until
from tests.support.receiver import Receiver
from tests.support.server import KeyhookServer

SLOW_RETRIES = {
    "KEYHOOK_ACTIONS_RETRY_SCHEDULE": "0s,1h",
    "KEYHOOK_ACTIONS_POLL_INTERVAL": "200ms",
}


@pytest.fixture
async def slow_keyhook(tmp_path: Path) -> AsyncIterator[KeyhookServer]:
    server = KeyhookServer(data_dir=tmp_path / "slow", extra_env=dict(SLOW_RETRIES))
    await server.start()
    yield server
    await server.stop()


async def test_a_delivery_waiting_for_a_listener_goes_out_when_it_attaches(
    slow_keyhook: KeyhookServer, receiver: Receiver
) -> None:
    api = Api(slow_keyhook.url, slow_keyhook.token)
    name, path = f"laptop-{secrets.token_hex(3)}", f"/later-{secrets.token_hex(3)}"
    cli = ListenProcess(
        slow_keyhook.url,
        slow_keyhook.token,
        ["--target", name, "--forward-to", receiver.endpoint(path)],
    )
    try:
        target = await api.create_target("relay:", kind="restAsync", name=name)
        await api.set_execution({"event": {"event": "user.human.added"}}, [target["id"]])
        user_id = (await api.add_user(f"u-{secrets.token_hex(3)}@example.com")).ok()["userId"]

        async def failed_once() -> bool:
            found = (
                await api.post("/v2/actions/deliveries/search", {"targetId": target["id"]})
            ).ok()["deliveries"]
            return bool(found) and found[0]["attempts"] == 1 and found[0]["status"] == "pending"

        await wait_until(failed_once)
        delivery = (
            await api.post("/v2/actions/deliveries/search", {"targetId": target["id"]})
        ).ok()["deliveries"][0]
        assert "no `keyhook listen` is attached" in delivery["lastError"]

        await cli.start()
        assert "Created relay target" not in cli.output  # made through the API above

        async def arrived() -> bool:
            return any(r.json.get("userID") == user_id for r in receiver.on(path))

        await wait_until(arrived)
        assert receiver.on(path)[0].headers["webhook-id"] == delivery["webhookId"]
    finally:
        await cli.stop()
        await api.close()
