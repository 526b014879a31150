from __future__ import annotations

from tests.support.api import Api


async def test_health_and_add_user(api: Api) -> None:
    assert (await api.get("/healthz", token=None)).status == 200
    created = (await api.add_user("smoke@example.com")).ok()
    user = (await api.get(f"/v2/users/{created['userId']}")).ok()["user"]
    assert user["human"]["email"]["email"] == "smoke@example.com"
    assert user["state"] == "USER_STATE_ACTIVE"
