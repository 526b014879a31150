"""The call record keeps what the target got (secrets removed) and answered, and the
status the API caller was told (issue 12: "flow interrupted" and "times out" answered
by looking)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from tests.support.api import Api
from tests.support.receiver import Answer, Received, Receiver

ADD_HUMAN = "/zitadel.user.v2.UserService/AddHumanUser"


async def calls_of(api: Api, target_id: str, count: int) -> list[dict[str, Any]]:
    for _ in range(50):  # written just after the call
        found = (await api.post("/v2/actions/calls/search", {"targetId": target_id})).ok()
        if len(found["calls"]) >= count:
            return list(found["calls"])
        await asyncio.sleep(0.1)
    raise AssertionError("the call was not recorded")


async def test_a_refusal_and_a_failure_that_went_on(clean_actions: Api, receiver: Receiver) -> None:
    api = clean_actions

    async def refuse(_: Received) -> Answer:
        return Answer(403, {"status": "error", "message": "not on my watch"})

    gate = await api.create_target(
        receiver.endpoint(f"/gate-{secrets.token_hex(3)}", refuse), interrupt=True
    )
    await api.set_execution({"request": {"method": ADD_HUMAN}}, [gate["id"]])
    email = f"c-{secrets.token_hex(3)}@example.com"
    refused = await api.add_user(email, password={"password": "correct horse battery"})
    assert refused.status == 403
    (call,) = await calls_of(api, gate["id"], 1)
    assert email in call["request"]
    assert "correct horse battery" not in call["request"], "secrets never stored"
    assert "not on my watch" in call["response"]
    assert call["callerStatus"] == 403

    async def broken(_: Received) -> Answer:
        return Answer(500, {"status": "broken"})

    soft = await api.create_target(
        receiver.endpoint(f"/soft-{secrets.token_hex(3)}", broken), interrupt=False
    )
    await api.set_execution({"request": {"method": ADD_HUMAN}}, [soft["id"]])
    (await api.add_user(f"d-{secrets.token_hex(3)}@example.com")).ok()
    (call,) = await calls_of(api, soft["id"], 1)
    assert call["statusCode"] == 500 and call["callerStatus"] is None
    assert "broken" in call["response"]


async def test_one_call_is_read_by_its_id(clean_actions: Api, receiver: Receiver) -> None:
    """GetTargetCall: one call of the record, as ListTargetCalls shows it; an unknown
    id is a 404 naming the field."""
    api = clean_actions
    target = await api.create_target(receiver.endpoint(f"/one-{secrets.token_hex(3)}"))
    await api.set_execution({"request": {"method": ADD_HUMAN}}, [target["id"]])
    (await api.add_user(f"one-{secrets.token_hex(3)}@example.com")).ok()
    (first,) = await calls_of(api, target["id"], 1)
    one = (await api.get(f"/v2/actions/calls/{first['id']}")).ok()["call"]
    assert one == first
    missing = await api.get("/v2/actions/calls/999999999999999999")
    assert missing.status == 404 and missing.body["details"][0]["field"] == "id"


async def test_calls_are_filtered_by_http_status_time_and_order(
    clean_actions: Api, receiver: Receiver
) -> None:
    """ListTargetCalls' httpStatus (a status, a class, none), from/to and asc."""
    api = clean_actions
    answers = [Answer(200, {}), Answer(403, {"message": "no"}), Answer(200, {}, delay=2.0)]

    async def answer(_: Received) -> Answer:
        return answers.pop(0)

    target = await api.create_target(
        receiver.endpoint(f"/filters-{secrets.token_hex(3)}", answer), timeout="500ms"
    )
    await api.set_execution({"request": {"method": ADD_HUMAN}}, [target["id"]])
    for _ in range(3):
        await api.add_user(f"f-{secrets.token_hex(3)}@example.com")
    calls = await calls_of(api, target["id"], 3)
    oldest, refused, timed_out = sorted(calls, key=lambda c: int(c["id"]))
    assert refused["statusCode"] == 403 and timed_out["statusCode"] is None

    async def ids(**body: Any) -> list[str]:
        found = await api.post("/v2/actions/calls/search", {"targetId": target["id"], **body})
        return [c["id"] for c in found.ok()["calls"]]

    assert await ids(httpStatus="403") == [refused["id"]]
    assert await ids(httpStatus="4xx") == [refused["id"]]
    assert await ids(httpStatus="2xx") == [oldest["id"]]
    assert await ids(httpStatus="none") == [timed_out["id"]]
    assert await ids(**{"from": refused["callDate"]}) == [timed_out["id"], refused["id"]]
    assert await ids(**{"to": refused["callDate"]}) == [oldest["id"]]
    newest_first = [timed_out["id"], refused["id"], oldest["id"]]
    assert await ids() == newest_first
    assert await ids(query={"asc": True}) == newest_first[::-1]
    assert await ids(query={"asc": False}) == newest_first
    bad = await api.post("/v2/actions/calls/search", {"httpStatus": "6xx"})
    assert bad.status == 400 and bad.body["details"][0]["field"] == "httpStatus"
