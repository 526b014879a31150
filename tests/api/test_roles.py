"""Who may do what (issue 11): every operation with a caller of every role, the CI
role end to end, and organizations' administrators kept to their organization.

A server of its own (roles and the instance's owners change here), real PATs,
real receivers.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from keyhook.api.registry import Operation
from keyhook.api.server import build_registry
from keyhook.bootstrap import assemble
from keyhook.config import from_environment
from keyhook.domain.roles import INSTANCE_ROLES, ORG_ROLES
from tests.support.api import Api, serving
from tests.support.receiver import Receiver
from tests.support.server import KeyhookServer


@dataclass(frozen=True)
class Administrator:
    user_id: str
    token: str


@pytest.fixture(scope="module")
async def own(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[KeyhookServer, Api]]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("roles")))
    async with serving(server) as client:
        yield server, client


@pytest.fixture(scope="module")
async def operations(tmp_path_factory: pytest.TempPathFactory) -> list[Operation]:
    core = await assemble(from_environment({}, data_dir=tmp_path_factory.mktemp("registry")))
    try:
        return list(build_registry(core))
    finally:
        await core.stop()


async def machine_with_pat(api: Api, org_id: str | None = None) -> Administrator:
    extra = {"organizationId": org_id} if org_id else {}
    user_id = await api.add_machine_user(f"robot-{secrets.token_hex(4)}", "Robot", **extra)
    token = (await api.post(f"/v2/users/{user_id}/pats", {})).ok()["token"]
    return Administrator(user_id, token)


async def make_administrator(
    api: Api, roles: list[str], org_id: str | None = None, user_org: str | None = None
) -> Administrator:
    admin = await machine_with_pat(api, user_org or org_id)
    resource: dict[str, Any] = {"organizationId": org_id} if org_id else {"instance": True}
    body = {"userId": admin.user_id, "resource": resource, "roles": roles}
    (await api.post("/v2/administrators", body)).ok()
    return admin


async def default_org(api: Api) -> str:
    found = (await api.post("/v2/organizations/search", {})).ok()["result"]
    return str(next(o["id"] for o in found if o["name"] == "Default"))


def allowed(op: Operation, role: str | None) -> bool:
    """The documented table: an instance role grants ``permission``; an organization's
    role grants ``org_permission`` where the operation has one."""
    if role is None:
        return False
    if role in INSTANCE_ROLES:
        return op.permission in INSTANCE_ROLES[role]
    return op.org_permission is not None and op.org_permission in ORG_ROLES[role]


async def test_every_operation_with_every_role(
    own: tuple[KeyhookServer, Api], operations: list[Operation]
) -> None:
    _, api = own
    org_id = await default_org(api)
    callers: dict[str | None, Administrator] = {None: await machine_with_pat(api)}
    for role in INSTANCE_ROLES:
        callers[role] = await make_administrator(api, [role])
    for role in ORG_ROLES:
        callers[role] = await make_administrator(api, [role], org_id)
    assert len(operations) > 50
    wrong: list[str] = []
    for op in operations:
        for who, caller in callers.items():
            # The Connect form with an empty message: authorize runs before the message is
            # read, so a refused caller is refused whatever it sends; an allowed one gets
            # past it (and most often a 400 for the empty message).
            reply = await api.post(op.full_method, {}, token=caller.token)
            refused = reply.status == 403 and reply.body["code"] == "permission_denied"
            if refused:
                assert op.permission in reply.body["message"], reply.body
                # The Connect form: each of Keyhook's details is a Connect detail's debug.
                assert [d["debug"] for d in reply.body["details"]] == [
                    {"permission": op.permission}
                ]
            if refused == allowed(op, who):
                wrong.append(f"{op.name} as {who}: {reply.status} {reply.body}")
    assert wrong == []


async def test_the_ci_role_wires_hooks_and_nothing_else(
    own: tuple[KeyhookServer, Api], receiver: Receiver
) -> None:
    server, api = own
    ci = await make_administrator(api, ["IAM_ACTIONS_MANAGER"])
    path = f"/refuse-{secrets.token_hex(4)}"
    target = (
        await api.post(
            "/v2/actions/targets",
            {
                "name": f"ci-{secrets.token_hex(4)}",
                "endpoint": receiver.endpoint(path),
                "timeout": "5s",
                "restCall": {"interruptOnError": True},
            },
            token=ci.token,
        )
    ).ok()
    condition = {"request": {"method": "/zitadel.user.v2.UserService/AddHumanUser"}}
    (
        await api.put(
            "/v2/actions/executions",
            {"condition": condition, "targets": [target["id"]]},
            token=ci.token,
        )
    ).ok()
    human = {
        "user": {
            "profile": {"givenName": "C", "familyName": "I"},
            "email": {"email": f"ci-{secrets.token_hex(4)}@example.com"},
        }
    }
    refused = await api.post("/v2/users/human", human, token=ci.token)
    assert refused.status == 403
    assert refused.body["code"] == "permission_denied"
    assert "user.write" in refused.body["message"]
    assert "IAM_OWNER" in refused.body["message"]
    # The interrupting target was never called for the refused caller ...
    await asyncio.sleep(0.3)
    assert receiver.on(path) == []
    # ... and is called for an allowed one (so the execution is really there).
    (await api.add_user(f"owner-{secrets.token_hex(4)}@example.com")).ok()
    assert len(await receiver.wait_for(path)) == 1
    (await api.put("/v2/actions/executions", {"condition": condition, "targets": []})).ok()
    del server


async def test_an_org_user_manager_stays_in_its_organization(
    own: tuple[KeyhookServer, Api],
) -> None:
    _, api = own
    org_a = await default_org(api)
    org_b = (await api.post("/v2/organizations", {"name": f"B-{secrets.token_hex(3)}"})).ok()[
        "organizationId"
    ]
    manager = await make_administrator(api, ["ORG_USER_MANAGER"], org_b)
    in_a = (await api.add_user(f"a-{secrets.token_hex(4)}@example.com")).ok()["userId"]
    missing = "9" * 18

    async def as_manager(method: str, path: str, body: Any = None) -> Any:
        return await api.call(method, path, body, token=manager.token)

    # Org A's user is, for the manager of B, exactly a user that does not exist.
    for method, path, body in [
        ("GET", "/v2/users/{id}", None),
        ("POST", "/v2/users/{id}/lock", None),
        ("PUT", "/v2/users/human/{id}", {"profile": {"givenName": "Mallory"}}),
        ("POST", "/v2/users/{id}/password", {"newPassword": {"password": "Secret-Passw0rd!"}}),
        ("DELETE", "/v2/users/{id}", None),
    ]:
        theirs = await as_manager(method, path.format(id=in_a), body)
        nobody = await as_manager(method, path.format(id=missing), body)
        assert theirs.status == nobody.status == 404, (path, theirs.body)
        assert theirs.body["message"].replace(in_a, "X") == nobody.body["message"].replace(
            missing, "X"
        )
    found = (await as_manager("POST", "/v2/users/search", {})).ok()["result"]
    assert in_a not in {u["userId"] for u in found}
    assert (await api.get(f"/v2/users/{in_a}")).ok()["user"]["state"] == "USER_STATE_ACTIVE"
    # In org B it may: create (into B by default), read, change and lock.
    created = (
        await as_manager(
            "POST",
            "/v2/users/human",
            {
                "user": {
                    "profile": {"givenName": "Bo", "familyName": "B"},
                    "email": {"email": f"b-{secrets.token_hex(4)}@example.com"},
                }
            },
        )
    ).ok()["userId"]
    user = (await as_manager("GET", f"/v2/users/{created}")).ok()["user"]
    assert user["details"]["resourceOwner"] == org_b
    (await as_manager("PUT", f"/v2/users/human/{created}", {"profile": {"givenName": "Bea"}})).ok()
    (await as_manager("POST", f"/v2/users/{created}/lock")).ok()
    # Creating a user in org A is refused as if org A did not exist.
    into_a = await as_manager(
        "POST",
        "/v2/users/human",
        {
            "organizationId": org_a,
            "user": {
                "profile": {"givenName": "X", "familyName": "Y"},
                "email": {"email": f"x-{secrets.token_hex(4)}@example.com"},
            },
        },
    )
    assert into_a.status == 404
    assert into_a.body["details"][0]["field"] == "organizationId"
