"""Request executions end to end: a running server, real receivers on 127.0.0.1.

The receivers are the seed's examples translated line by line (email-domain
validation, request modification) and ZITADEL's restCall/forwarded forms.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import pytest

from tests.support.api import Api
from tests.support.receiver import Answer, Received, Receiver, answer
from tests.support.server import free_port

ADD_HUMAN_USER = "/zitadel.user.v2.UserService/AddHumanUser"
ON_ADD_USER = {"request": {"method": ADD_HUMAN_USER}}


def unique_email(domain: str) -> str:
    return f"user-{secrets.token_hex(4)}@{domain}"


async def users_named(api: Api, email: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await api.post("/v2/users/search", {"text": email})).ok()[
        "result"
    ]
    return found


async def event_count(api: Api) -> int:
    events = (
        await api.post("/v2/events/search", {"limit": 1000, "aggregateTypes": ["user"]})
    ).ok()["events"]
    last = (await api.post("/v2/events/search", {"limit": 1, "afterPosition": 0})).ok()
    assert last is not None
    return len(events)


async def seed_validate_email(received: Received) -> Answer:
    """The seed's /webhooks/zitadel/validate-email handler."""
    email = received.json["request"]["user"]["email"]["email"]
    domain = email.split("@")[1]
    if domain not in ["example.com", "company.com"]:
        return Answer(400, {"status": "error", "message": f"Email domain {domain} is not allowed"})
    return Answer(200, {"status": "success"})


async def test_seed_email_domain_validation(clean_actions: Api, receiver: Receiver) -> None:
    api = clean_actions
    path = f"/validate-email-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path, seed_validate_email), interrupt=True)
    await api.set_execution(ON_ADD_USER, [target["id"]])

    allowed = unique_email("company.com")
    created = (await api.add_user(allowed)).ok()
    assert created["userId"]
    assert len(await users_named(api, allowed)) == 1

    events_before = await event_count(api)
    refused = unique_email("gmail.com")
    reply = await api.add_user(refused)
    assert reply.status == 400
    assert reply.body["message"] == "Email domain gmail.com is not allowed"
    assert reply.body["code"] == "target_failed"
    assert await users_named(api, refused) == []
    assert await event_count(api) == events_before
    assert len(await receiver.wait_for(path, 2)) == 2


