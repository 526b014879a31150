"""keyhook-receiver's parse and answers (issue 14) against a running Keyhook: a request
receiver written only with the library refuses a gmail.com user with its message and
lets an example.com one through; a function receiver's claims land in a
client-credentials token (the seed's and ZITADEL's forms); an event parses into its
typed data; and the generated event module is current and covers every event type."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from keyhook.domain.event_models import receiver_events_python
from keyhook.domain.events import EVENT_TYPES
from keyhook_receiver import (
    EVENT_DATA,
    Call,
    Claims,
    EventCall,
    FunctionCall,
    RequestCall,
    VerificationError,
    Verifier,
    allow,
    parse,
    reject,
)
from keyhook_receiver import Answer as Reply
from keyhook_receiver.events import UserLockedData
from tests.support.api import Api
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import KeyhookServer

EVENTS_MODULE = Path(__file__).parents[2] / "receiver" / "src" / "keyhook_receiver" / "events.py"
ADD_HUMAN = "/zitadel.user.v2.UserService/AddHumanUser"


def test_the_event_module_is_generated_from_the_catalog() -> None:
    assert EVENTS_MODULE.read_text() == receiver_events_python(), (
        "receiver/src/keyhook_receiver/events.py is out of date: "
        "keyhook receiver-events > receiver/src/keyhook_receiver/events.py"
    )
    assert set(EVENT_DATA) == set(EVENT_TYPES)
    docs = (Path(__file__).parents[2] / "docs" / "events.md").read_text()
    assert all(f"### `{name}`" in docs for name in EVENT_DATA)


def _answered(
    keys: dict[str, str], handle: Callable[[Call], Reply]
) -> Callable[[Received], Awaitable[Answer]]:
    """A tests.support receiver handler doing what a user's receiver would: verify,
    parse, answer — with the library only (``keys["key"]`` once the target exists)."""

    async def handler(received: Received) -> Answer:
        try:
            Verifier(keys["key"]).verify(received.body, received.headers)
            answer = handle(parse(received.body))
        except VerificationError as refused:
            return Answer(401, {"message": str(refused)})
        return Answer(answer.status, json.loads(answer.body))

    return handler


async def test_a_request_receiver_refuses_with_its_message(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    seen: list[RequestCall] = []

    def email_domain(call: Call) -> Reply:
        assert isinstance(call, RequestCall)
        seen.append(call)
        email = call.request["user"]["email"]["email"]
        if email.endswith("@gmail.com"):
            return reject(400, "Email domain gmail.com is not allowed")
        return allow()

    path = f"/lib-email-{secrets.token_hex(3)}"
    holder: dict[str, str] = {}
    target = await api.create_target(
        receiver.endpoint(path, _answered(holder, email_domain)), interrupt=True
    )
    holder["key"] = target["signingKey"]
    await api.set_execution({"request": {"method": ADD_HUMAN}}, [target["id"]])
    refused = await api.add_user(f"x-{secrets.token_hex(3)}@gmail.com")
    assert (refused.status, refused.body["message"]) == (
        400,
        "Email domain gmail.com is not allowed",
    )
    (await api.add_user(f"x-{secrets.token_hex(3)}@example.com")).ok()
    assert [c.full_method for c in seen] == [ADD_HUMAN, ADD_HUMAN]
    assert seen[0].caller.user_id and not seen[0].test


@pytest.mark.parametrize("form", ["seed", "zitadel"])
async def test_a_function_receivers_claims_land_in_the_token(
    clean_actions: Api, receiver: Receiver, keyhook: KeyhookServer, form: str
) -> None:
    api = clean_actions
    name = f"svc-{secrets.token_hex(3)}"
    user_id = await api.add_machine_user(name, "Billing", accessTokenType="ACCESS_TOKEN_TYPE_JWT")
    secret = await api.add_secret(user_id)

    def enrich(call: Call) -> Reply:
        assert isinstance(call, FunctionCall) and call.function == "preaccesstoken"
        return (
            Claims()
            .add("department", "billing")
            .set_metadata("last-token", "abcd")  # looks like base64: must arrive as written
            .log(f"enriched {call.user_id}")
            .answer(form="zitadel" if form == "zitadel" else "seed")
        )

    path = f"/lib-claims-{secrets.token_hex(3)}"
    holder: dict[str, str] = {}
    target = await api.create_target(
        receiver.endpoint(path, _answered(holder, enrich)),
        kind="restCall",
        name=f"enrich-{form}-{secrets.token_hex(2)}",
    )
    holder["key"] = target["signingKey"]
    await api.set_execution({"function": {"name": "preaccesstoken"}}, [target["id"]])
    async with httpx.AsyncClient(base_url=keyhook.url) as http:
        reply = await http.post(
            "/oauth/v2/token", data={"grant_type": "client_credentials"}, auth=(name, secret)
        )
    assert reply.status_code == 200, reply.text
    token = reply.json()["access_token"]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["department"] == "billing"
    assert any(k.endswith(":log") and v == [f"enriched {user_id}"] for k, v in claims.items())
    assert {"key": "last-token", "value": "abcd"} in await api.metadata(user_id)


async def test_an_event_parses_into_its_typed_data(clean_actions: Api, receiver: Receiver) -> None:
    api = clean_actions
    path = f"/lib-event-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path), kind="restAsync")
    await api.set_execution({"event": {"event": "user.locked"}}, [target["id"]])
    email = f"ev-{secrets.token_hex(3)}@example.com"
    user_id = (await api.add_user(email, userName=email)).ok()["userId"]
    (await api.post(f"/v2/users/{user_id}/lock")).ok()
    (got,) = await receiver.wait_for(path)
    call = parse(got.body)
    assert isinstance(call, EventCall) and call.event == "user.locked"
    assert isinstance(call.data, UserLockedData)
    assert (call.data.user_id, call.data.user_name) == (user_id, email)
    assert call.data.reason and call.aggregate_id == user_id
    unknown = parse(json.dumps({"event": "user.teleported", "eventData": {"to": "mars"}}))
    assert isinstance(unknown, EventCall) and unknown.data.raw == {"to": "mars"}
    with pytest.raises(VerificationError) as caught:
        parse(b"not json")
    assert caught.value.reason == "body_not_json"
