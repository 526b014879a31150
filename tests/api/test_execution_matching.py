"""Only the most specific execution runs; the Actions API is immune to ``all``."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from tests.support.api import Api
from tests.support.receiver import Receiver, answer

ADD_HUMAN_USER = "/zitadel.user.v2.UserService/AddHumanUser"


async def test_method_over_service_over_all(clean_actions: Api, receiver: Receiver) -> None:
    api = clean_actions
    tag = secrets.token_hex(3)
    paths = {scope: f"/{scope}-{tag}" for scope in ("method", "service", "all")}
    ids = {
        scope: (await api.create_target(receiver.endpoint(path)))["id"]
        for scope, path in paths.items()
    }
    conditions: dict[str, dict[str, Any]] = {
        "method": {"request": {"method": ADD_HUMAN_USER}},
        "service": {"request": {"service": "zitadel.user.v2.UserService"}},
        "all": {"request": {"all": True}},
    }
    for scope, condition in conditions.items():
        await api.set_execution(condition, [ids[scope]])

    async def called_after_add() -> set[str]:
        before = {scope: len(receiver.on(path)) for scope, path in paths.items()}
        (await api.add_user(f"m-{secrets.token_hex(4)}@example.com")).ok()
        await asyncio.sleep(0.1)
        return {scope for scope, path in paths.items() if len(receiver.on(path)) > before[scope]}

    assert await called_after_add() == {"method"}
    await api.set_execution(conditions["method"], [])
    assert await called_after_add() == {"service"}
    await api.set_execution(conditions["service"], [])
    assert await called_after_add() == {"all"}


async def test_actions_api_is_immune_to_all(clean_actions: Api, receiver: Receiver) -> None:
    api = clean_actions
    path = f"/broken-{secrets.token_hex(3)}"
    broken = await api.create_target(receiver.endpoint(path, answer(500)), interrupt=True)
    await api.set_execution({"request": {"all": True}}, [broken["id"]])
    # Ordinary calls are wrapped (and fail)...
    assert (await api.add_user(f"x-{secrets.token_hex(3)}@example.com")).status == 502
    # ...the Actions API is not, so the administrator can repair things.
    assert (await api.post("/v2/actions/targets/search", {})).status == 200
    assert (await api.get(f"/v2/actions/targets/{broken['id']}")).status == 200
    await api.set_execution({"request": {"all": True}}, [])
    assert (await api.add_user(f"y-{secrets.token_hex(3)}@example.com")).status == 200
    assert len(receiver.on(path)) == 1


async def test_actions_api_can_be_wrapped_by_its_own_method(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    path = f"/audit-targets-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path))
    # CreateTarget is not in the recovery set (ListTargets is: tests/api/test_actions_lockout.py).
    await api.set_execution(
        {"request": {"method": "/zitadel.action.v2.ActionService/CreateTarget"}}, [target["id"]]
    )
    await api.create_target(receiver.endpoint(path + "-new"))
    assert len(await receiver.wait_for(path)) == 1


async def test_connect_protocol_path_is_wrapped_too(clean_actions: Api, receiver: Receiver) -> None:
    api = clean_actions
    path = f"/connect-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path))
    await api.set_execution({"request": {"method": ADD_HUMAN_USER}}, [target["id"]])
    email = f"c-{secrets.token_hex(3)}@example.com"
    body = {"user": {"profile": {"givenName": "C", "familyName": "P"}, "email": {"email": email}}}
    created = (await api.post(ADD_HUMAN_USER, body)).ok()
    assert (await receiver.wait_for(path))[0].json["request"]["user"]["email"]["email"] == email
    assert created["userId"]
