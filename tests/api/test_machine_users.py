"""Machine users and their client secrets: what is stored, answered and refused."""

from __future__ import annotations

import secrets

from tests.support.api import Api


def name() -> str:
    return f"robot-{secrets.token_hex(4)}"


async def test_add_machine_user_is_shown_as_a_machine(api: Api) -> None:
    user_name = name()
    reply = await api.post(
        "/management/v1/users/machine",
        {
            "userName": user_name,
            "name": "Billing robot",
            "description": "sends invoices",
            "accessTokenType": "ACCESS_TOKEN_TYPE_JWT",
        },
    )
    created = reply.ok()
    assert created["details"]["sequence"] == "1"
    user = (await api.get(f"/v2/users/{created['userId']}")).ok()["user"]
    assert user["username"] == user_name
    assert user["state"] == "USER_STATE_ACTIVE"
    assert "human" not in user
    assert user["machine"] == {
        "name": "Billing robot",
        "description": "sends invoices",
        "accessTokenType": "ACCESS_TOKEN_TYPE_JWT",
        "hasSecret": False,
    }
    found = (await api.post("/v2/users/search", {"text": user_name})).ok()["result"]
    assert [u["machine"] for u in found] == [user["machine"]]
    events = (await api.post("/v2/events/search", {"aggregateId": created["userId"]})).ok()
    assert events["events"][0]["eventType"] == "user.machine.added"
    assert events["events"][0]["eventData"] == {
        "userId": created["userId"],
        "userName": user_name,
        "name": "Billing robot",
        "description": "sends invoices",
        "accessTokenType": "jwt",
    }


async def test_defaults_and_the_admin_machine_user(api: Api) -> None:
    user_id = await api.add_machine_user(name(), "Plain robot")
    machine = (await api.get(f"/v2/users/{user_id}")).ok()["user"]["machine"]
    assert machine["description"] == ""
    assert machine["accessTokenType"] == "ACCESS_TOKEN_TYPE_BEARER"
    admins = (await api.post("/v2/users/search", {"text": "admin"})).ok()["result"]
    admin = next(u for u in admins if u["username"] == "admin")
    assert admin["machine"]["name"] == "Administrator"
    assert admin["machine"]["hasSecret"] is False


async def test_duplicate_user_name_is_refused(api: Api) -> None:
    user_name = name()
    await api.add_machine_user(user_name, "First")
    reply = await api.post(
        "/management/v1/users/machine", {"userName": user_name.upper(), "name": "Second"}
    )
    assert reply.status == 409
    assert f"user name {user_name.upper()!r} is already taken" in reply.body["message"]
    human = await api.add_user(f"{secrets.token_hex(4)}@example.com", userName=user_name)
    assert human.status == 409, "machine and human user names share one namespace"


async def test_malformed_requests_name_the_field(api: Api) -> None:
    missing = await api.post("/management/v1/users/machine", {"userName": name()})
    assert missing.status == 400
    assert "name" in missing.body["message"]
    assert [d["field"] for d in missing.body["details"]] == ["name"]
    empty = await api.post("/management/v1/users/machine", {"userName": name(), "name": " "})
    assert empty.status == 400
    assert empty.body["message"].startswith("name:")
    bad_type = await api.post(
        "/management/v1/users/machine",
        {"userName": name(), "name": "R", "accessTokenType": "ACCESS_TOKEN_TYPE_OPAQUE"},
    )
    assert bad_type.status == 400
    assert "accessTokenType" in bad_type.body["message"]
    spaced = await api.post("/management/v1/users/machine", {"userName": "two words", "name": "R"})
    assert spaced.status == 400
    assert spaced.body["message"].startswith("userName:")
    unknown_org = await api.post(
        "/management/v1/users/machine",
        {"userName": name(), "name": "R", "organizationId": "999"},
    )
    assert unknown_org.status == 404
    assert "organization 999" in unknown_org.body["message"]


async def test_secret_is_shown_once_and_never_again(api: Api) -> None:
    user_id = await api.add_machine_user(name(), "Secret robot")
    reply = (await api.post(f"/v2/users/{user_id}/secret")).ok()
    secret = reply["clientSecret"]
    assert len(secret) >= 40
    assert set(reply) == {"clientSecret", "creationDate"}, "AddSecretResponse's members only"
    user = await api.get(f"/v2/users/{user_id}")
    assert user.ok()["user"]["machine"]["hasSecret"] is True
    listed = await api.post("/v2/users/search", {"text": user.body["user"]["username"]})
    assert listed.ok()["result"][0]["machine"]["hasSecret"] is True
    events = await api.post("/v2/events/search", {"aggregateId": user_id})
    assert [e["eventType"] for e in events.ok()["events"]] == [
        "user.machine.added",
        "user.machine.secret.set",
    ]
    assert events.body["events"][1]["eventData"] == {
        "userId": user_id,
        "userName": user.body["user"]["username"],
    }
    for shown in (user, listed, events):
        assert secret.encode() not in shown.raw
        assert b"argon2" not in shown.raw
        assert b"hashedSecret" not in shown.raw
        assert b"secretHash" not in shown.raw

    again = await api.add_secret(user_id)
    assert again != secret, "setting a secret again replaces it"
    assert (await api.get(f"/v2/users/{user_id}")).ok()["user"]["machine"]["hasSecret"] is True


async def test_a_human_user_has_no_client_secret(api: Api) -> None:
    human_id = (await api.add_user(f"{secrets.token_hex(4)}@example.com")).ok()["userId"]
    for reply in (
        await api.post(f"/v2/users/{human_id}/secret"),
        await api.delete(f"/v2/users/{human_id}/secret"),
    ):
        assert reply.status == 400
        assert reply.body["code"] == "failed_precondition"
        assert "is a human user; only machine users have client secrets" in reply.body["message"]
    assert (await api.post("/v2/users/999/secret")).status == 404


async def test_remove_secret(api: Api) -> None:
    user_name = name()
    user_id = await api.add_machine_user(user_name, "Retired robot")
    await api.add_secret(user_id)
    (await api.delete(f"/v2/users/{user_id}/secret")).ok()
    machine = (await api.get(f"/v2/users/{user_id}")).ok()["user"]["machine"]
    assert machine["hasSecret"] is False
    twice = await api.delete(f"/v2/users/{user_id}/secret")
    assert twice.status == 400
    assert twice.body["code"] == "failed_precondition"
    assert "has no client secret" in twice.body["message"]
    events = (await api.post("/v2/events/search", {"aggregateId": user_id})).ok()["events"]
    assert events[-1]["eventType"] == "user.machine.secret.removed"
    assert events[-1]["eventData"] == {"userId": user_id, "userName": user_name}
