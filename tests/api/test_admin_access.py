"""Nobody can lock the instance's administrators out of the API (issue 8, finding 9).

LockUser, DeactivateUser and DeleteUser refuse the caller itself, and the last
active user holding a usable personal access token (the command test
``tests/command/test_admin_access.py`` has two such users, which the API cannot make).
These tests run on a server of their own, so a regression cannot lock out the
shared one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.server import KeyhookServer


@pytest.fixture(scope="module")
async def own_api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("admin-access")))
    await server.start()
    client = Api(server.url, server.token)
    yield client
    await client.close()
    await server.stop()


async def my_user_id(api: Api) -> str:
    found = (await api.post("/v2/users/search", {"text": "admin"})).ok()["result"]
    return str(next(u for u in found if u["username"] == "admin")["userId"])


@pytest.mark.parametrize(
    ("method", "path", "verb"),
    [
        ("POST", "/v2/users/{id}/lock", "lock"),
        ("POST", "/v2/users/{id}/deactivate", "deactivate"),
        ("DELETE", "/v2/users/{id}", "delete"),
        ("POST", "/zitadel.user.v2.UserService/LockUser", "lock"),
    ],
)
async def test_the_caller_cannot_disable_itself(
    own_api: Api, method: str, path: str, verb: str
) -> None:
    me = await my_user_id(own_api)
    body = {"userId": me} if path.startswith("/zitadel") else None
    reply = await own_api.call(method, path.format(id=me), body)
    assert reply.status == 400
    assert reply.body["code"] == "failed_precondition"
    assert reply.body["message"].startswith(f"you cannot {verb} yourself")
    assert "ask another administrator" in reply.body["message"]
    detail = {"field": "userId", "problem": "is the caller"}
    if path.startswith("/zitadel"):  # the Connect form: each detail a Connect detail
        assert [d["debug"] for d in reply.body["details"]] == [detail]
    else:
        assert reply.body["details"] == [detail]
    # Nothing changed: the token still works and the user is active.
    user = (await own_api.get(f"/v2/users/{me}")).ok()["user"]
    assert user["state"] == "USER_STATE_ACTIVE"
    events = (await own_api.post("/v2/events/search", {"aggregateId": me, "limit": 1000})).ok()[
        "events"
    ]
    assert not {"user.locked", "user.deactivated", "user.removed"} & {
        e["eventType"] for e in events
    }


async def test_other_users_can_still_be_disabled(own_api: Api) -> None:
    robot = await own_api.add_machine_user("robot-without-token", "Robot")
    (await own_api.post(f"/v2/users/{robot}/lock")).ok()
    (await own_api.post(f"/v2/users/{robot}/unlock")).ok()
    (await own_api.post(f"/v2/users/{robot}/deactivate")).ok()
    (await own_api.delete(f"/v2/users/{robot}")).ok()


async def test_removing_the_callers_own_client_secret_is_allowed(own_api: Api) -> None:
    """A client secret only gets OAuth tokens, which the API does not take: the caller's
    personal access token keeps working without it."""
    me = await my_user_id(own_api)
    await own_api.add_secret(me)
    (await own_api.delete(f"/v2/users/{me}/secret")).ok()
    assert (await own_api.get(f"/v2/users/{me}")).ok()["user"]["state"] == "USER_STATE_ACTIVE"
