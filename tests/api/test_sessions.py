"""Sessions and the lockout policy against a running server.

The server is shared with other test modules: every test that depends on the
lockout policy sets it first and puts the default (5) back afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.api import Api, Reply
from tests.support.receiver import Receiver

PASSWORD = "correct horse battery"
WRONG = "wrong horse battery"
REASON = "Too many failed login attempts"
CREATE_SESSION = "/zitadel.session.v2.SessionService/CreateSession"


@pytest.fixture
async def policy(api: Api) -> AsyncIterator[Api]:
    """The default policy (5 attempts) during the test, and afterwards."""
    (await api.put("/v2/settings/lockout", {"maxPasswordAttempts": 5})).ok()
    yield api
    (await api.put("/v2/settings/lockout", {"maxPasswordAttempts": 5})).ok()


async def new_user(api: Api, password: str | None = PASSWORD) -> tuple[str, str]:
    name = f"s-{secrets.token_hex(4)}@example.com"
    extra: dict[str, Any] = {"password": {"password": password}} if password else {}
    user_id = (await api.add_user(name, **extra)).ok()["userId"]
    return str(user_id), name


async def sign_in(api: Api, login_name: str, password: str | None = PASSWORD) -> Reply:
    checks: dict[str, Any] = {"user": {"loginName": login_name}}
    if password is not None:
        checks["password"] = {"password": password}
    return await api.post("/v2/sessions", {"checks": checks})


async def events(api: Api, user_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (
        await api.post("/v2/events/search", {"aggregateId": user_id, "limit": 1000})
    ).ok()["events"]
    return found


async def event_types(api: Api, user_id: str) -> list[str]:
    return [e["eventType"] for e in await events(api, user_id)]


async def state(api: Api, user_id: str) -> str:
    return str((await api.get(f"/v2/users/{user_id}")).ok()["user"]["state"])


def assert_invalid_password(reply: Reply) -> None:
    assert reply.status == 400, reply.raw
    assert reply.body["code"] == "invalid_argument"
    assert reply.body["message"] == "password is invalid"


async def test_a_correct_password_creates_a_session(api: Api) -> None:
    user_id, name = await new_user(api)
    created = (await sign_in(api, name.upper())).ok()  # login names ignore case
    assert set(created) == {"sessionId", "sessionToken", "details"}
    assert created["sessionToken"]
    assert created["details"]["sequence"] == "1"

    session = (await api.get(f"/v2/sessions/{created['sessionId']}")).ok()["session"]
    assert session["id"] == created["sessionId"]
    assert session["sequence"] == "1"
    assert session["creationDate"].endswith("Z")
    user = session["factors"]["user"]
    assert user["id"] == user_id
    assert user["loginName"] == name
    assert user["organizationId"] == created["details"]["resourceOwner"]
    assert session["factors"]["password"]["verifiedAt"].endswith("Z")

    session_events = await events(api, created["sessionId"])
    assert [e["eventType"] for e in session_events] == ["session.added"]
    assert session_events[0]["aggregateType"] == "session"
    assert "tokenHash" not in session_events[0]["eventData"]
    assert (await event_types(api, user_id))[-1] == "user.human.password.check.succeeded"

    deleted = (await api.delete(f"/v2/sessions/{created['sessionId']}")).ok()
    assert deleted["details"]["sequence"] == "2"
    assert (await api.get(f"/v2/sessions/{created['sessionId']}")).status == 404
    assert (await api.delete(f"/v2/sessions/{created['sessionId']}")).status == 404
    assert [e["eventType"] for e in await events(api, created["sessionId"])] == [
        "session.added",
        "session.removed",
    ]


async def test_a_session_by_user_id_without_a_password_check(api: Api) -> None:
    user_id, _ = await new_user(api)
    created = (await api.post("/v2/sessions", {"checks": {"user": {"userId": user_id}}})).ok()
    session = (await api.get(f"/v2/sessions/{created['sessionId']}")).ok()["session"]
    assert session["factors"]["user"]["id"] == user_id
    assert "password" not in session["factors"]
    assert await event_types(api, user_id) == ["user.human.added"]


async def test_unknown_users_sessions_and_bad_checks(api: Api) -> None:
    reply = await sign_in(api, f"nobody-{secrets.token_hex(4)}")
    assert reply.status == 404
    assert reply.body["details"][0]["field"] == "checks.user.loginName"
    reply = await api.post("/v2/sessions", {"checks": {"user": {"userId": "12345"}}})
    assert reply.status == 404
    assert (await api.get("/v2/sessions/12345")).status == 404
    assert (await api.delete("/v2/sessions/12345")).status == 404
    for user in ({}, {"loginName": "a", "userId": "1"}):
        reply = await api.post("/v2/sessions", {"checks": {"user": user}})
        assert reply.status == 400
        assert "exactly one of loginName and userId" in reply.body["message"]
    reply = await api.post("/v2/sessions", {"checks": {"password": {"password": PASSWORD}}})
    assert reply.status == 400
    assert reply.body["details"][0]["field"] == "checks.user"


async def test_five_wrong_passwords_lock_the_user(policy: Api) -> None:
    api = policy
    user_id, name = await new_user(api)
    for _ in range(4):
        assert_invalid_password(await sign_in(api, name, WRONG))
    assert await state(api, user_id) == "USER_STATE_ACTIVE"
    assert_invalid_password(await sign_in(api, name, WRONG))
    assert await state(api, user_id) == "USER_STATE_LOCKED"

    log = await events(api, user_id)
    assert [e["eventType"] for e in log] == [
        "user.human.added",
        *["user.human.password.check.failed"] * 5,
        "user.locked",
    ]
    assert [e["eventData"]["failedAttempts"] for e in log[1:6]] == [1, 2, 3, 4, 5]
    locked = log[-1]["eventData"]
    assert locked == {
        "userId": user_id,
        "userName": name,
        "lockedAt": locked["lockedAt"],
        "reason": REASON,
    }
    assert locked["lockedAt"].endswith("Z")
    assert log[-1]["createdAt"] == log[-2]["createdAt"], "one transaction"

    # Locked: even the right password is refused, with a clear error, and is not counted.
    for password in (PASSWORD, WRONG, None):
        reply = await sign_in(api, name, password)
        assert reply.status == 400
        assert reply.body["code"] == "failed_precondition"
        assert "is locked; an administrator must unlock it" in reply.body["message"]
    assert len(await events(api, user_id)) == len(log)


async def test_unlock_resets_the_count(policy: Api) -> None:
    api = policy
    user_id, name = await new_user(api)
    for _ in range(5):
        assert_invalid_password(await sign_in(api, name, WRONG))
    (await api.post(f"/v2/users/{user_id}/unlock")).ok()
    for _ in range(4):
        assert_invalid_password(await sign_in(api, name, WRONG))
    assert await state(api, user_id) == "USER_STATE_ACTIVE"
    (await sign_in(api, name)).ok()
    log = await events(api, user_id)
    after_unlock = [e for e in log if e["eventType"] == "user.human.password.check.failed"][5:]
    assert [e["eventData"]["failedAttempts"] for e in after_unlock] == [1, 2, 3, 4]
    assert log[-1]["eventType"] == "user.human.password.check.succeeded"
    assert [e["eventType"] for e in log].count("user.locked") == 1


async def test_a_success_resets_the_count(policy: Api) -> None:
    api = policy
    user_id, name = await new_user(api)
    for _ in range(4):
        assert_invalid_password(await sign_in(api, name, WRONG))
    (await sign_in(api, name)).ok()
    for _ in range(4):
        assert_invalid_password(await sign_in(api, name, WRONG))
    assert await state(api, user_id) == "USER_STATE_ACTIVE"
    assert "user.locked" not in await event_types(api, user_id)
    assert_invalid_password(await sign_in(api, name, WRONG))
    assert await state(api, user_id) == "USER_STATE_LOCKED"


async def test_the_policy_is_settable(policy: Api) -> None:
    api = policy
    assert (await api.get("/v2/settings/lockout")).ok() == {
        "settings": {"maxPasswordAttempts": "5"}
    }
    (await api.put("/v2/settings/lockout", {"maxPasswordAttempts": 3})).ok()
    assert (await api.get("/v2/settings/lockout")).ok()["settings"]["maxPasswordAttempts"] == "3"
    user_id, name = await new_user(api)
    for _ in range(3):
        assert_invalid_password(await sign_in(api, name, WRONG))
    assert await state(api, user_id) == "USER_STATE_LOCKED"
    assert (await event_types(api, user_id))[-2:] == [
        "user.human.password.check.failed",
        "user.locked",
    ]

    (await api.put("/v2/settings/lockout", {"maxPasswordAttempts": 0})).ok()
    user_id, name = await new_user(api)
    for _ in range(8):
        assert_invalid_password(await sign_in(api, name, WRONG))
    assert await state(api, user_id) == "USER_STATE_ACTIVE"
    (await sign_in(api, name)).ok()

    changed = (
        await api.post(
            "/v2/events/search", {"eventTypes": ["instance.lockout.policy.changed"], "limit": 1000}
        )
    ).ok()["events"]
    assert changed[-1]["eventData"] == {"maxPasswordAttempts": 0}
    for bad in (-1, 101, "many"):
        reply = await api.put("/v2/settings/lockout", {"maxPasswordAttempts": bad})
        assert reply.status == 400
        assert reply.body["details"][0]["field"] == "maxPasswordAttempts"


async def test_deactivated_users_and_users_without_password_are_refused(policy: Api) -> None:
    api = policy
    user_id, name = await new_user(api)
    (await api.post(f"/v2/users/{user_id}/deactivate")).ok()
    reply = await sign_in(api, name)
    assert reply.status == 400
    assert reply.body["code"] == "failed_precondition"
    assert "deactivated" in reply.body["message"]

    user_id, name = await new_user(api, password=None)
    reply = await sign_in(api, name)
    assert reply.status == 400
    assert "has no password" in reply.body["message"]
    assert await event_types(api, user_id) == ["user.human.added"]


async def test_executions_see_no_password_and_no_session_token(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    tag = secrets.token_hex(3)
    request_path, response_path = f"/session-request-{tag}", f"/session-response-{tag}"
    on_request = await api.create_target(receiver.endpoint(request_path))
    on_response = await api.create_target(receiver.endpoint(response_path))
    await api.set_execution({"request": {"method": CREATE_SESSION}}, [on_request["id"]])
    await api.set_execution({"response": {"method": CREATE_SESSION}}, [on_response["id"]])

    user_id, name = await new_user(api)
    created = (await sign_in(api, name)).ok()

    sent = (await receiver.wait_for(request_path))[0]
    assert sent.json["fullMethod"] == CREATE_SESSION
    assert sent.json["request"]["checks"] == {"user": {"loginName": name}}
    assert PASSWORD.encode() not in sent.body
    answered = (await receiver.wait_for(response_path))[0]
    assert answered.json["response"]["sessionId"] == created["sessionId"]
    assert "sessionToken" not in answered.json["response"]
    assert created["sessionToken"].encode() not in answered.body
    assert PASSWORD.encode() not in answered.body
    assert user_id
