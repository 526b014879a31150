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


async def test_a_function_with_a_real_users_data(clean_actions: Api, receiver: Receiver) -> None:
    """preaccesstoken for a real user: the target gets what token issuance would send
    (the user, their metadata and organization), and the answer is read as the claims,
    log claims and metadata the token and the user would get."""
    api = clean_actions
    email = f"fn-{secrets.token_hex(3)}@example.com"
    user_id = (
        await api.add_user(email, metadata=[{"key": "department", "value": "Engineering"}])
    ).ok()["userId"]

    async def claims(received: Received) -> Answer:
        payload = received.json
        department = payload["userMetadata"][0]["value"]
        return Answer(
            200,
            {
                "append_claims": [{"key": "department", "value": department}],
                "set_user_metadata": [{"key": "seen", "value": "yes"}],
                "append_log_claims": ["added department"],
            },
        )

    path = f"/fn-{secrets.token_hex(3)}"
    name = f"claims-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path, claims), kind="restCall", name=name)
    tested = (
        await api.post(
            f"/v2/actions/targets/{target['id']}/test",
            {"function": {"name": "preaccesstoken", "userId": user_id, "scopes": ["openid"]}},
        )
    ).ok()
    got = (await receiver.wait_for(path))[0].json
    assert got["function"] == "preaccesstoken" and got["test"] is True
    assert got["userID"] == user_id and got["user"]["userName"] == email
    assert got["user"]["human"]["email"] == email
    assert got["userMetadata"] == [{"key": "department", "value": "Engineering"}]
    assert got["claims"]["sub"] == user_id and got["scopes"] == ["openid"]
    assert got["org"]["id"] == got["orgID"]
    reading = tested["reading"]
    assert reading["outcome"] == "claims"
    assert reading["claims"] == {"department": "Engineering"}
    assert reading["metadata"] == [{"key": "seen", "value": "yes"}]
    log_claim = f"urn:zitadel:iam:action:{name}:log"
    assert reading["logClaims"] == {log_claim: ["added department"]}
    # A test changes nothing: the user's metadata is as it was.
    assert [m["key"] for m in await api.metadata(user_id)] == ["department"]

    unknown = await api.post(
        f"/v2/actions/targets/{target['id']}/test",
        {"function": {"name": "preaccesstoken", "userId": "999999999999999999"}},
    )
    assert unknown.status == 404 and unknown.body["details"][0]["field"] == "function.userId"
    typo = await api.post(
        f"/v2/actions/targets/{target['id']}/test", {"function": {"name": "preaccestoken"}}
    )
    assert typo.status == 404 and "preaccesstoken" in typo.body["message"]


async def test_another_users_data_needs_user_read(clean_actions: Api, receiver: Receiver) -> None:
    """An actions manager (target.write, no user.read) tests with its own data only."""
    api = clean_actions
    target = await api.create_target(receiver.endpoint(f"/fn-{secrets.token_hex(3)}"))
    other = (await api.add_user(f"o-{secrets.token_hex(3)}@example.com")).ok()["userId"]
    robot = await api.add_machine_user(f"actions-{secrets.token_hex(3)}", "Actions")
    body = {"userId": robot, "resource": {"instance": True}, "roles": ["IAM_ACTIONS_MANAGER"]}
    (await api.post("/v2/administrators", body)).ok()
    token = (await api.post(f"/v2/users/{robot}/pats", {})).ok()["token"]
    manager = Api(api.base_url, token)
    try:
        refused = await manager.post(
            f"/v2/actions/targets/{target['id']}/test",
            {"function": {"name": "preuserinfo", "userId": other}},
        )
        assert refused.status == 403 and "user.read" in refused.body["message"]
        # The same answer for an id no user has: it says nothing of which ids exist.
        made_up = await manager.post(
            f"/v2/actions/targets/{target['id']}/test",
            {"function": {"name": "preuserinfo", "userId": "123"}},
        )
        assert (made_up.status, made_up.body["message"]) == (
            refused.status,
            refused.body["message"],
        )
        own = await manager.post(
            f"/v2/actions/targets/{target['id']}/test", {"function": {"name": "preuserinfo"}}
        )
        assert own.ok()["reading"]["outcome"] == "allowed"
    finally:
        await manager.close()
