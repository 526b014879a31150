"""ZITADEL's own Connect client against Keyhook, unchanged.

The client (tests/node/zitadel/client.mjs) is generated from ZITADEL's published
definitions (npm ``@zitadel/proto``) and speaks the Connect protocol with
``@connectrpc/connect-node`` over HTTP/1.1 JSON, decoding strictly: a member an
answer has that the definitions do not is a failed call.
"""

from __future__ import annotations

import secrets
from typing import Any

from tests.support.api import Api
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import KeyhookServer
from tests.support.zitadel_client import run_plan

ACTIONS = "/zitadel.action.v2beta.ActionService/"
USERS = "/zitadel.user.v2.UserService/"


def human(email: str) -> dict[str, Any]:
    """AddHumanUser as ZITADEL's client writes it (proto3 JSON)."""
    return {
        "username": email,
        "profile": {"givenName": "Ada", "familyName": "Lovelace"},
        "email": {"email": email, "isVerified": True},
        "password": {"password": "Correct-Horse-9", "changeRequired": False},
    }


async def test_a_zitadel_client_sets_an_execution_that_is_called_and_can_refuse(
    keyhook: KeyhookServer, clean_actions: Api, receiver: Receiver
) -> None:
    async def gate(received: Received) -> Answer:
        email = received.json["request"]["user"]["email"]["email"]
        if email.endswith("@blocked.example"):
            return Answer(
                403, {"status": "error", "message": "sign-ups from blocked.example are closed"}
            )
        return Answer(200, {"status": "success"})

    path = f"/zitadel-gate-{secrets.token_hex(3)}"
    name = f"gate-{secrets.token_hex(3)}"
    allowed = f"ada-{secrets.token_hex(3)}@example.com"
    refused = f"eve-{secrets.token_hex(3)}@blocked.example"
    results = await run_plan(
        keyhook.url,
        keyhook.token,
        [
            {
                "name": "create",
                "method": ACTIONS + "CreateTarget",
                "request": {
                    "name": name,
                    "endpoint": receiver.endpoint(path, gate),
                    "timeout": "5s",
                    "restWebhook": {"interruptOnError": True},
                },
            },
            {"name": "get", "method": ACTIONS + "GetTarget", "request": {"id": "${create.id}"}},
            {
                "name": "list",
                "method": ACTIONS + "ListTargets",
                "request": {
                    "filters": [
                        {
                            "targetNameFilter": {
                                "targetName": name,
                                "method": "TEXT_FILTER_METHOD_EQUALS",
                            }
                        }
                    ]
                },
            },
            {
                "name": "set",
                "method": ACTIONS + "SetExecution",
                "request": {
                    "condition": {"request": {"method": USERS + "AddHumanUser"}},
                    "targets": ["${create.id}"],
                },
            },
            {"name": "allowed", "method": USERS + "AddHumanUser", "request": human(allowed)},
            {"name": "refused", "method": USERS + "AddHumanUser", "request": human(refused)},
            {
                "name": "fetched",
                "method": USERS + "GetUserByID",
                "request": {"userId": "${allowed.userId}"},
            },
        ],
    )
    assert all(results[n]["ok"] for n in ("create", "get", "list", "set", "allowed")), results
    target_id = results["create"]["answer"]["id"]
    assert results["create"]["answer"]["signingKey"].startswith("whsec_")
    got = results["get"]["answer"]["target"]
    assert got == {
        "id": target_id,
        "name": name,
        "endpoint": receiver.endpoint(path),
        "timeout": "5s",
        "restWebhook": {"interruptOnError": True},
        "signingKey": results["create"]["answer"]["signingKey"],
        "creationDate": got["creationDate"],
        "changeDate": got["changeDate"],
    }
    assert [t["id"] for t in results["list"]["answer"]["targets"]] == [target_id]
    assert results["list"]["answer"]["pagination"]["totalResult"] == "1"
    assert results["fetched"]["answer"]["user"]["human"]["email"]["email"] == allowed

    calls = receiver.on(path)
    assert [c.json["fullMethod"] for c in calls] == [USERS + "AddHumanUser"] * 2
    assert [c.json["request"]["user"]["email"]["email"] for c in calls] == [allowed, refused]
    # The refusal reaches the client as a Connect error with the target's words.
    assert results["refused"]["ok"] is False
    assert results["refused"]["code"] == "permission_denied"
    assert results["refused"]["message"] == "sign-ups from blocked.example are closed"
    assert {"targetId": target_id, "targetStatus": 403} in results["refused"]["decoded"]
    # … and nothing was written for it.
    for email, count in ((refused, 0), (allowed, 1)):
        listed = (await clean_actions.post("/v2/users/search", {"text": email})).ok()
        assert len(listed["result"]) == count
