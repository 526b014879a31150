"""The user operations: what each stores, answers and refuses."""

from __future__ import annotations

import secrets

from tests.support.api import Api


def email() -> str:
    return f"u-{secrets.token_hex(4)}@example.com"


async def test_zitadel_flat_form_is_accepted(api: Api) -> None:
    address = email()
    created = (
        await api.post(
            "/v2/users/human",
            {
                "username": address,
                "profile": {"givenName": "Flat", "familyName": "Form"},
                "email": {"email": address, "isVerified": True},
            },
        )
    ).ok()
    user = (await api.get(f"/v2/users/{created['userId']}")).ok()["user"]
    assert user["username"] == address
    assert user["human"]["email"] == {"email": address, "isVerified": True}


async def test_unknown_organization_is_refused(api: Api) -> None:
    reply = await api.post(
        "/v2/users/human",
        {
            "organizationId": "999",
            "user": {"profile": {"givenName": "A", "familyName": "B"}, "email": {"email": email()}},
        },
    )
    assert reply.status == 404
    assert "organization 999" in reply.body["message"]


async def test_duplicate_user_name_is_refused(api: Api) -> None:
    address = email()
    (await api.add_user(address)).ok()
    reply = await api.add_user(address)
    assert reply.status == 409
    assert "already taken" in reply.body["message"]


async def test_lifecycle_appends_events_and_changes_state(api: Api) -> None:
    user_id = (await api.add_user(email())).ok()["userId"]

    async def state() -> str:
        return str((await api.get(f"/v2/users/{user_id}")).ok()["user"]["state"])

    (await api.post(f"/v2/users/{user_id}/lock")).ok()
    assert await state() == "USER_STATE_LOCKED"
    assert (await api.post(f"/v2/users/{user_id}/lock")).status == 400
    (await api.post(f"/v2/users/{user_id}/unlock")).ok()
    (await api.post(f"/v2/users/{user_id}/deactivate")).ok()
    assert await state() == "USER_STATE_INACTIVE"
    (await api.post(f"/v2/users/{user_id}/reactivate")).ok()
    assert await state() == "USER_STATE_ACTIVE"
    events = (await api.post("/v2/events/search", {"aggregateId": user_id})).ok()["events"]
    assert [e["eventType"] for e in events] == [
        "user.human.added",
        "user.locked",
        "user.unlocked",
        "user.deactivated",
        "user.reactivated",
    ]
    locked = events[1]["eventData"]
    assert locked["reason"] == "Locked by administrator"
    assert locked["lockedAt"].endswith("Z")
    (await api.delete(f"/v2/users/{user_id}")).ok()
    assert (await api.get(f"/v2/users/{user_id}")).status == 404


async def test_update_password_and_metadata(api: Api) -> None:
    address = email()
    user_id = (await api.add_user(address, password={"password": "first password"})).ok()["userId"]
    (
        await api.call(
            "PUT",
            f"/v2/users/human/{user_id}",
            {"profile": {"displayName": "New Name"}, "email": {"email": "new-" + address}},
        )
    ).ok()
    user = (await api.get(f"/v2/users/{user_id}")).ok()["user"]
    assert user["human"]["profile"]["displayName"] == "New Name"
    assert user["human"]["profile"]["givenName"] == "John"
    assert user["human"]["email"]["email"] == "new-" + address
    wrong = await api.post(
        f"/v2/users/{user_id}/password",
        {"newPassword": {"password": "second password"}, "currentPassword": "not it at all"},
    )
    assert wrong.status == 400
    assert "currentPassword" in wrong.body["message"]
    (
        await api.post(
            f"/v2/users/{user_id}/password",
            {"newPassword": {"password": "second password"}, "currentPassword": "first password"},
        )
    ).ok()
    (
        await api.post(
            f"/v2/users/{user_id}/metadata",
            {"metadata": [{"key": "team", "value": "blue"}, {"key": "floor", "value": "3"}]},
        )
    ).ok()
    found = (await api.post("/v2/users/search", {"text": "new-" + address})).ok()["result"]
    assert [u["userId"] for u in found] == [user_id]
    assert await api.metadata(user_id) == [
        {"key": "floor", "value": "3"},
        {"key": "team", "value": "blue"},
    ]
    events = (await api.post("/v2/events/search", {"aggregateId": user_id})).ok()["events"]
    assert "hashedPassword" not in str(events), "secrets never leave through the audit trail"


async def test_list_users_pages_both_ways(api: Api) -> None:
    for _ in range(3):
        (await api.add_user(email())).ok()
    up = (await api.post("/v2/users/search", {"query": {"limit": 3}})).ok()
    down = (await api.post("/v2/users/search", {"query": {"limit": 3, "asc": False}})).ok()
    ids_up = [u["userId"] for u in up["result"]]
    ids_down = [u["userId"] for u in down["result"]]
    assert ids_up == sorted(ids_up) and ids_down == sorted(ids_down, reverse=True)
    assert int(up["details"]["totalResult"]) >= 4
