"""TestTarget (issue 12): the payload Keyhook would send, sent signed to the target, and
its answer read as Keyhook would; the call is in the call log as a test."""

from __future__ import annotations

import asyncio
import secrets

from standardwebhooks import Webhook

from tests.support.api import Api
from tests.support.receiver import Answer, Received, Receiver

ADD_HUMAN = "/zitadel.user.v2.UserService/AddHumanUser"


def user(email: str) -> dict[str, object]:
    return {"user": {"profile": {"givenName": "T", "familyName": "T"}, "email": {"email": email}}}


async def seed_email_check(received: Received) -> Answer:
    """The guide's email-domain validation."""
    email = received.json["request"]["user"]["email"]["email"]
    if email.endswith("@gmail.com"):
        return Answer(400, {"status": "error", "message": "Email domain gmail.com is not allowed"})
    return Answer(200, {"status": "success"})


async def test_a_rejection_and_an_allowance(clean_actions: Api, receiver: Receiver) -> None:
    api = clean_actions
    path = f"/test-email-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path, seed_email_check), interrupt=True)
    refused = (
        await api.post(
            f"/v2/actions/targets/{target['id']}/test",
            {"request": {"method": ADD_HUMAN, "message": user("ann@gmail.com")}},
        )
    ).ok()
    assert refused["reading"]["outcome"] == "rejected"
    assert refused["reading"]["message"] == "Email domain gmail.com is not allowed"
    assert refused["reading"]["callerStatus"] == 400
    assert refused["answer"]["status"] == 400
    allowed = (
        await api.post(
            f"/v2/actions/targets/{target['id']}/test",
            {"request": {"method": ADD_HUMAN, "message": user("ann@example.com")}},
        )
    ).ok()
    assert allowed["reading"]["outcome"] == "allowed"
    # What was sent is what the receiver got, signed with the target's key.
    got = (await receiver.wait_for(path, 2))[1]
    assert got.body.decode() == allowed["sent"]["body"]
    assert got.headers["webhook-id"] == allowed["sent"]["webhookId"]
    key = (await api.get(f"/v2/actions/targets/{target['id']}")).ok()["target"]["signingKey"]
    Webhook(key).verify(got.body, dict(got.headers))
    assert allowed["sent"]["headers"]["webhook-signature"] == got.headers["webhook-signature"]
    # Marked as a test where the receiver sees it, inside what is signed too.
    assert got.json["test"] is True
    assert got.headers["X-Keyhook-Test"] == "true"
    for _ in range(50):  # the call log is written just after the call
        calls = (await api.post("/v2/actions/calls/search", {"targetId": target["id"]})).ok()
        if len(calls["calls"]) == 2:
            break
        await asyncio.sleep(0.1)
    assert [c["kind"] for c in calls["calls"]] == ["test", "test"]


async def test_a_modification_an_event_and_bad_input(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions

    async def rename(received: Received) -> Answer:
        if "request" not in received.json:  # an event: delivered
            return Answer(200, {"status": "success"})
        request = received.json["request"]
        request["user"]["profile"]["givenName"] = "Renamed"
        return Answer(200, {"request": request})

    target = await api.create_target(
        receiver.endpoint(f"/rename-{secrets.token_hex(3)}", rename),
        kind="restCall",
        headers={"X-Api-Key": "secret-value"},
    )
    modified = (
        await api.post(
            f"/v2/actions/targets/{target['id']}/test",
            {"request": {"method": ADD_HUMAN, "message": user("bo@example.com")}},
        )
    ).ok()
    assert modified["reading"]["outcome"] == "modified"
    assert modified["reading"]["changedMembers"] == ["user"]
    assert modified["reading"]["request"]["user"]["profile"]["givenName"] == "Renamed"
    assert modified["sent"]["headers"]["X-Api-Key"] == "********"
    assert "secret-value" not in str(modified)
    event = (
        await api.post(
            "/zitadel.action.v2.ActionService/TestTarget",
            {"id": target["id"], "event": {"event": "user.locked", "eventData": {"userId": "1"}}},
        )
    ).ok()
    assert '"event":"user.locked"' in event["sent"]["body"]
    assert event["reading"]["outcome"] == "allowed"
    typo = await api.post(
        f"/v2/actions/targets/{target['id']}/test",
        {"request": {"method": ADD_HUMAN + "x", "message": {}}},
    )
    assert typo.status == 404 and "did you mean" in typo.body["message"]
    none = await api.post(f"/v2/actions/targets/{target['id']}/test", {})
    assert none.status == 400 and "exactly one" in none.body["message"]
    missing = await api.post(
        "/v2/actions/targets/999999999999999999/test", {"event": {"event": "user.locked"}}
    )
    assert missing.status == 404
