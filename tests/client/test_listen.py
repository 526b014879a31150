"""``keyhook listen`` end to end: the CLI as a subprocess, a real server, real receivers.

The relay target's calls reach a local receiver over the listener's WebSocket,
signed as in production, and the local answer decides the live call: a refused
email domain stops AddHumanUser with the receiver's message, claims land in a
client-credentials token, an event delivery is verified by the seed's Node
receiver. A killed listener makes the next sync call fail and an event wait
until it is back.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import jwt
import orjson
import pytest

from tests.client.conftest import ListenProcess, listen
from tests.support.api import Api
from tests.support.events import wait_until
from tests.support.receiver import Answer, Received, Receiver, answer
from tests.support.server import KeyhookServer, free_port

ADD_HUMAN_USER = "/zitadel.user.v2.UserService/AddHumanUser"
LIST_USERS = "/zitadel.user.v2.UserService/ListUsers"
SECURITY_RECEIVER = Path(__file__).parents[1] / "fixtures" / "seed_security_receiver.js"
NODE = shutil.which("node")


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def seed_signature(key: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


async def target_named(api: Api, name: str) -> dict[str, Any]:
    found = (await api.post("/v2/actions/targets/search", {"name": name})).ok()["targets"]
    matching: list[dict[str, Any]] = [t for t in found if t["name"] == name]
    assert len(matching) == 1, found
    return matching[0]


async def seed_validate_email(received: Received) -> Answer:
    """The seed's /webhooks/zitadel/validate-email handler."""
    email = received.json["request"]["user"]["email"]["email"]
    domain = email.split("@")[1]
    if domain not in ["example.com", "company.com"]:
        return Answer(400, {"status": "error", "message": f"Email domain {domain} is not allowed"})
    return Answer(200, {"status": "success"})


async def users_named(api: Api, email: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await api.post("/v2/users/search", {"text": email})).ok()[
        "result"
    ]
    return found


async def detached(server: KeyhookServer, target_id: str, count: int) -> None:
    """Wait until the server has seen the listener's socket close ``count`` times."""

    async def seen() -> bool:
        return server.log.count(f"listener detached from relay target {target_id}") >= count

    await wait_until(seen)


async def test_listen_creates_a_relay_target_whose_local_answer_decides_add_human_user(
    relay_api: Api,
    relay_keyhook: KeyhookServer,
    receiver: Receiver,
    listeners: list[ListenProcess],
) -> None:
    api = relay_api
    name, path = unique("laptop"), f"/{unique('validate-email')}"
    cli = listen(
        relay_keyhook,
        listeners,
        "--target",
        name,
        "--forward-to",
        receiver.endpoint(path, seed_validate_email),
    )
    await cli.start()
    assert f"Created relay target {name!r}" in cli.output
    assert "restCall, interruptOnError on" in cli.output
    target = await target_named(api, name)
    assert target["endpoint"] == "relay:"
    assert target["restCall"] == {"interruptOnError": True}
    await api.set_execution({"request": {"method": ADD_HUMAN_USER}}, [target["id"]])

    refused_email = f"{unique('user')}@gmail.com"
    refused = await api.add_user(refused_email)
    assert refused.status == 400, refused.body
    assert refused.body["message"] == "Email domain gmail.com is not allowed"
    assert await users_named(api, refused_email) == []
    allowed_email = f"{unique('user')}@company.com"
    assert (await api.add_user(allowed_email)).ok()["userId"]
    assert len(await users_named(api, allowed_email)) == 1

    calls = receiver.on(path)
    assert len(calls) == 2
    for call in calls:  # signed exactly as an HTTP target's call
        assert call.headers["X-Zitadel-Signature"] == seed_signature(
            target["signingKey"], call.body
        )
        assert call.headers["webhook-id"].startswith("msg_")
        assert call.json["fullMethod"] == ADD_HUMAN_USER
    lines = await cli.wait_for(ADD_HUMAN_USER, 2)
    assert "request" in lines[0] and "→ 400" in lines[0]
    assert "→ 200" in lines[1]


