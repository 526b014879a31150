"""Nobody raises themselves above their roles (issue 11, the attacker's review): a
caller manages only users whose permissions it holds itself, a request target cannot
rewrite whom an administrator grants roles to, and a name in one organization cannot
shadow a user of another."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import Api, serving
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import KeyhookServer

HUMAN_ADMIN = "keyhook-admin@keyhook.localhost"


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("escalation")))
    async with serving(server) as client:
        yield client


async def first_owners(api: Api) -> tuple[str, str]:
    """(the admin machine user's id, the human administrator's id)."""
    found = (await api.post("/v2/users/search", {})).ok()["result"]
    by_name = {u["username"]: u["userId"] for u in found}
    return by_name["admin"], by_name[HUMAN_ADMIN]


async def caller_with(api: Api, roles: list[str], org_id: str | None = None) -> str:
    """A PAT of a new machine user with ``roles`` (of ``org_id``, or of the instance)."""
    extra = {"organizationId": org_id} if org_id else {}
    user_id = await api.add_machine_user(f"c-{secrets.token_hex(4)}", "Caller", **extra)
    token = (await api.post(f"/v2/users/{user_id}/pats", {})).ok()["token"]
    resource: dict[str, Any] = {"organizationId": org_id} if org_id else {"instance": True}
    body = {"userId": user_id, "resource": resource, "roles": roles}
    (await api.post("/v2/administrators", body)).ok()
    return str(token)


async def default_org(api: Api) -> str:
    found = (await api.post("/v2/organizations/search", {})).ok()["result"]
    return str(next(o["id"] for o in found if o["name"] == "Default"))


@pytest.mark.parametrize(
    ("roles", "in_default_org"),
    [(["ORG_USER_MANAGER"], True), (["ORG_OWNER"], True), (["IAM_USER_MANAGER"], False)],
)
async def test_a_user_manager_cannot_take_over_an_owner(
    own: Api, roles: list[str], in_default_org: bool
) -> None:
    machine, human = await first_owners(own)
    token = await caller_with(own, roles, await default_org(own) if in_default_org else None)
    attempts: list[tuple[str, str, Any]] = [
        ("POST", f"/v2/users/{machine}/pats", {}),
        ("POST", f"/v2/users/{machine}/secret", None),
        ("POST", f"/v2/users/{human}/password", {"newPassword": {"password": "mine-now-123"}}),
        ("PUT", f"/v2/users/human/{human}", {"email": {"email": "mallory@example.com"}}),
        ("POST", f"/v2/users/{human}/lock", None),
        ("DELETE", f"/v2/users/{human}", None),
        ("POST", f"/v2/users/{human}/metadata", {"metadata": [{"key": "k", "value": "v"}]}),
    ]
    for method, path, body in attempts:
        reply = await own.call(method, path, body, token=token)
        assert reply.status == 403, (path, reply.body)
        assert reply.body["code"] == "permission_denied"
        assert reply.body["details"] == [
            {"field": "userId", "problem": "holds permissions the caller lacks"}
        ]
        assert "iam.member.write" in reply.body["message"]
    # Nothing happened to the owners.
    assert (
        await own.post("/v2/users/pats/search", {"filters": [{"userIdFilter": {"id": machine}}]})
    ).ok()["pagination"]["totalResult"] == "1"
    user = (await own.get(f"/v2/users/{human}")).ok()["user"]
    assert user["state"] == "USER_STATE_ACTIVE"
    assert user["human"]["email"]["email"] == HUMAN_ADMIN
    # A plain user of its reach it still manages.
    plain = await own.add_machine_user(f"p-{secrets.token_hex(4)}", "Plain")
    assert (await own.call("POST", f"/v2/users/{plain}/pats", {}, token=token)).status == 200


async def test_a_request_target_cannot_rewrite_whom_roles_are_granted_to(
    own: Api, receiver: Receiver
) -> None:
    """The CI role may hook every call; its target still cannot turn an owner's grant
    into one for itself (every member of CreateAdministrator is pinned), nor point a
    Connect-form call at another user (the path's members are pinned in both forms)."""
    ci_user = await own.add_machine_user(f"ci-{secrets.token_hex(4)}", "CI")
    intended = await own.add_machine_user(f"i-{secrets.token_hex(4)}", "Intended")

    async def rewrite(received: Received) -> Answer:
        request = dict(received.json["request"])
        request["userId"] = ci_user
        if "roles" in request:  # CreateAdministrator
            request["resource"] = {"instance": True}
            request["roles"] = ["IAM_OWNER"]
        return Answer(200, {"status": "success", "request": request})

    path = f"/rewrite-{secrets.token_hex(3)}"
    target = await own.create_target(receiver.endpoint(path, rewrite))
    methods = [
        "/zitadel.internal_permission.v2.InternalPermissionService/CreateAdministrator",
        "/zitadel.user.v2.UserService/LockUser",
    ]
    for method in methods:
        await own.set_execution({"request": {"method": method}}, [target["id"]])
    try:
        body = {"userId": intended, "resource": {"instance": True}, "roles": ["IAM_OWNER_VIEWER"]}
        (await own.post("/v2/administrators", body)).ok()
        (await own.post(methods[1], {"userId": intended})).ok()
        assert len(receiver.on(path)) == 2, "the target was called, and answered its change"
    finally:
        for method in methods:
            await own.set_execution({"request": {"method": method}}, [])
    admins = (await own.post("/v2/administrators/search", {})).ok()["administrators"]
    roles = {a["user"]["id"]: a["roles"] for a in admins}
    assert roles[intended] == ["IAM_OWNER_VIEWER"]
    assert ci_user not in roles
    assert (await own.get(f"/v2/users/{intended}")).ok()["user"]["state"] == "USER_STATE_LOCKED"
    assert (await own.get(f"/v2/users/{ci_user}")).ok()["user"]["state"] == "USER_STATE_ACTIVE"


async def test_a_name_in_one_organization_cannot_shadow_another_organizations_user(
    own: Api,
) -> None:
    org_b = (await own.post("/v2/organizations", {"name": f"B-{secrets.token_hex(3)}"})).ok()[
        "organizationId"
    ]
    token = await caller_with(own, ["ORG_USER_MANAGER"], org_b)
    shadow = await own.call(
        "POST",
        "/v2/users/human",
        {
            "user": {
                "userName": HUMAN_ADMIN.upper(),
                "profile": {"givenName": "M", "familyName": "M"},
                "email": {"email": "m@example.com"},
            }
        },
        token=token,
    )
    assert shadow.status == 409, shadow.body
    assert shadow.body["message"] == f"user name {HUMAN_ADMIN.upper()!r} is already taken"
