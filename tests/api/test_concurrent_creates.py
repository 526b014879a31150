"""Concurrent creates of the same name (issue 8, finding 10): one wins, the rest are 409.

On PostgreSQL two transactions can both see a name free and both insert it;
the database's unique violation must reach the caller as ``already_exists``
naming what collided, never as a 500. (SQLite serialises writers, so there the
same requests take the ordinary path; the answers must be the same.)
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.support.api import Api, Reply

RACERS = 20


async def race(send: Callable[[], Awaitable[Reply]]) -> list[Reply]:
    return list(await asyncio.gather(*(send() for _ in range(RACERS))))


def assert_one_winner(replies: list[Reply], *words: str) -> Any:
    statuses = sorted(r.status for r in replies)
    assert statuses == [200] + [409] * (RACERS - 1), statuses
    for reply in replies:
        if reply.status == 409:
            assert reply.body["code"] == "already_exists", reply.body
            for word in words:
                assert word in reply.body["message"], reply.body["message"]
    return next(r.body for r in replies if r.status == 200)


async def test_concurrent_create_target_with_one_name(api: Api) -> None:
    name = f"racer-{secrets.token_hex(4)}"
    body = {
        "name": name,
        "endpoint": "https://hooks.example.com/race",
        "timeout": "5s",
        "restAsync": {},
    }
    winner = assert_one_winner(
        await race(lambda: api.post("/v2/actions/targets", body)), "target", repr(name)
    )
    found = (await api.post("/v2/actions/targets/search", {"name": name})).ok()["targets"]
    assert [t["id"] for t in found if t["name"] == name] == [winner["id"]]


async def test_concurrent_add_human_user_with_one_user_name(api: Api) -> None:
    email = f"racer-{secrets.token_hex(4)}@example.com"
    winner = assert_one_winner(
        await race(lambda: api.add_user(email, userName=email)), "user name", email
    )
    found = (await api.post("/v2/users/search", {"text": email})).ok()["result"]
    assert [u["userId"] for u in found] == [winner["userId"]]


@pytest.mark.parametrize("rename", [False, True])
async def test_concurrent_create_project_with_one_name(api: Api, rename: bool) -> None:
    name = f"racer-{secrets.token_hex(4)}"
    if rename:  # names are unique regardless of case
        names = iter([name.upper() if i % 2 else name for i in range(RACERS)])
        replies = await race(lambda: api.post("/v2beta/projects", {"name": next(names)}))
    else:
        replies = await race(lambda: api.post("/v2beta/projects", {"name": name}))
    assert_one_winner(replies, "project")


async def test_concurrent_add_machine_user_with_one_user_name(api: Api) -> None:
    user_name = f"racer-{secrets.token_hex(4)}"
    body = {"userName": user_name, "name": "Racer"}
    assert_one_winner(
        await race(lambda: api.post("/management/v1/users/machine", body)), "user name", user_name
    )


async def test_concurrent_renames_to_one_name(api: Api) -> None:
    name = f"racer-{secrets.token_hex(4)}"
    ids = [
        (await api.create_target("https://hooks.example.com/race", kind="restAsync"))["id"]
        for _ in range(RACERS)
    ]
    pending = iter(ids)
    replies = await race(lambda: api.post(f"/v2/actions/targets/{next(pending)}", {"name": name}))
    assert_one_winner(replies, "target", repr(name))


async def test_concurrent_applications_in_one_project_all_succeed(api: Api) -> None:
    project = (await api.post("/v2beta/projects", {"name": f"racer-{secrets.token_hex(4)}"})).ok()
    body = {
        "projectId": project["id"],
        "name": "app",
        "oidcRequest": {
            "redirectUris": ["https://app.example.com/callback"],
            "appType": "OIDC_APP_TYPE_USER_AGENT",
            "authMethodType": "OIDC_AUTH_METHOD_TYPE_NONE",
        },
    }
    replies = await race(lambda: api.post("/v2beta/applications", body))
    assert [r.status for r in replies] == [200] * RACERS, [r.body for r in replies]
    client_ids = {r.body["oidcResponse"]["clientId"] for r in replies}
    assert len(client_ids) == RACERS


async def total_users(api: Api) -> int:
    reply = (await api.post("/v2/users/search", {"query": {"limit": 1}})).ok()
    return int(reply["details"]["totalResult"])


async def every_user_id(api: Api) -> list[str]:
    ids: list[str] = []
    while True:
        page = (
            await api.post("/v2/users/search", {"query": {"offset": len(ids), "limit": 100}})
        ).ok()["result"]
        ids += [user["userId"] for user in page]
        if len(page) < 100:
            return ids


async def test_the_users_total_stays_exact_through_concurrent_adds_and_removes(
    api: Api,
) -> None:
    # The total is kept in the write transactions (not counted per call): concurrent
    # adds, refused duplicates and removals must leave it equal to the rows there are.
    before = await total_users(api)
    tag = secrets.token_hex(4)
    added = await asyncio.gather(
        *(api.add_user(f"total-{tag}-{n}@example.com") for n in range(RACERS))
    )
    duplicates = await race(lambda: api.add_user(f"total-{tag}-0@example.com"))
    assert all(reply.status == 409 for reply in duplicates)
    user_ids = [reply.ok()["userId"] for reply in added]
    removed = await asyncio.gather(*(api.delete(f"/v2/users/{u}") for u in user_ids[:5]))
    assert all(reply.status == 200 for reply in removed)
    assert await total_users(api) == before + RACERS - 5
    listed = await every_user_id(api)
    assert len(listed) == len(set(listed)) == await total_users(api)