async def test_a_modified_request_through_the_listener_is_what_is_stored(
    relay_api: Api,
    relay_keyhook: KeyhookServer,
    receiver: Receiver,
    listeners: list[ListenProcess],
) -> None:
    async def modify(received: Received) -> Answer:
        user = received.json["request"]["user"]
        user["profile"]["displayName"] = "Changed on a laptop"
        return Answer(200, {"status": "success", "request": {"user": user}})

    name, path = unique("laptop"), f"/{unique('modify')}"
    cli = listen(
        relay_keyhook, listeners, "--target", name, "--forward-to", receiver.endpoint(path, modify)
    )
    await cli.start()
    target = await target_named(relay_api, name)
    await relay_api.set_execution({"request": {"method": ADD_HUMAN_USER}}, [target["id"]])
    created = (await relay_api.add_user(f"{unique('user')}@example.com")).ok()
    user = (await relay_api.get(f"/v2/users/{created['userId']}")).ok()["user"]
    assert user["human"]["profile"]["displayName"] == "Changed on a laptop"


async def test_complement_token_through_the_listener_puts_local_claims_into_the_token(
    relay_api: Api,
    relay_keyhook: KeyhookServer,
    receiver: Receiver,
    listeners: list[ListenProcess],
) -> None:
    claims = {"department": "Research", "fromLaptop": True}
    name, path = unique("laptop"), f"/{unique('claims')}"
    hook = receiver.endpoint(path, answer(200, {"status": "success", "claims": claims}))
    cli = listen(relay_keyhook, listeners, "--target", name, "--forward-to", hook)
    await cli.start()
    target = await target_named(relay_api, name)
    await relay_api.set_execution({"function": {"name": "complement_token"}}, [target["id"]])
    robot = unique("svc")
    user_id = await relay_api.add_machine_user(
        robot, "Billing service", accessTokenType="ACCESS_TOKEN_TYPE_JWT"
    )
    secret = await relay_api.add_secret(user_id)
    async with httpx.AsyncClient(base_url=relay_keyhook.url) as http:
        reply = await http.post(
            "/oauth/v2/token",
            data={"grant_type": "client_credentials", "scope": "openid"},
            auth=(robot, secret),
        )
    assert reply.status_code == 200, reply.text
    token = reply.json()["access_token"]
    key = jwt.PyJWKClient(f"{relay_keyhook.url}/oauth/v2/keys").get_signing_key_from_jwt(token)
    decoded = jwt.decode(
        token, key.key, algorithms=["ES256"], audience=robot, issuer=relay_keyhook.url
    )
    assert decoded["sub"] == user_id
    assert {k: decoded[k] for k in claims} == claims
    sent = receiver.on(path)[0].json
    assert sent["function"] == "complement_token"
    assert (await cli.wait_for("complement_token"))[0].split()[1] == "function"


async def lock(api: Api, login: str) -> str:
    """A new user, locked by five wrong passwords; its id."""
    user_id = str(
        (await api.add_user(login, password={"password": "the right one!"})).ok()["userId"]
    )
    for attempt in range(5):
        reply = await api.post(
            "/v2/sessions",
            {"checks": {"user": {"loginName": login}, "password": {"password": f"no {attempt}"}}},
        )
        assert reply.status == 400, reply.body
    return user_id


