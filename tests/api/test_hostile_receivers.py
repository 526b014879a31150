"""Hostile and broken receivers against a running server (issue 8's findings 1, 3, 4, 6, 8).

A receiver is untrusted input: nothing it answers may cost more than a bounded
amount, fail other targets' work, or escape as a 500. These run on both
databases; findings 3 and 8 were PostgreSQL's (NUL in ``text``), and pass there
only because what a receiver sends is made storable.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from typing import Any

import aiohttp
import httpx
import jwt
import orjson
import pytest

from tests.support.api import Api
from tests.support.events import wait_until
from tests.support.hostile import HostileReceiver, gzip_bomb, http_answer
from tests.support.oidc import code_tokens, create_client, create_user
from tests.support.receiver import Receiver, answer
from tests.support.server import KeyhookServer

GET_USER = "/zitadel.user.v2.UserService/GetUserByID"
LIST_USERS = "/zitadel.user.v2.UserService/ListUsers"
MiB = 1024 * 1024


@functools.cache
def bomb_answer() -> bytes:
    """About 400 KB of gzip that inflates to 400 MiB: the probe's bomb."""
    return http_answer(body=gzip_bomb(400 * MiB), headers={"Content-Encoding": "gzip"})


async def a_user(api: Api) -> str:
    return str((await api.add_user(f"h-{secrets.token_hex(4)}@example.com")).ok()["userId"])


async def calls_of(api: Api, target_id: str) -> list[dict[str, Any]]:
    page = (
        await api.post(
            "/v2/actions/calls/search", {"targetId": target_id, "query": {"limit": 1000}}
        )
    ).ok()
    calls: list[dict[str, Any]] = page["calls"]
    return calls


# --- 1. decompression bomb -----------------------------------------------------------


async def test_a_gzip_bomb_is_refused_without_inflating_it(
    clean_actions: Api, keyhook: KeyhookServer, hostile: HostileReceiver
) -> None:
    api = clean_actions
    user = await a_user(api)
    target = await api.create_target(hostile.endpoint("/bomb", bomb_answer()), interrupt=True)
    await api.set_execution({"request": {"method": GET_USER}}, [target["id"]])
    before = keyhook.rss_mib()
    replies = await asyncio.gather(*(api.get(f"/v2/users/{user}") for _ in range(8)))
    assert [r.status for r in replies] == [502] * 8
    assert all("after decompression" in r.body["message"] for r in replies)
    # Eight 400 MiB inflations would be 3 GiB; a bounded read stays near the cap.
    assert keyhook.rss_mib() - before < 100
    assert (await api.get("/healthz")).status == 200
    assert len(hostile.on("/bomb")) == 8


# --- 3. NUL in an answer: the call log keeps writing ----------------------------------


async def test_a_nul_in_an_answer_is_logged_and_the_call_log_keeps_writing(
    clean_actions: Api, hostile: HostileReceiver
) -> None:
    api = clean_actions
    user = await a_user(api)
    refusal = orjson.dumps({"status": "error", "message": "bad\u0000thing"})
    target = await api.create_target(
        hostile.endpoint("/nul", http_answer(400, refusal)), interrupt=True
    )
    await api.set_execution({"request": {"method": GET_USER}}, [target["id"]])
    reply = await api.get(f"/v2/users/{user}")
    assert reply.status == 400
    assert reply.body["message"] == "bad\u0000thing"  # the caller sees it verbatim (JSON)

    async def recorded() -> bool:
        return len(await calls_of(api, target["id"])) == 1

    await wait_until(recorded)
    assert (await calls_of(api, target["id"]))[0]["error"] == "bad\ufffdthing"
    # The writer lives on: later calls are recorded too.
    for _ in range(3):
        assert (await api.get(f"/v2/users/{user}")).status == 400

    async def all_recorded() -> bool:
        return len(await calls_of(api, target["id"])) == 4

    await wait_until(all_recorded)


# --- 4. one slow target starves no other ---------------------------------------------


