"""Response executions: what a target sees after the call, and what it may change."""

from __future__ import annotations

import secrets

from tests.support.api import Api
from tests.support.receiver import Answer, Received, Receiver

ADD_HUMAN_USER = "/zitadel.user.v2.UserService/AddHumanUser"


async def test_response_execution_receives_the_new_user(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    path = f"/user-created-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path))
    await api.set_execution({"response": {"method": ADD_HUMAN_USER}}, [target["id"]])
    email = f"crm-{secrets.token_hex(3)}@example.com"
    created = (await api.add_user(email, password={"password": "a long password"})).ok()
    body = (await receiver.wait_for(path))[0].json
    # The fields the seed's "user-created" receiver reads.
    assert body["fullMethod"] == ADD_HUMAN_USER
    assert body["userID"] == created["userId"]
    assert body["request"]["user"]["email"]["email"] == email
    assert body["request"]["user"]["profile"]["givenName"] == "John"
    assert body["response"]["userId"] == created["userId"]
    assert body["response"]["details"]["sequence"] == "1"
    assert body["instanceID"] and body["orgID"]
    assert body["caller"]["userID"] != created["userId"]
    assert "password" not in body["request"]["user"]


async def test_response_execution_may_change_the_answer(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions

    async def annotate(received: Received) -> Answer:
        response = received.json["response"]
        response["crmId"] = "crm-42"
        return Answer(200, {"status": "success", "response": response})

    path = f"/annotate-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path, annotate))
    await api.set_execution({"response": {"method": ADD_HUMAN_USER}}, [target["id"]])
    created = (await api.add_user(f"a-{secrets.token_hex(3)}@example.com")).ok()
    assert created["crmId"] == "crm-42"
    assert created["userId"]


async def test_response_execution_for_a_path_user(clean_actions: Api, receiver: Receiver) -> None:
    api = clean_actions
    created = (await api.add_user(f"lock-{secrets.token_hex(3)}@example.com")).ok()
    path = f"/locked-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path))
    await api.set_execution(
        {"response": {"method": "/zitadel.user.v2.UserService/LockUser"}}, [target["id"]]
    )
    (await api.post(f"/v2/users/{created['userId']}/lock")).ok()
    body = (await receiver.wait_for(path))[0].json
    assert body["userID"] == created["userId"]
    assert body["request"] == {"userId": created["userId"]}
    assert "details" in body["response"]