async def test_an_event_through_the_listener_is_verified_by_the_seed_node_receiver(
    relay_api: Api, relay_keyhook: KeyhookServer, listeners: list[ListenProcess], tmp_path: Path
) -> None:
    if NODE is None:
        pytest.skip("node is not on PATH: the seed's Node.js receiver cannot be run")
    port, record = free_port(), tmp_path / "slack.jsonl"
    name = unique("laptop")
    cli = listen(
        relay_keyhook,
        listeners,
        "--target",
        name,
        "--type",
        "restAsync",
        "--forward-to",
        f"http://127.0.0.1:{port}/webhooks/zitadel/user-locked",
    )
    await cli.start()
    assert "restAsync" in cli.output
    target = await target_named(relay_api, name)
    node = subprocess.Popen(
        [NODE, str(SECURITY_RECEIVER), str(port), target["signingKey"], str(record)],
        stdout=subprocess.PIPE,
    )
    try:
        assert node.stdout is not None
        assert node.stdout.readline() == b"listening\n"
        await relay_api.set_execution({"event": {"event": "user.locked"}}, [target["id"]])
        login = f"{unique('locked')}@example.com"
        user_id = await lock(relay_api, login)

        async def notified() -> bool:
            return record.exists() and bool(record.read_text().strip())

        await wait_until(notified, timeout=60)
    finally:
        node.terminate()
        node.wait()
    messages = [json.loads(line) for line in record.read_text().splitlines()]
    assert [(m["event"], m["userID"], m["userName"]) for m in messages] == [
        ("user.locked", user_id, login)
    ]

    async def recorded() -> bool:  # the worker records results after the receiver answered
        found = (
            await relay_api.post("/v2/actions/deliveries/search", {"targetId": target["id"]})
        ).ok()["deliveries"]
        return bool(found) and found[0]["status"] == "succeeded"

    await wait_until(recorded, timeout=60)
    delivery = (
        await relay_api.post("/v2/actions/deliveries/search", {"targetId": target["id"]})
    ).ok()["deliveries"][0]
    assert delivery["webhookId"] == messages[0]["webhookId"]
    assert "event    user.locked  → 200" in (await cli.wait_for("user.locked"))[0]


async def test_a_killed_listener_fails_sync_calls_and_a_waiting_event_arrives_on_restart(
    relay_api: Api,
    relay_keyhook: KeyhookServer,
    receiver: Receiver,
    listeners: list[ListenProcess],
) -> None:
    api = relay_api
    name, path = unique("laptop"), f"/{unique('hook')}"
    hook = receiver.endpoint(path)
    first = listen(relay_keyhook, listeners, "--target", name, "--forward-to", hook)
    await first.start()
    target = await target_named(api, name)
    await api.set_execution({"request": {"method": LIST_USERS}}, [target["id"]])
    await api.set_execution({"event": {"event": "user.human.added"}}, [target["id"]])
    assert (await api.post("/v2/users/search", {})).status == 200

    await first.stop()
    await detached(relay_keyhook, target["id"], 1)
    reply = await api.post("/v2/users/search", {})
    assert reply.status == 502, reply.body
    assert "no `keyhook listen` is attached" in reply.body["message"]
    email = f"{unique('waiting')}@example.com"
    user_id = (await api.add_user(email)).ok()["userId"]

    async def attempted() -> bool:
        found = (await api.post("/v2/actions/deliveries/search", {"targetId": target["id"]})).ok()
        return any(d["attempts"] >= 1 and d["status"] == "pending" for d in found["deliveries"])

    await wait_until(attempted)
    assert not [r for r in receiver.on(path) if r.json.get("userID") == user_id]
    delivery = (await api.post("/v2/actions/deliveries/search", {"targetId": target["id"]})).ok()[
        "deliveries"
    ][0]
    assert "no `keyhook listen` is attached" in delivery["lastError"]

    second = listen(relay_keyhook, listeners, "--target", name, "--forward-to", hook)
    await second.start()
    assert "Created relay target" not in second.output

    async def arrived() -> bool:
        return any(
            r.json.get("event") == "user.human.added" and r.json.get("userID") == user_id
            for r in receiver.on(path)
        )

    await wait_until(arrived)
    event = next(r for r in receiver.on(path) if r.json.get("userID") == user_id)
    assert event.headers["webhook-id"] == delivery["webhookId"]


