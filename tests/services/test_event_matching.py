"""Event executions by event, group and all: only the most specific one runs."""

from __future__ import annotations

import asyncio
import secrets

from tests.support.api import Api
from tests.support.receiver import Receiver


async def test_event_over_group_over_all(fast_api: Api, receiver: Receiver) -> None:
    api = fast_api
    tag = secrets.token_hex(3)
    hooks = {scope: f"/{scope}-{tag}" for scope in ("event", "group", "all")}
    targets = {
        scope: (await api.create_target(receiver.endpoint(hook), kind="restAsync"))["id"]
        for scope, hook in hooks.items()
    }
    await api.set_execution({"event": {"event": "user.locked"}}, [targets["event"]])
    await api.set_execution({"event": {"group": "user"}}, [targets["group"]])
    await api.set_execution({"event": {"all": True}}, [targets["all"]])
    user_id = (await api.add_user(f"ev-{secrets.token_hex(3)}@example.com")).ok()["userId"]
    (await api.post(f"/v2/users/{user_id}/lock")).ok()
    locked = await receiver.wait_for(hooks["event"])
    assert [r.json["event"] for r in locked] == ["user.locked"]
    added = await receiver.wait_for(hooks["group"])  # user.human.added: the user group
    assert [r.json["event"] for r in added] == ["user.human.added"]
    assert locked[0].json["eventData"]["reason"] == "Locked by administrator"
    # Setting an execution is itself an event: execution.set, outside the user group.
    await api.set_execution({"event": {"event": "user.unlocked"}}, [targets["event"]])
    others = await receiver.wait_for(hooks["all"])
    assert {r.json["event"] for r in others} == {"execution.set"}
    await asyncio.sleep(0.3)
    assert all(r.json["event"].startswith("user.") for r in receiver.on(hooks["group"]))
