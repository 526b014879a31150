"""keyhook-receiver's replay (issue 14): a day of a running Keyhook's captured
deliveries and calls, run through a handler, and every answer Keyhook would refuse
reported — here a handler that fails on one event type and answers a function with a
member Keyhook ignores."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

from keyhook_receiver import Answer, Call, EventCall, FunctionCall, RequestCall, allow
from keyhook_receiver.testing import replay
from tests.support.api import Api
from tests.support.receiver import Receiver
from tests.support.server import KeyhookServer

ADD_HUMAN = "/zitadel.user.v2.UserService/AddHumanUser"


async def test_a_day_of_traffic_replayed_into_a_handler(
    clean_actions: Api, receiver: Receiver, keyhook: KeyhookServer
) -> None:
    api = clean_actions
    path = f"/replay-{secrets.token_hex(3)}"
    events = await api.create_target(receiver.endpoint(path), kind="restAsync")
    await api.set_execution({"event": {"event": "user.locked"}}, [events["id"]])
    calls = await api.create_target(receiver.endpoint(path + "-sync"))
    await api.set_execution({"request": {"method": ADD_HUMAN}}, [calls["id"]])
    user = (await api.add_user(f"rp-{secrets.token_hex(3)}@example.com")).ok()["userId"]
    (await api.post(f"/v2/users/{user}/lock")).ok()
    await receiver.wait_for(path)
    await receiver.wait_for(path + "-sync")
    for _ in range(50):  # the call record is written in batches, just after the call
        found = await api.post("/v2/actions/calls/search", {"targetId": calls["id"]})
        if found.ok()["calls"]:
            break
        await asyncio.sleep(0.1)

    seen: list[str] = []

    def handler(call: Call) -> Answer | None:
        if isinstance(call, EventCall):
            seen.append(call.event)
            if call.event == "user.locked" and call.data.raw.get("userId") == user:
                return Answer(500, {"status": "error", "message": "lost my database"})
        if isinstance(call, RequestCall):
            seen.append(call.full_method)
        if isinstance(call, FunctionCall):
            return Answer(200, {"claimz": {}})
        return allow()

    report = replay(handler, url=keyhook.url, token=keyhook.token, since=timedelta(days=1))
    assert report.replayed >= 2 and "user.locked" in seen and ADD_HUMAN in seen
    ours = [p for p in report.problems if p.trigger == "user.locked"]
    assert ours and "500" in ours[0].problem and ours[0].source.startswith("delivery ")
    assert not report.ok
