"""Event deliveries end to end: a running server, its worker, real receivers.

The server retries fast (see conftest.py) so the schedule plays out in seconds.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import defaultdict
from typing import Any

from tests.support.api import Api
from tests.support.events import deliveries, event_ids, metadata_events, wait_until
from tests.support.receiver import Answer, Received, Receiver, answer

METADATA_SET = {"event": {"event": "user.metadata.set"}}


def path(name: str) -> str:
    return f"/{name}-{secrets.token_hex(3)}"


async def test_a_receiver_that_recovers_gets_every_event(fast_api: Api, receiver: Receiver) -> None:
    api = fast_api
    hook = path("recovering")
    refusals = {"left": 25}

    async def flaky(_: Received) -> Answer:
        if refusals["left"] > 0:
            refusals["left"] -= 1
            return Answer(503, {"status": "error", "message": "down for maintenance"})
        return Answer(200)

    target = await api.create_target(receiver.endpoint(hook, flaky), kind="restAsync")
    await api.set_execution(METADATA_SET, [target["id"]])
    await metadata_events(api, 20)

    async def all_succeeded() -> bool:
        found = await deliveries(api, targetId=target["id"])
        return len(found) == 20 and all(d["status"] == "succeeded" for d in found)

    await wait_until(all_succeeded)
    got = receiver.on(hook)
    assert len({r.json["eventID"] for r in got}) == 20
    ids_per_event: dict[str, set[str]] = defaultdict(set)
    for request in got:
        ids_per_event[request.json["eventID"]].add(request.headers["webhook-id"])
    assert all(len(ids) == 1 for ids in ids_per_event.values()), "webhook-id changed on retry"
    retried = [d for d in await deliveries(api, targetId=target["id"]) if d["attempts"] > 1]
    assert retried, "some deliveries needed a retry"
    one = (await api.get(f"/v2/actions/deliveries/{retried[0]['id']}")).ok()["delivery"]
    codes = [a["statusCode"] for a in one["attemptLog"]]
    assert codes[-1] == 200 and 503 in codes
    assert all(a["durationMs"] > 0 for a in one["attemptLog"])
    assert "down for maintenance" in one["attemptLog"][0]["responseBody"]
    assert one["payload"]["event"] == "user.metadata.set"
    assert one["webhookId"] == f"msg_{one['id']}"


async def test_a_rejected_request_produces_no_delivery(fast_api: Api, receiver: Receiver) -> None:
    api = fast_api
    hook = path("added-events")
    events_target = await api.create_target(receiver.endpoint(hook), kind="restAsync")
    await api.set_execution({"event": {"event": "user.human.added"}}, [events_target["id"]])
    refuse = await api.create_target(
        receiver.endpoint(path("refuse"), answer(403, {"message": "no"})), interrupt=True
    )
    await api.set_execution(
        {"request": {"method": "/zitadel.user.v2.UserService/AddHumanUser"}}, [refuse["id"]]
    )
    assert (await api.add_user(f"r-{secrets.token_hex(3)}@example.com")).status == 403
    await api.set_execution(
        {"request": {"method": "/zitadel.user.v2.UserService/AddHumanUser"}}, []
    )
    (await api.add_user(f"a-{secrets.token_hex(3)}@example.com")).ok()
    await receiver.wait_for(hook)
    await asyncio.sleep(0.3)
    assert len(receiver.on(hook)) == 1
    assert len(await deliveries(api, targetId=events_target["id"])) == 1


async def test_a_slow_target_does_not_delay_another(fast_api: Api, receiver: Receiver) -> None:
    api = fast_api
    slow_hook, fast_hook = path("slow"), path("fast")
    slow = await api.create_target(
        receiver.endpoint(slow_hook, answer(200, delay=3.0)), kind="restAsync", timeout="1s"
    )
    fast = await api.create_target(receiver.endpoint(fast_hook), kind="restAsync")
    await api.set_execution(METADATA_SET, [slow["id"], fast["id"]])
    started = time.monotonic()
    await metadata_events(api, 60)
    await receiver.wait_for(fast_hook, 60, timeout=10)
    fast_done = time.monotonic() - started
    # 60 deliveries to a target that never answers in time fill its 32 slots for a second
    # at a time, round after round; the other target's deliveries must not wait behind them.
    assert fast_done < 2.0, f"the fast target waited {fast_done:.2f}s"

    async def timeouts_recorded() -> bool:
        found = await deliveries(api, targetId=slow["id"])
        return any("no answer within" in (d["lastError"] or "") for d in found)

    await wait_until(timeouts_recorded)
    await api.set_execution(METADATA_SET, [])


async def test_410_pauses_the_target_and_resume_delivers(fast_api: Api, receiver: Receiver) -> None:
    api = fast_api
    hook = path("gone")
    mode = {"status": 410}

    async def gone_then_back(_: Received) -> Answer:
        return Answer(mode["status"], {})

    target = await api.create_target(receiver.endpoint(hook, gone_then_back), kind="restAsync")
    await api.set_execution(METADATA_SET, [target["id"]])
    user_id = await metadata_events(api, 1)

    async def paused() -> bool:
        return bool((await api.get(f"/v2/actions/targets/{target['id']}")).ok()["target"]["paused"])

    await wait_until(paused)
    await metadata_events(api, 9, user_id)
    await asyncio.sleep(0.5)
    stored = await deliveries(api, targetId=target["id"])
    assert len(stored) == 10 and all(d["status"] == "pending" for d in stored)
    assert len(receiver.on(hook)) == 1, "nothing is sent while the target is paused"
    events = (await api.post("/v2/events/search", {"aggregateId": target["id"]})).ok()["events"]
    assert [e["eventType"] for e in events][-1] == "target.paused"
    assert "410" in events[-1]["eventData"]["reason"]

    mode["status"] = 200
    (await api.post(f"/v2/actions/targets/{target['id']}/resume")).ok()

    async def all_delivered() -> bool:
        found = await deliveries(api, targetId=target["id"])
        return all(d["status"] == "succeeded" for d in found)

    await wait_until(all_delivered)
    assert len(set(event_ids(receiver, hook))) == 10


async def test_an_exhausted_delivery_fails_and_can_be_retried(
    fast_api: Api, receiver: Receiver
) -> None:
    api = fast_api
    hook = path("broken")
    mode = {"status": 500}

    async def broken(_: Received) -> Answer:
        return Answer(mode["status"], {"status": "error"})

    target = await api.create_target(receiver.endpoint(hook, broken), kind="restAsync")
    await api.set_execution(METADATA_SET, [target["id"]])
    await metadata_events(api, 1)

    async def failed() -> bool:
        found = await deliveries(api, targetId=target["id"])
        return bool(found) and found[0]["status"] == "failed"

    await wait_until(failed)
    delivery = (await deliveries(api, targetId=target["id"]))[0]
    assert delivery["attempts"] == 5 and delivery["lastStatusCode"] == 500
    assert len(receiver.on(hook)) == 5

    async def failure_notices() -> list[dict[str, Any]]:
        found = await api.post(
            "/v2/events/search",
            {"aggregateId": target["id"], "eventTypes": ["target.delivery.failed"]},
        )
        notices: list[dict[str, Any]] = found.ok()["events"]
        return notices

    # The notice is appended in its own transaction right after the failure is recorded.
    async def noticed() -> bool:
        return bool(await failure_notices())

    await wait_until(noticed)
    events = await failure_notices()
    assert len(events) == 1
    assert events[0]["eventData"]["deliveryId"] == delivery["id"]
    assert events[0]["eventData"]["attempts"] == 5

    mode["status"] = 200
    (await api.post(f"/v2/actions/deliveries/{delivery['id']}/retry")).ok()

    async def succeeded() -> bool:
        found = await deliveries(api, targetId=target["id"])
        return bool(found[0]["status"] == "succeeded")

    await wait_until(succeeded)
    ids = {r.headers["webhook-id"] for r in receiver.on(hook)}
    assert ids == {delivery["webhookId"]}


async def test_replay_sends_a_time_range_again(fast_api: Api, receiver: Receiver) -> None:
    api = fast_api
    hook = path("replay")
    target = await api.create_target(receiver.endpoint(hook), kind="restAsync")
    await api.set_execution(METADATA_SET, [target["id"]])
    await metadata_events(api, 5)
    await receiver.wait_for(hook, 5)

    async def settled() -> bool:
        found = await deliveries(api, targetId=target["id"])
        return all(d["status"] == "succeeded" for d in found)

    await wait_until(settled)
    first = min(d["creationDate"] for d in await deliveries(api, targetId=target["id"]))
    replayed = (await api.post(f"/v2/actions/targets/{target['id']}/replay", {"from": first})).ok()
    assert replayed["replayed"] == "5"
    await receiver.wait_for(hook, 10)
    per_event: dict[str, list[str]] = defaultdict(list)
    for request in receiver.on(hook):
        per_event[request.json["eventID"]].append(request.headers["webhook-id"])
    assert all(len(ids) == 2 and ids[0] == ids[1] for ids in per_event.values())


async def test_pause_and_resume_by_an_operator(fast_api: Api, receiver: Receiver) -> None:
    api = fast_api
    hook = path("operator")
    target = await api.create_target(receiver.endpoint(hook), kind="restAsync")
    await api.set_execution(METADATA_SET, [target["id"]])
    (await api.post(f"/v2/actions/targets/{target['id']}/pause")).ok()
    await metadata_events(api, 3)
    await asyncio.sleep(0.6)
    assert receiver.on(hook) == []
    (await api.post(f"/v2/actions/targets/{target['id']}/resume")).ok()
    await receiver.wait_for(hook, 3)


async def test_rest_async_request_executions_go_through_the_queue(
    fast_api: Api, receiver: Receiver
) -> None:
    api = fast_api
    hook = path("async-call")
    target = await api.create_target(receiver.endpoint(hook, answer(503)), kind="restAsync")
    await api.set_execution(
        {"response": {"method": "/zitadel.user.v2.UserService/AddHumanUser"}}, [target["id"]]
    )
    created = (await api.add_user(f"q-{secrets.token_hex(3)}@example.com")).ok()

    async def failed() -> bool:
        found = await deliveries(api, targetId=target["id"])
        return bool(found) and found[0]["status"] == "failed"

    await wait_until(failed)
    found = (await deliveries(api, targetId=target["id"]))[0]
    assert found["kind"] == "response"
    assert found["trigger"] == "/zitadel.user.v2.UserService/AddHumanUser"
    bodies = [r.json for r in receiver.on(hook)]
    assert len(bodies) == 5 and all(b["response"]["userId"] == created["userId"] for b in bodies)


async def test_a_failed_failure_notice_raises_no_further_notice(
    fast_api: Api, receiver: Receiver
) -> None:
    api = fast_api
    hook = path("always-down")
    target = await api.create_target(receiver.endpoint(hook, answer(500)), kind="restAsync")
    await api.set_execution({"event": {"group": "target"}}, [target["id"]])
    await api.set_execution(METADATA_SET, [target["id"]])
    await metadata_events(api, 1)

    async def notices() -> list[str]:
        events = (
            await api.post(
                "/v2/events/search",
                {"aggregateId": target["id"], "eventTypes": ["target.delivery.failed"]},
            )
        ).ok()
        return [e["eventData"]["trigger"] for e in events["events"]]

    async def notice_delivery_failed() -> bool:
        found = await deliveries(api, targetId=target["id"], trigger="target.delivery.failed")
        return bool(found) and all(d["status"] == "failed" for d in found)

    await wait_until(notice_delivery_failed)
    await asyncio.sleep(1.0)
    # The metadata delivery failed and raised a notice; the notices' own deliveries to the
    # same failing target failed too, and raised nothing more. (Other tests' targets may
    # add notices of their own for other triggers; none is a notice about a notice.)
    triggers = await notices()
    assert "user.metadata.set" in triggers
    assert "target.delivery.failed" not in triggers
    await api.set_execution({"event": {"group": "target"}}, [])


async def test_a_rejected_request_sends_no_async_call(fast_api: Api, receiver: Receiver) -> None:
    api = fast_api
    async_hook = path("async-before")
    async_target = await api.create_target(receiver.endpoint(async_hook), kind="restAsync")
    refuse = await api.create_target(
        receiver.endpoint(path("refuse-after"), answer(403, {"message": "no"})), interrupt=True
    )
    method = {"request": {"method": "/zitadel.user.v2.UserService/AddHumanUser"}}
    await api.set_execution(method, [async_target["id"], refuse["id"]])
    assert (await api.add_user(f"no-{secrets.token_hex(3)}@example.com")).status == 403
    await api.set_execution(method, [async_target["id"]])
    (await api.add_user(f"yes-{secrets.token_hex(3)}@example.com")).ok()
    sent = await receiver.wait_for(async_hook)
    await asyncio.sleep(0.5)
    assert len(receiver.on(async_hook)) == 1
    assert sent[0].json["request"]["user"]["email"]["email"].startswith("yes-")
    await api.set_execution(method, [])
