"""``keyhook trigger EVENT`` as a subprocess against a running server: every event it
offers really happens (it is in the event log afterwards), ``user.locked`` through
failed password checks reaches a receiver as a real delivery, and what it cannot
trigger, or a wrong token, is a one-line error with the documented exit code."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from keyhook.client.trigger import RECIPES
from tests.support.api import Api
from tests.support.receiver import Receiver
from tests.support.server import KeyhookServer


def run_trigger(
    server: KeyhookServer, *args: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KEYHOOK_URL": server.url, "KEYHOOK_TOKEN": token or server.token}
    return subprocess.run(
        [sys.executable, "-m", "keyhook", "trigger", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


async def _last_position(api: Api) -> int:
    position = 0
    while True:
        found = (
            await api.post("/v2/events/search", {"afterPosition": position, "limit": 1000})
        ).ok()
        if not found["events"]:
            return position
        position = int(found["events"][-1]["position"])


@pytest.mark.parametrize("event", sorted(RECIPES))
async def test_each_event_offered_happens(keyhook: KeyhookServer, api: Api, event: str) -> None:
    before = await _last_position(api)
    done = run_trigger(keyhook, event)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{event}: "), done.stdout
    found = (
        await api.post("/v2/events/search", {"afterPosition": before, "eventTypes": [event]})
    ).ok()
    assert found["events"], f"{event} did not happen ({done.stdout})"


async def test_user_locked_arrives_at_a_receiver(
    keyhook: KeyhookServer, clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    path = f"/trigger-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path), kind="restAsync")
    await api.set_execution({"event": {"event": "user.locked"}}, [target["id"]])
    done = run_trigger(keyhook, "user.locked")
    assert done.returncode == 0, done.stderr
    (got,) = await receiver.wait_for(path)
    assert got.json["event"] == "user.locked"
    assert got.json["eventData"]["reason"] == "Too many failed login attempts"


def test_what_cannot_be_triggered_and_a_bad_token(keyhook: KeyhookServer) -> None:
    run = run_trigger
    unknown = run(keyhook, "instance.added")
    assert unknown.returncode == 2 and "cannot be triggered" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    listed = run(keyhook, "--list")
    assert listed.returncode == 0 and "user.locked" in listed.stdout
    refused = run(keyhook, "user.human.added", token="kh_not_a_token")
    assert refused.returncode == 3 and refused.stderr.count("\n") == 1, refused.stderr