async def test_a_local_receiver_refusing_connections_fails_the_call_and_says_so(
    relay_api: Api, relay_keyhook: KeyhookServer, listeners: list[ListenProcess]
) -> None:
    name = unique("laptop")
    nowhere = f"http://127.0.0.1:{free_port()}/hook"
    cli = listen(relay_keyhook, listeners, "--target", name, "--forward-to", nowhere)
    await cli.start()
    target = await target_named(relay_api, name)
    await relay_api.set_execution({"request": {"method": LIST_USERS}}, [target["id"]])
    reply = await relay_api.post("/v2/users/search", {})
    assert reply.status == 502, reply.body
    assert f"the local receiver at {nowhere} refused the connection" in reply.body["message"]
    assert "refused the connection (is it running?)" in (await cli.wait_for(LIST_USERS))[0]


@pytest.mark.parametrize(
    "local",
    [
        Answer(400, {"status": "error", "message": "not on my laptop"}),
        Answer(500, {"status": "error", "message": "crashed"}),
        Answer(200, raw=b"this is not JSON"),
        Answer(200, raw=b"[" + b"1," * (1024 * 1024) + b"1]"),
        Answer(200, {"status": "error", "message": "an error in a 200"}),
    ],
    ids=["400", "500", "not-json", "too-large", "error-in-200"],
)
async def test_the_local_answer_is_read_exactly_as_an_http_answer(
    local: Answer,
    relay_api: Api,
    relay_keyhook: KeyhookServer,
    receiver: Receiver,
    listeners: list[ListenProcess],
) -> None:
    path = f"/{unique('same')}"

    async def handler(_: Received) -> Answer:
        return local

    hook = receiver.endpoint(path, handler)
    name = unique("relay")
    cli = listen(relay_keyhook, listeners, "--target", name, "--forward-to", hook)
    await cli.start()
    relayed = await target_named(relay_api, name)
    direct = await relay_api.create_target(
        hook, kind="restCall", interrupt=True, name=name + "-http"
    )
    replies = []
    for target in (relayed, direct):
        await relay_api.set_execution({"request": {"method": LIST_USERS}}, [target["id"]])
        reply = await relay_api.post("/v2/users/search", {})
        replies.append((reply.status, reply.body["message"].replace(name + "-http", name)))
    assert replies[0] == replies[1]
    assert replies[0][0] >= 400


async def test_a_second_listener_on_the_same_target_is_refused(
    relay_keyhook: KeyhookServer, receiver: Receiver, listeners: list[ListenProcess]
) -> None:
    name = unique("laptop")
    hook = receiver.endpoint(f"/{unique('hook')}")
    await listen(relay_keyhook, listeners, "--target", name, "--forward-to", hook).start()
    second = listen(relay_keyhook, listeners, "--target", name, "--forward-to", hook)
    await second.start(ready=False)
    assert await second.exit_code() == 1
    assert "another `keyhook listen` is attached" in second.output
    assert "Traceback" not in second.output


async def test_listen_refuses_an_http_target_of_that_name(
    relay_api: Api, relay_keyhook: KeyhookServer, receiver: Receiver, listeners: list[ListenProcess]
) -> None:
    name = unique("http")
    hook = receiver.endpoint(f"/{unique('hook')}")
    await relay_api.create_target(hook, name=name)
    cli = listen(relay_keyhook, listeners, "--target", name, "--forward-to", hook)
    await cli.start(ready=False)
    assert await cli.exit_code() == 1
    assert "is not a relay target" in cli.output


async def test_listen_forwards_only_to_loopback_unless_allowed(
    relay_keyhook: KeyhookServer, listeners: list[ListenProcess]
) -> None:
    cli = listen(relay_keyhook, listeners, "--forward-to", "http://192.0.2.10/hook")
    await cli.start(ready=False)
    assert await cli.exit_code() == 2
    assert "--allow-remote" in cli.output
    assert "Traceback" not in cli.output


