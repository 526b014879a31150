"""Five wrong passwords lock a user, and the seed's security-notification receiver hears it.

The receiver is the seed's "Security Event Notification" example run by node
(tests/fixtures/seed_security_receiver.js): it verifies X-Zitadel-Signature
with the seed's own function and records the message it would post to Slack.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.events import wait_until
from tests.support.server import free_port

RECEIVER = Path(__file__).parents[1] / "fixtures" / "seed_security_receiver.js"
NODE = shutil.which("node")


def node_path() -> str:
    if NODE is None:
        pytest.skip("node is not on PATH: the guide's Node.js receiver cannot be run")
    return NODE


def start_node(port: int, key: str, record: Path) -> subprocess.Popen[bytes]:
    assert NODE is not None
    process = subprocess.Popen(
        [NODE, str(RECEIVER), str(port), key, str(record)], stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"listening\n"
    return process


async def test_five_wrong_passwords_notify_the_seed_receiver(fast_api: Api, tmp_path: Path) -> None:
    api = fast_api
    node_path()
    port, record = free_port(), tmp_path / "slack.jsonl"
    endpoint = f"http://127.0.0.1:{port}/webhooks/zitadel/user-locked"
    target = await api.create_target(endpoint, kind="restAsync")
    process = start_node(port, target["signingKey"], record)
    try:
        await api.set_execution({"event": {"event": "user.locked"}}, [target["id"]])
        login = f"locked-{secrets.token_hex(3)}@example.com"
        user_id = (await api.add_user(login, password={"password": "the right one!"})).ok()[
            "userId"
        ]
        for attempt in range(5):
            reply = await api.post(
                "/v2/sessions",
                {
                    "checks": {
                        "user": {"loginName": login},
                        "password": {"password": f"wrong {attempt}"},
                    }
                },
            )
            assert reply.status == 400, reply.body
        state = (await api.get(f"/v2/users/{user_id}")).ok()["user"]["state"]
        assert state == "USER_STATE_LOCKED"

        async def notified() -> bool:
            return record.exists() and bool(record.read_text().strip())

        await wait_until(notified)
        messages = [json.loads(line) for line in record.read_text().splitlines()]
        assert len(messages) == 1
        message = messages[0]
        assert message["event"] == "user.locked"
        assert message["userID"] == user_id
        assert message["userName"] == login
        assert message["text"] == f"User account locked: {login}"
        assert message["reason"] == "Too many failed login attempts"
        assert datetime.fromisoformat(message["lockedAt"].replace("Z", "+00:00"))
        delivery = (
            await api.post("/v2/actions/deliveries/search", {"targetId": target["id"]})
        ).ok()["deliveries"][0]
        assert delivery["webhookId"] == message["webhookId"]
    finally:
        process.terminate()
        process.wait()