async def test_a_slow_target_starves_neither_other_targets_nor_deliveries(
    clean_actions: Api, keyhook: KeyhookServer, hostile: HostileReceiver, receiver: Receiver
) -> None:
    api = clean_actions
    user = await a_user(api)
    slow = await api.create_target(hostile.endpoint("/never", None), timeout="10s")
    healthy = await api.create_target(
        receiver.endpoint(f"/healthy-{secrets.token_hex(3)}"), interrupt=True, timeout="2s"
    )
    notified = f"/notified-{secrets.token_hex(3)}"
    events = await api.create_target(receiver.endpoint(notified), kind="restAsync")
    await api.set_execution({"request": {"method": GET_USER}}, [slow["id"]])
    await api.set_execution({"request": {"method": LIST_USERS}}, [healthy["id"]])
    await api.set_execution({"event": {"event": "user.metadata.set"}}, [events["id"]])

    # More waiting calls than the old shared pool had connections (200).
    headers = {"Authorization": f"Bearer {keyhook.token}"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def get_user() -> int:
            async with session.get(f"{keyhook.url}/v2/users/{user}") as response:
                return response.status

        flood = [asyncio.create_task(get_user()) for _ in range(240)]
        await hostile.wait_for("/never", 32)
        # While 32 calls wait on the slow target, others are served at once ...
        for _ in range(5):
            assert (await api.post("/v2/users/search", {})).status == 200
        # ... and an event is delivered.
        metadata = {"metadata": [{"key": "k", "value": "v"}]}
        (await api.post(f"/v2/users/{user}/metadata", metadata)).ok()
        await receiver.wait_for(notified, 1, timeout=5)
        assert sum(not task.done() for task in flood) >= 32  # the slow ones still wait
        statuses = await asyncio.gather(*flood)
    assert statuses == [200] * 240  # without interruptOnError every call goes on
    assert len(hostile.on("/never")) == 32  # never more than the cap in flight

    async def all_recorded() -> bool:
        return len(await calls_of(api, slow["id"])) == 240

    await wait_until(all_recorded)
    errors = [c["error"] for c in await calls_of(api, slow["id"])]
    busy = [e for e in errors if "is busy" in e and "KEYHOOK_ACTIONS_TARGET_SYNC_CONCURRENCY" in e]
    assert len(busy) == 240 - 32
    assert sum("no answer within 10s" in e for e in errors) == 32


async def test_a_busy_target_with_interrupt_on_error_answers_503(
    clean_actions: Api, keyhook: KeyhookServer, hostile: HostileReceiver
) -> None:
    api = clean_actions
    user = await a_user(api)
    slow = await api.create_target(hostile.endpoint("/never", None), timeout="3s", interrupt=True)
    await api.set_execution({"request": {"method": GET_USER}}, [slow["id"]])
    waiting = [asyncio.create_task(api.get(f"/v2/users/{user}")) for _ in range(32)]
    await hostile.wait_for("/never", 32)
    reply = await api.get(f"/v2/users/{user}")
    assert reply.status == 503
    assert reply.body["code"] == "target_failed"
    assert "is busy" in reply.body["message"]
    assert [r.status for r in await asyncio.gather(*waiting)] == [504] * 32


# --- 6. header values --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Api-Key", "a\x7fb"),
        ("X-Api-Key", "esc\x1b[0m"),
        ("X-Api-Key", "tab-at-end\t"),
        ("Accept-Encoding", "br"),
        ("Content-Encoding", "gzip"),
        ("Te", "trailers"),
        ("Upgrade", "websocket"),
        ("Expect", "100-continue"),
        ("Proxy-Authorization", "Basic eDp5"),
    ],
)
async def test_bad_header_values_and_semantic_headers_are_refused_on_save(
    api: Api, receiver: Receiver, name: str, value: str
) -> None:
    body = {
        "name": f"hdr-{secrets.token_hex(4)}",
        "endpoint": receiver.endpoint("/hdr"),
        "timeout": "5s",
        "restWebhook": {"interruptOnError": False},
        "headers": {name: value},
    }
    reply = await api.post("/v2/actions/targets", body)
    assert reply.status == 400
    assert reply.body["details"][0]["field"] == f"headers.{name}"
    assert value not in reply.body["message"]  # a header value may be a secret: never echoed
    created = (await api.post("/v2/actions/targets", {**body, "headers": {"X-Ok": "v"}})).ok()
    update = await api.post(f"/v2/actions/targets/{created['id']}", {"headers": {name: value}})
    assert update.status == 400
    assert update.body["details"][0]["field"] == f"headers.{name}"
    await api.delete(f"/v2/actions/targets/{created['id']}")


# --- 8. NUL in a function target's set_user_metadata ----------------------------------


async def test_nul_in_set_user_metadata_is_refused_and_the_token_is_issued(
    clean_actions: Api, keyhook: KeyhookServer, hostile: HostileReceiver, http: httpx.AsyncClient
) -> None:
    api = clean_actions
    user = await create_user(api)
    answer = orjson.dumps(
        {
            "set_user_metadata": [
                {"key": "poisoned", "value": "a\u0000b"},
                {"key": "fine", "value": "yes"},
            ],
            "append_log_claims": ["looked it up"],
        }
    )
    name = f"nul-meta-{secrets.token_hex(3)}"
    target = await api.create_target(
        hostile.endpoint("/meta", http_answer(body=answer)), name=name, kind="restCall"
    )
    await api.set_execution({"function": {"name": "preaccesstoken"}}, [target["id"]])
    client = await create_client(api)
    tokens = await code_tokens(http, keyhook.url, client, user, "openid")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    log = claims[f"urn:zitadel:iam:action:{name}:log"]
    assert "looked it up" in log
    assert any("'poisoned' ignored" in line and "NUL" in line for line in log)
    metadata = await api.metadata(user.user_id)
    assert {"key": "fine", "value": "yes"} in metadata
    assert all(item["key"] != "poisoned" for item in metadata)


async def test_a_burst_to_a_healthy_target_waits_for_slots_rather_than_failing(
    clean_actions: Api, receiver: Receiver
) -> None:
    """More concurrent calls than the cap, each answered quickly: the extra calls wait
    briefly for a slot, none is refused as busy."""
    api = clean_actions
    user = await a_user(api)
    path = f"/quick-{secrets.token_hex(3)}"
    target = await api.create_target(
        receiver.endpoint(path, answer(delay=0.2)), interrupt=True, timeout="5s"
    )
    await api.set_execution({"request": {"method": GET_USER}}, [target["id"]])
    replies = await asyncio.gather(*(api.get(f"/v2/users/{user}") for _ in range(48)))
    assert [r.status for r in replies] == [200] * 48
    assert len(receiver.on(path)) == 48
