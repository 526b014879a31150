"""Administrators and personal access tokens through the API (issue 11): what is
written, what is refused (naming the field and what is allowed, nothing written), and
the events event executions see."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import Api, Reply, serving
from tests.support.receiver import Receiver
from tests.support.server import KeyhookServer


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("administrators")))
    async with serving(server) as client:
        yield client


async def robot(api: Api, **extra: Any) -> str:
    return await api.add_machine_user(f"r-{secrets.token_hex(4)}", "Robot", **extra)


async def member_events(api: Api, user_id: str) -> list[dict[str, Any]]:
    found = await api.post(
        "/v2/events/search",
        {
            "eventTypes": [
                "instance.member.added",
                "instance.member.changed",
                "instance.member.removed",
                "org.member.added",
                "org.member.changed",
                "org.member.removed",
            ],
            "limit": 1000,
        },
    )
    return [e for e in found.ok()["events"] if e["eventData"].get("userId") == user_id]


def refused(reply: Reply, status: int, field: str, *said: str) -> None:
    assert reply.status == status, reply.body
    assert reply.body["details"][0]["field"] == field, reply.body
    for words in said:
        assert words in reply.body["message"], reply.body


async def test_create_update_list_delete(own: Api) -> None:
    user_id = await robot(own)
    instance = {"instance": True}
    created = await own.post(
        "/v2/administrators",
        {"userId": user_id, "resource": instance, "roles": ["IAM_DELIVERY_VIEWER"]},
    )
    assert set(created.ok()) == {"creationDate"}
    changed = await own.call(
        "PATCH",
        f"/v2/administrators/{user_id}",
        {"resource": instance, "roles": ["IAM_OWNER_VIEWER", "IAM_DELIVERY_VIEWER"]},
    )
    assert set(changed.ok()) == {"changeDate"}
    listed = (
        await own.post(
            "/v2/administrators/search",
            {"filters": [{"inUserIdsFilter": {"ids": [user_id]}}]},
        )
    ).ok()
    assert listed["pagination"]["totalResult"] == "1"
    (admin,) = listed["administrators"]
    assert admin["instance"] is True
    assert admin["roles"] == ["IAM_DELIVERY_VIEWER", "IAM_OWNER_VIEWER"]
    assert admin["user"]["id"] == user_id
    by_role = (
        await own.post(
            "/zitadel.internal_permission.v2.InternalPermissionService/ListAdministrators",
            {"filters": [{"role": {"roleKey": "IAM_OWNER"}}]},
        )
    ).ok()["administrators"]
    assert user_id not in {a["user"]["id"] for a in by_role}
    assert len(by_role) == 2, "the two first administrators"
    removed = await own.call("DELETE", f"/v2/administrators/{user_id}", {"resource": instance})
    assert set(removed.ok()) == {"deletionDate"}
    events = await member_events(own, user_id)
    assert [e["eventType"] for e in events] == [
        "instance.member.added",
        "instance.member.changed",
        "instance.member.removed",
    ]
    assert events[1]["eventData"]["roles"] == ["IAM_DELIVERY_VIEWER", "IAM_OWNER_VIEWER"]


async def test_bad_administrators_are_refused_and_nothing_is_written(own: Api) -> None:
    user_id = await robot(own)
    instance = {"instance": True}
    org = (await own.post("/v2/organizations", {"name": f"O-{secrets.token_hex(3)}"})).ok()[
        "organizationId"
    ]
    cases: list[tuple[dict[str, Any], int, str, tuple[str, ...]]] = [
        ({"resource": instance, "roles": ["IAM_KING"]}, 400, "roles[0]", ("not a role",)),
        (
            {"resource": instance, "roles": ["ORG_OWNER"]},
            400,
            "roles[0]",
            ("ORG_OWNER is a role of an organization, not of the instance",),
        ),
        ({"resource": instance, "roles": []}, 400, "roles", ("is empty",)),
        ({"resource": {}, "roles": ["IAM_OWNER"]}, 400, "resource", ("names no resource",)),
        (
            {"resource": {"instance": True, "organizationId": org}, "roles": ["IAM_OWNER"]},
            400,
            "resource",
            ("more than one",),
        ),
        (
            {"resource": {"projectId": "1"}, "roles": ["IAM_OWNER"]},
            400,
            "resource.projectId",
            ("no project administrators",),
        ),
        # A user of the default organization as another organization's administrator.
        (
            {"resource": {"organizationId": org}, "roles": ["ORG_OWNER"]},
            400,
            "userId",
            ("not to", "its own users"),
        ),
        (
            {"resource": {"organizationId": "9" * 18}, "roles": ["ORG_OWNER"]},
            404,
            "organizationId",
            ("does not exist",),
        ),
    ]
    for body, status, field, said in cases:
        reply = await own.post("/v2/administrators", {"userId": user_id, **body})
        refused(reply, status, field, *said)
        assert reply.body["details"][0].get("allowed") or status != 400 or field == "userId"
    unknown = await own.post(
        "/v2/administrators", {"userId": "9" * 18, "resource": instance, "roles": ["IAM_OWNER"]}
    )
    refused(unknown, 404, "userId", "does not exist")
    assert await member_events(own, user_id) == []
    # Twice is a conflict, saying what to do instead.
    body = {"userId": user_id, "resource": instance, "roles": ["IAM_OWNER_VIEWER"]}
    (await own.post("/v2/administrators", body)).ok()
    again = await own.post("/v2/administrators", body)
    refused(again, 409, "userId", "already an administrator", "UpdateAdministrator")
    missing = await own.call(
        "DELETE", f"/v2/administrators/{user_id}", {"resource": {"organizationId": org}}
    )
    refused(missing, 404, "userId", "not an administrator")


async def test_the_last_owner_cannot_be_removed(own: Api) -> None:
    owners = (
        await own.post(
            "/v2/administrators/search", {"filters": [{"role": {"roleKey": "IAM_OWNER"}}]}
        )
    ).ok()["administrators"]
    human, machine = sorted(owners, key=lambda a: a["user"]["preferredLoginName"] == "admin")
    # The human owner may go (the machine one, the caller, stays) ...
    instance = {"instance": True}
    (
        await own.call(
            "DELETE", f"/v2/administrators/{human['user']['id']}", {"resource": instance}
        )
    ).ok()
    # ... but the last one may not, neither removed nor demoted.
    me = machine["user"]["id"]
    gone = await own.call("DELETE", f"/v2/administrators/{me}", {"resource": instance})
    refused(gone, 400, "userId", "last active IAM_OWNER", "Make another user IAM_OWNER first")
    demoted = await own.call(
        "PATCH", f"/v2/administrators/{me}", {"resource": instance, "roles": ["IAM_OWNER_VIEWER"]}
    )
    refused(demoted, 400, "userId", "last active IAM_OWNER")
    assert (await own.get(f"/v2/users/{me}")).status == 200, "still an owner"
    body = {"userId": human["user"]["id"], "resource": instance, "roles": ["IAM_OWNER"]}
    (await own.post("/v2/administrators", body)).ok()


async def test_pats_are_shown_once_listed_without_secrets_and_removed(own: Api) -> None:
    user_id = await robot(own)
    (
        await own.post(
            "/v2/administrators",
            {"userId": user_id, "resource": {"instance": True}, "roles": ["IAM_OWNER_VIEWER"]},
        )
    ).ok()
    issued = (
        await own.post(f"/v2/users/{user_id}/pats", {"expirationDate": "2031-01-01T00:00:00Z"})
    ).ok()
    assert set(issued) == {"creationDate", "tokenId", "token"}
    token = issued["token"]
    assert (await own.get(f"/v2/users/{user_id}", token=token)).status == 200
    listed = (
        await own.post("/v2/users/pats/search", {"filters": [{"userIdFilter": {"id": user_id}}]})
    ).ok()
    (row,) = listed["result"]
    assert row["id"] == issued["tokenId"] and row["userId"] == user_id
    assert row["expirationDate"] == "2031-01-01T00:00:00.000000Z"
    assert token not in str(listed)
    events = (await own.post("/v2/events/search", {"aggregateId": user_id, "limit": 100})).ok()[
        "events"
    ]
    assert "user.pat.added" in {e["eventType"] for e in events}
    assert token not in str(events) and "tokenHash" not in str(events)
    removed = await own.call("DELETE", f"/v2/users/{user_id}/pats/{issued['tokenId']}")
    assert set(removed.ok()) == {"deletionDate"}
    # Refused within the bound a node remembers a token for (0.5 s).
    deadline = time.monotonic() + 1.0
    while (await own.get(f"/v2/users/{user_id}", token=token)).status != 401:
        assert time.monotonic() < deadline, "the removed token still works"
        await asyncio.sleep(0.05)
    again = await own.call("DELETE", f"/v2/users/{user_id}/pats/{issued['tokenId']}")
    refused(again, 404, "tokenId", "has no personal access token")


async def test_bad_pats_are_refused(own: Api) -> None:
    user_id = await robot(own)
    past = await own.post(f"/v2/users/{user_id}/pats", {"expirationDate": "2020-01-01T00:00:00Z"})
    refused(past, 400, "expirationDate", "has passed")
    assert "a time in the future" in past.body["details"][0]["allowed"]
    human = (await own.add_user(f"h-{secrets.token_hex(4)}@example.com")).ok()["userId"]
    refused(await own.post(f"/v2/users/{human}/pats", {}), 400, "userId", "only machine users")
    (await own.delete(f"/v2/users/{user_id}")).ok()
    refused(await own.post(f"/v2/users/{user_id}/pats", {}), 404, "userId", "does not exist")
    listed = (
        await own.post("/v2/users/pats/search", {"filters": [{"userIdFilter": {"id": user_id}}]})
    ).ok()
    assert listed["result"] == []


async def test_role_changes_reach_event_executions(own: Api, receiver: Receiver) -> None:
    path = f"/members-{secrets.token_hex(3)}"
    target = await own.create_target(receiver.endpoint(path), kind="restAsync")
    await own.set_execution({"event": {"group": "instance.member"}}, [target["id"]])
    try:
        user_id = await robot(own)
        body = {"userId": user_id, "resource": {"instance": True}, "roles": ["IAM_USER_MANAGER"]}
        (await own.post("/v2/administrators", body)).ok()
        (delivered,) = await receiver.wait_for(path)
        assert delivered.json["event"] == "instance.member.added"
        assert delivered.json["eventData"] == {"userId": user_id, "roles": ["IAM_USER_MANAGER"]}
    finally:
        await own.set_execution({"event": {"group": "instance.member"}}, [])
