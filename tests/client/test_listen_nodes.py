"""``keyhook listen`` across nodes: two servers on one PostgreSQL database.

The listener attaches to node B; calls made on node A (a request execution, and an
event delivery whichever node's worker sends it) reach it through the database,
and a second listener on node A for the same target is refused.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import pytest

from tests.client.conftest import FAST_DELIVERY, ListenProcess
from tests.client.test_listen import ADD_HUMAN_USER, seed_validate_email, target_named
from tests.support.api import Api
from tests.support.events import wait_until
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import KeyhookServer, create_database, drop_database

pytestmark = pytest.mark.skipif(
    not os.environ.get("KEYHOOK_TEST_DATABASE_URL"),
    reason="several nodes need PostgreSQL (set KEYHOOK_TEST_DATABASE_URL)",
)


async def validate_or_accept_event(received: Received) -> Answer:
    if "event" in received.json:
        return Answer()
    return await seed_validate_email(received)


async def test_a_call_made_on_node_a_reaches_the_listener_on_node_b(
    tmp_path: Path, receiver: Receiver
) -> None:
    url, name = await create_database()
    assert url is not None
    shared = {"KEYHOOK_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(), **FAST_DELIVERY}
    node_a = KeyhookServer(data_dir=tmp_path / "a", database_url=url, extra_env=dict(shared))
    node_b = KeyhookServer(data_dir=tmp_path / "b", database_url=url, extra_env=dict(shared))
    started: list[ListenProcess] = []
    api: Api | None = None
    try:
        await node_a.start()
        await node_b.start()
        api = Api(node_a.url, node_a.token)
        target_name, path = f"laptop-{secrets.token_hex(3)}", f"/email-{secrets.token_hex(3)}"
        hook = receiver.endpoint(path, validate_or_accept_event)
        on_b = ListenProcess(
            node_b.url, node_a.token, ["--target", target_name, "--forward-to", hook]
        )
        started.append(on_b)
        await on_b.start()
        target = await target_named(api, target_name)
        api_key = secrets.token_hex(8)  # a custom header: travels sealed between the nodes
        (
            await api.post(
                f"/v2/actions/targets/{target['id']}", {"headers": {"X-Api-Key": api_key}}
            )
        ).ok()
        await api.set_execution({"request": {"method": ADD_HUMAN_USER}}, [target["id"]])
        await api.set_execution({"event": {"event": "user.human.added"}}, [target["id"]])

        refused = await api.add_user(f"u-{secrets.token_hex(3)}@gmail.com")
        assert refused.status == 400, refused.body
        assert refused.body["message"] == "Email domain gmail.com is not allowed"
        user_id = (await api.add_user(f"u-{secrets.token_hex(3)}@example.com")).ok()["userId"]
        assert "→ 400" in (await on_b.wait_for(ADD_HUMAN_USER))[0]
        assert all(r.headers["X-Api-Key"] == api_key for r in receiver.on(path))

        async def event_arrived() -> bool:
            return any(
                r.json.get("event") == "user.human.added" and r.json.get("userID") == user_id
                for r in receiver.on(path)
            )

        await wait_until(event_arrived)

        on_a = ListenProcess(
            node_a.url, node_a.token, ["--target", target_name, "--forward-to", hook]
        )
        started.append(on_a)
        await on_a.start(ready=False)
        await on_a.wait_for("another `keyhook listen` is attached")
        assert await on_a.exit_code() == 1
    finally:
        for listener in started:
            await listener.stop()
        if api is not None:
            await api.close()
        await node_a.stop(drop=False)
        await node_b.stop(drop=False)
        await drop_database(name)