async def test_seed_wrapped_modification_changes_what_is_stored(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions

    async def modify(received: Received) -> Answer:
        user = received.json["request"]["user"]
        user["profile"]["displayName"] = "John Doe (Modified)"
        user["metadata"] = [{"key": "department", "value": "Engineering"}]
        return Answer(200, {"status": "success", "request": {"user": user}})

    path = f"/modify-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path, modify))
    await api.set_execution(ON_ADD_USER, [target["id"]])
    created = (
        await api.add_user(
            unique_email("example.com"), password={"password": "correct horse battery"}
        )
    ).ok()
    user = (await api.get(f"/v2/users/{created['userId']}")).ok()["user"]
    assert user["human"]["profile"]["displayName"] == "John Doe (Modified)"
    assert await api.metadata(created["userId"]) == [{"key": "department", "value": "Engineering"}]
    sent = (await receiver.wait_for(path))[0].json
    assert "password" not in sent["request"]["user"], "secrets never leave the server"


async def test_rest_call_bare_body_replaces_the_request(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions

    async def replace(received: Received) -> Answer:
        message = received.json["request"]
        message["user"]["profile"]["displayName"] = "Replaced by restCall"
        message["user"]["metadata"] = [{"key": "source", "value": "crm"}]
        return Answer(200, message)

    path = f"/rest-call-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path, replace), kind="restCall")
    await api.set_execution(ON_ADD_USER, [target["id"]])
    created = (await api.add_user(unique_email("example.com"))).ok()
    user = (await api.get(f"/v2/users/{created['userId']}")).ok()["user"]
    assert user["human"]["profile"]["displayName"] == "Replaced by restCall"
    assert await api.metadata(created["userId"]) == [{"key": "source", "value": "crm"}]


async def test_rest_webhook_ignores_a_bare_body(clean_actions: Api, receiver: Receiver) -> None:
    api = clean_actions
    path = f"/webhook-bare-{secrets.token_hex(3)}"

    async def bare(received: Received) -> Answer:
        message = received.json["request"]
        message["user"]["profile"]["displayName"] = "must not apply"
        return Answer(200, message)

    target = await api.create_target(receiver.endpoint(path, bare))
    await api.set_execution(ON_ADD_USER, [target["id"]])
    created = (await api.add_user(unique_email("example.com"))).ok()
    user = (await api.get(f"/v2/users/{created['userId']}")).ok()["user"]
    assert user["human"]["profile"]["displayName"] == "John Doe"


async def test_modified_request_is_validated_again(clean_actions: Api, receiver: Receiver) -> None:
    api = clean_actions

    async def break_email(received: Received) -> Answer:
        user = received.json["request"]["user"]
        user["email"]["email"] = "not an email"
        return Answer(200, {"status": "success", "request": {"user": user}})

    path = f"/break-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path, break_email))
    await api.set_execution(ON_ADD_USER, [target["id"]])
    email = unique_email("example.com")
    reply = await api.add_user(email)
    assert reply.status == 400
    assert "not an email" in reply.body["message"]
    assert await users_named(api, email) == []


async def test_targets_run_in_list_order_and_see_each_others_changes(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    tag = secrets.token_hex(3)

    def appender(suffix: str):  # type: ignore[no-untyped-def]
        async def handler(received: Received) -> Answer:
            user = received.json["request"]["user"]
            user["profile"]["displayName"] = user["profile"].get("displayName", "") + suffix
            return Answer(200, {"status": "success", "request": {"user": user}})

        return handler

    first = await api.create_target(receiver.endpoint(f"/first-{tag}", appender("A")))
    second = await api.create_target(receiver.endpoint(f"/second-{tag}", appender("B")))
    await api.set_execution(ON_ADD_USER, [first["id"], second["id"]])
    created = (
        await api.add_user(
            unique_email("example.com"),
            profile={"givenName": "J", "familyName": "D", "displayName": ">"},
        )
    ).ok()
    user = (await api.get(f"/v2/users/{created['userId']}")).ok()["user"]
    assert user["human"]["profile"]["displayName"] == ">AB"


async def test_zitadel_forwarded_status_rejects(clean_actions: Api, receiver: Receiver) -> None:
    api = clean_actions
    path = f"/forward-{secrets.token_hex(3)}"
    handler = answer(
        200, {"forwardedStatusCode": 403, "forwardedErrorMessage": "Only employees may register"}
    )
    target = await api.create_target(
        receiver.endpoint(path, handler), kind="restCall", interrupt=True
    )
    await api.set_execution(ON_ADD_USER, [target["id"]])
    email = unique_email("example.com")
    reply = await api.add_user(email)
    assert (reply.status, reply.body["message"]) == (403, "Only employees may register")
    assert await users_named(api, email) == []


def _closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}/nobody-listens"


FAILURES = {
    "refused-422": (
        answer(422, {"status": "error", "message": "Custom rule says no"}),
        422,
        "Custom rule says no",
    ),
    "server-error": (answer(503, {"status": "error"}), 502, "failed (503)"),
    "not-json": (answer(200, raw=b"<html>oops</html>"), 502, "not JSON"),
    "redirect": (answer(302, raw=b""), 502, "redirect"),
    "timeout": (answer(200, delay=1.5), 504, "no answer within"),
    "unreachable": (None, 502, "cannot connect"),
}


@pytest.mark.parametrize("interrupt", [True, False], ids=["interrupt", "continue"])
@pytest.mark.parametrize("failure", sorted(FAILURES))
async def test_failing_targets(
    clean_actions: Api, receiver: Receiver, failure: str, interrupt: bool
) -> None:
    api = clean_actions
    handler, status, message = FAILURES[failure]
    if handler is None:
        endpoint = _closed_port_url()
    else:
        endpoint = receiver.endpoint(f"/fail-{failure}-{secrets.token_hex(3)}", handler)
    target = await api.create_target(endpoint, interrupt=interrupt, timeout="500ms")
    await api.set_execution(ON_ADD_USER, [target["id"]])
    email = unique_email("example.com")
    started = time.monotonic()
    reply = await api.add_user(email)
    assert time.monotonic() - started < 5
    if interrupt:
        assert reply.status == status, reply.body
        assert message in reply.body["message"]
        assert await users_named(api, email) == []
    else:
        reply.ok()
        assert len(await users_named(api, email)) == 1


async def test_interrupting_failure_skips_later_targets(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    tag = secrets.token_hex(3)
    failing = await api.create_target(
        receiver.endpoint(f"/stop-{tag}", answer(403, {"message": "stop"})), interrupt=True
    )
    later = await api.create_target(receiver.endpoint(f"/later-{tag}"))
    await api.set_execution(ON_ADD_USER, [failing["id"], later["id"]])
    assert (await api.add_user(unique_email("example.com"))).status == 403
    await asyncio.sleep(0.2)
    assert receiver.on(f"/later-{tag}") == []


async def test_rest_async_is_not_awaited(clean_actions: Api, receiver: Receiver) -> None:
    api = clean_actions
    path = f"/async-{secrets.token_hex(3)}"
    target = await api.create_target(
        receiver.endpoint(path, answer(200, delay=2.0)), kind="restAsync"
    )
    await api.set_execution(ON_ADD_USER, [target["id"]])
    reply = await api.add_user(unique_email("example.com"))
    reply.ok()
    # The call has answered; the receiver has the request but is still sleeping on it.
    arrived = await receiver.wait_for(path)
    assert arrived[0] not in receiver.completed
    await asyncio.sleep(2.3)
    assert arrived[0] in receiver.completed


async def test_targets_see_the_seed_form_whatever_form_the_caller_used(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    path = f"/validate-flat-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path, seed_validate_email), interrupt=True)
    await api.set_execution(ON_ADD_USER, [target["id"]])
    refused = unique_email("gmail.com")
    flat = {
        "username": refused,
        "profile": {"givenName": "Flat", "familyName": "Caller"},
        "email": {"email": refused},
    }
    reply = await api.post("/v2/users/human", flat)
    assert (reply.status, reply.body["message"]) == (400, "Email domain gmail.com is not allowed")
    sent = (await receiver.wait_for(path))[0].json["request"]
    assert sent["user"]["userName"] == refused
    assert sent["user"]["profile"] == {"givenName": "Flat", "familyName": "Caller"}


async def test_every_call_is_recorded(clean_actions: Api, receiver: Receiver) -> None:
    from tests.support.events import wait_until

    api = clean_actions
    path = f"/recorded-{secrets.token_hex(3)}"
    codes = iter([503, 200])

    async def flaky(_: Received) -> Answer:
        return Answer(next(codes), {"status": "success"})

    target = await api.create_target(receiver.endpoint(path, flaky))
    await api.set_execution(ON_ADD_USER, [target["id"]])
    (await api.add_user(unique_email("example.com"))).ok()
    (await api.add_user(unique_email("example.com"))).ok()

    async def both_recorded() -> bool:
        found = (await api.post("/v2/actions/calls/search", {"targetId": target["id"]})).ok()
        return len(found["calls"]) == 2

    await wait_until(both_recorded, timeout=5)
    calls = (await api.post("/v2/actions/calls/search", {"targetId": target["id"]})).ok()["calls"]
    assert [c["statusCode"] for c in calls] == [200, 503]  # newest first
    assert calls[0]["error"] is None and "503" in calls[1]["error"]
    assert all(c["kind"] == "request" and c["trigger"] == ADD_HUMAN_USER for c in calls)
    assert all(c["durationMs"] > 0 for c in calls)
    failed = (
        await api.post("/v2/actions/calls/search", {"targetId": target["id"], "failedOnly": True})
    ).ok()["calls"]
    assert [c["statusCode"] for c in failed] == [503]