async def test_a_wrong_token_is_one_line_and_exit_code_3(
    relay_keyhook: KeyhookServer, receiver: Receiver, listeners: list[ListenProcess]
) -> None:
    cli = ListenProcess(
        relay_keyhook.url, "kh_wrong", ["--forward-to", receiver.endpoint("/never")]
    )
    listeners.append(cli)
    await cli.start(ready=False)
    assert await cli.exit_code() == 3
    assert "the token was refused" in cli.output
    assert len(cli.lines) == 1


async def test_the_relay_socket_refuses_a_bad_token_and_an_http_target(
    relay_api: Api, relay_keyhook: KeyhookServer, receiver: Receiver
) -> None:
    http_target = await relay_api.create_target(receiver.endpoint(f"/{unique('hook')}"))
    socket_url = relay_keyhook.url.replace("http", "ws") + "/v2/actions/relay?target="
    cases = [
        ("kh_wrong", http_target["id"], 4401, "unauthenticated"),
        (relay_keyhook.token, http_target["id"], 4400, "failed_precondition"),
        (relay_keyhook.token, "12345", 4404, "not_found"),
    ]
    async with aiohttp.ClientSession() as session:
        for token, target_id, close_code, code in cases:
            async with session.ws_connect(
                socket_url + target_id, headers={"Authorization": f"Bearer {token}"}
            ) as socket:
                frame = orjson.loads((await socket.receive()).data)
                assert frame["type"] == "error"
                assert frame["code"] == code
                await socket.receive()
                assert socket.close_code == close_code


async def test_only_a_caller_allowed_to_change_targets_may_attach(
    relay_api: Api, relay_keyhook: KeyhookServer, receiver: Receiver, listeners: list[ListenProcess]
) -> None:
    """An IAM_OWNER_VIEWER may read the relay target but not take its calls."""
    name = unique("laptop")
    hook = receiver.endpoint(f"/{unique('hook')}")
    owner = listen(relay_keyhook, listeners, "--target", name, "--forward-to", hook)
    await owner.start()
    await owner.stop()
    await detached(relay_keyhook, (await target_named(relay_api, name))["id"], 1)
    viewer = await relay_api.add_machine_user(unique("viewer"), "Viewer")
    (
        await relay_api.post(
            "/v2/administrators",
            {"userId": viewer, "resource": {"instance": True}, "roles": ["IAM_OWNER_VIEWER"]},
        )
    ).ok()
    token = (
        await relay_api.post(f"/v2/users/{viewer}/pats", {"expirationDate": "2031-01-01T00:00:00Z"})
    ).ok()["token"]
    cli = ListenProcess(relay_keyhook.url, token, ["--target", name, "--forward-to", hook])
    listeners.append(cli)
    await cli.start(ready=False)
    assert await cli.exit_code() == 3
    assert "the relay refused to attach" in cli.output
    assert "action.target.write" in cli.output or "permission" in cli.output.lower()


async def test_concurrent_calls_through_one_listener_each_get_their_own_answer(
    relay_api: Api, relay_keyhook: KeyhookServer, receiver: Receiver, listeners: list[ListenProcess]
) -> None:
    async def refuse_by_name(received: Received) -> Answer:
        email = received.json["request"]["user"]["email"]["email"]
        return Answer(400, {"status": "error", "message": f"refused {email}"})

    name, path = unique("laptop"), f"/{unique('many')}"
    hook = receiver.endpoint(path, refuse_by_name)
    await listen(relay_keyhook, listeners, "--target", name, "--forward-to", hook).start()
    target = await target_named(relay_api, name)
    await relay_api.set_execution({"request": {"method": ADD_HUMAN_USER}}, [target["id"]])
    emails = [f"{unique('many')}@example.com" for _ in range(20)]
    replies = await asyncio.gather(*(relay_api.add_user(email) for email in emails))
    assert [(r.status, r.body["message"]) for r in replies] == [
        (400, f"refused {email}") for email in emails
    ]
