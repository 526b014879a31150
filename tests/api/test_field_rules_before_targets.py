"""Every field rule Keyhook enforces on a message runs before the first target is
called, and again after a target changed the message (issue 10, finding 3).

A request execution's target would otherwise receive input that Keyhook rejects
afterwards: the guide-style receiver in the README crashed on ``"email": "nope"``
and the caller got a 502 instead of the 400 naming the field. Real server, real
receiver on 127.0.0.1; for each kind of invalid value the target must get no call
and the caller the 400 with the field's name.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.support.api import Api
from tests.support.receiver import Answer, Received, Receiver

ADD_HUMAN_USER = "/zitadel.user.v2.UserService/AddHumanUser"


def human(**user: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "profile": {"givenName": "Ann", "familyName": "Lee"},
        "email": {"email": f"ann-{secrets.token_hex(4)}@example.com"},
    }
    body.update(user)
    return {"user": body}


# (what is wrong, the body, the field the 400 names)
INVALID = [
    ("an email that is no address", human(email={"email": "nope"}), "user.email.email"),
    ("a user name with a space", human(userName="ann lee"), "user.userName"),
    ("a password of 5 characters", human(password={"password": "short"}), "user.password.password"),
    (
        "a password of 257 characters",
        human(password={"password": "p" * 257}),
        "user.password.password",
    ),
    ("an empty metadata key", human(metadata=[{"key": "", "value": "v"}]), "user.metadata[0].key"),
    ("a given name of 201 characters", human(profile={"givenName": "a" * 201}), "user.profile"),
    ("a string where an object belongs", human(email="ann@example.com"), "user.email"),
    ("a field the message does not have", human(colour="blue"), "user.colour"),
    ("a NUL character", human(profile={"givenName": "a\x00b"}), "user.profile.givenName"),
    ("no email at all", {"user": {"profile": {"givenName": "Ann"}}}, "user.email"),
]


@pytest.mark.parametrize(("wrong", "body", "field"), INVALID, ids=[w for w, _, _ in INVALID])
async def test_an_invalid_field_reaches_no_target_and_the_caller_gets_the_400(
    clean_actions: Api, receiver: Receiver, wrong: str, body: dict[str, Any], field: str
) -> None:
    api = clean_actions
    path = f"/validate-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path), interrupt=True)
    await api.set_execution({"request": {"method": ADD_HUMAN_USER}}, [target["id"]])

    reply = await api.post("/v2/users/human", body)

    assert reply.status == 400, (wrong, reply.raw)
    assert reply.body["code"] == "invalid_argument"
    assert field in reply.body["message"], (wrong, reply.body)
    assert receiver.on(path) == [], f"{wrong}: the target was called"


async def test_a_target_that_writes_an_invalid_field_gets_the_400_not_the_handler(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions

    async def spoil(received: Received) -> Answer:
        request = received.json["request"]
        request["user"]["email"]["email"] = "nope"
        return Answer(200, {"status": "success", "request": request})

    path = f"/spoil-{secrets.token_hex(3)}"
    after = f"/after-{secrets.token_hex(3)}"
    first = await api.create_target(receiver.endpoint(path, spoil), interrupt=True)
    second = await api.create_target(receiver.endpoint(after), interrupt=True)
    await api.set_execution({"request": {"method": ADD_HUMAN_USER}}, [first["id"], second["id"]])

    reply = await api.post("/v2/users/human", human())

    assert reply.status == 400, reply.raw
    assert "user.email.email" in reply.body["message"]
    assert len(receiver.on(path)) == 1
    assert receiver.on(after) == [], "the next target got the spoiled message"


async def test_a_valid_message_still_reaches_the_target(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    path = f"/valid-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path), interrupt=True)
    await api.set_execution({"request": {"method": ADD_HUMAN_USER}}, [target["id"]])
    reply = await api.post("/v2/users/human", human(password={"password": "long enough"}))
    assert reply.status == 200, reply.raw
    assert len(receiver.on(path)) == 1


OTHERS = [
    (
        "/zitadel.project.v2beta.ProjectService/CreateProject",
        "/v2beta/projects",
        {"name": "   "},
        "name",
    ),
    (
        "/zitadel.app.v2beta.AppService/CreateApplication",
        "/v2beta/applications",
        {
            "projectId": "1",
            "name": "web",
            "oidcRequest": {"redirectUris": ["javascript:alert(1)"]},
        },
        "redirectUris",
    ),
    (
        "/zitadel.action.v2.ActionService/ReplayTargetDeliveries",
        "/v2/actions/targets/1/replay",
        {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        "to",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), OTHERS, ids=[o[0] for o in OTHERS])
async def test_other_operations_check_their_fields_before_any_target(
    clean_actions: Api,
    receiver: Receiver,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    api = clean_actions
    hook = f"/check-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(hook), interrupt=True)
    await api.set_execution({"request": {"method": method}}, [target["id"]])
    reply = await api.post(path, body)
    assert reply.status == 400, reply.raw
    assert field in reply.body["message"], reply.body
    assert receiver.on(hook) == [], "the target was called"
