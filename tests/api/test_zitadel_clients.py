"""ZITADEL's own Connect client against Keyhook, unchanged.

The client (tests/node/zitadel/client.mjs) is generated from ZITADEL's published
definitions (npm ``@zitadel/proto``) and speaks the Connect protocol with
``@connectrpc/connect-node`` over HTTP/1.1 JSON, decoding strictly: a member an
answer has that the definitions do not is a failed call.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from keyhook.api.protojson import zitadel_schema
from tests.support.api import Api
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import KeyhookServer
from tests.support.zitadel_client import run_plan

ACTIONS = "/zitadel.action.v2beta.ActionService/"
SPEC = Path(__file__).parents[2] / "src" / "keyhook" / "client" / "operations.json"
USERS = "/zitadel.user.v2.UserService/"
WEB_KEYS = "/zitadel.webkey.v2.WebKeyService/"


# Members of Keyhook's answers that ZITADEL's messages do not have (the REST form keeps
# them; the Connect form leaves them out): a list's Keyhook pagination, an
# application's project id, ID token algorithm and PKCE flag.
KEYHOOK_ADDITIONS = {
    "ListOrganizations": ["details.appliedLimit", "pagination"],
    "GetApplication": [
        "app.projectId",
        "app.oidcConfig.idTokenSignedResponseAlg",
        "app.oidcConfig.pkceRequired",
    ],
    "ListApplications": [
        "applications[].projectId",
        "applications[].oidcConfig.idTokenSignedResponseAlg",
        "applications[].oidcConfig.pkceRequired",
    ],
}


def operations_json() -> list[str]:
    """Every full method the server serves (the generated client table, kept current)."""
    return sorted(json.loads(SPEC.read_text()))


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
        request = received.json["request"]
        # AddHumanUser's message in the seed's form, CreateUser's as ZITADEL has it.
        email = (request.get("user") or request["human"])["email"]["email"]
        if email.endswith("@blocked.example"):
            return Answer(
                403, {"status": "error", "message": "sign-ups from blocked.example are closed"}
            )
        return Answer(200, {"status": "success"})

    path = f"/zitadel-gate-{secrets.token_hex(3)}"
    name = f"gate-{secrets.token_hex(3)}"
    allowed = f"ada-{secrets.token_hex(3)}@example.com"
    refused = f"eve-{secrets.token_hex(3)}@blocked.example"
    created = f"grace-{secrets.token_hex(3)}@example.com"
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
            {
                "name": "set CreateUser",
                "method": ACTIONS + "SetExecution",
                "request": {
                    "condition": {"request": {"method": USERS + "CreateUser"}},
                    "targets": ["${create.id}"],
                },
            },
            {"name": "allowed", "method": USERS + "AddHumanUser", "request": human(allowed)},
            {"name": "refused", "method": USERS + "AddHumanUser", "request": human(refused)},
            {
                "name": "created",
                "method": USERS + "CreateUser",
                "request": {
                    "username": created,
                    "human": {k: v for k, v in human(created).items() if k != "username"},
                },
            },
            {
                "name": "fetched",
                "method": USERS + "GetUserByID",
                "request": {"userId": "${allowed.userId}"},
            },
        ],
    )
    done = ("create", "get", "list", "set", "set CreateUser", "allowed", "created")
    assert all(results[n]["ok"] for n in done), results
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
    assert [c.json["fullMethod"] for c in calls] == [USERS + "AddHumanUser"] * 2 + [
        USERS + "CreateUser"
    ]
    assert [c.json["request"]["user"]["email"]["email"] for c in calls[:2]] == [allowed, refused]
    assert calls[2].json["request"]["human"]["email"]["email"] == created
    assert "password" not in str(calls[2].json["request"])  # secrets never leave the server
    assert results["created"]["answer"]["id"]
    # The refusal reaches the client as a Connect error with the target's words.
    assert results["refused"]["ok"] is False
    assert results["refused"]["code"] == "permission_denied"
    assert results["refused"]["message"] == "sign-ups from blocked.example are closed"
    assert {"targetId": target_id, "targetStatus": 403} in results["refused"]["decoded"]
    # … and nothing was written for it.
    for email, count in ((refused, 0), (allowed, 1)):
        listed = (await clean_actions.post("/v2/users/search", {"text": email})).ok()
        assert len(listed["result"]) == count


def every_reachable_call(
    receiver_url: str, org_id: str, machine_id: str, tag: str
) -> list[dict[str, Any]]:
    """A call of every method ZITADEL's client can reach on Keyhook, in proto3 JSON as
    that client writes it, each using what the ones before it made."""
    email = f"every-{tag}@example.com"
    session = "/zitadel.session.v2.SessionService/"
    project = "/zitadel.project.v2beta.ProjectService/"
    app = "/zitadel.app.v2beta.AppService/"
    org = "/zitadel.org.v2.OrganizationService/"
    return [
        # --- actions (v2beta) ---
        {
            "name": "CreateTarget",
            "method": ACTIONS + "CreateTarget",
            "request": {
                "name": f"every-{tag}",
                "endpoint": receiver_url,
                "timeout": "2s",
                "restAsync": {},
            },
        },
        {
            "name": "GetTarget",
            "method": ACTIONS + "GetTarget",
            "request": {"id": "${CreateTarget.id}"},
        },
        {
            "name": "UpdateTarget",
            "method": ACTIONS + "UpdateTarget",
            "request": {
                "id": "${CreateTarget.id}",
                "timeout": "3.5s",
                "expirationSigningKey": "0s",
            },
        },
        {
            "name": "ListTargets",
            "method": ACTIONS + "ListTargets",
            "request": {"pagination": {"limit": 5}},
        },
        {
            "name": "SetExecution",
            "method": ACTIONS + "SetExecution",
            "request": {
                "condition": {"event": {"event": "user.locked"}},
                "targets": ["${CreateTarget.id}"],
            },
        },
        {
            "name": "ListExecutions",
            "method": ACTIONS + "ListExecutions",
            "request": {"filters": [{"targetFilter": {"targetId": "${CreateTarget.id}"}}]},
        },
        {"name": "ListExecutionFunctions", "method": ACTIONS + "ListExecutionFunctions"},
        {"name": "ListExecutionMethods", "method": ACTIONS + "ListExecutionMethods"},
        {"name": "ListExecutionServices", "method": ACTIONS + "ListExecutionServices"},
        # --- users ---
        {
            "name": "AddHumanUser",
            "method": USERS + "AddHumanUser",
            "request": {**human(email), "organization": {"orgId": org_id}},
        },
        {
            "name": "GetUserByID",
            "method": USERS + "GetUserByID",
            "request": {"userId": "${AddHumanUser.userId}"},
        },
        {"name": "ListUsers", "method": USERS + "ListUsers", "request": {"query": {"limit": 3}}},
        {
            "name": "UpdateHumanUser",
            "method": USERS + "UpdateHumanUser",
            "request": {
                "userId": "${AddHumanUser.userId}",
                "profile": {"givenName": "Augusta", "familyName": "King"},
            },
        },
        {
            "name": "SetUserMetadata",
            "method": USERS + "SetUserMetadata",
            "request": {
                "userId": "${AddHumanUser.userId}",
                "metadata": [{"key": "team", "value": "ZW5naW5lcw=="}],
            },
        },
        {
            "name": "ListUserMetadata (set)",
            "method": USERS + "ListUserMetadata",
            "request": {"userId": "${AddHumanUser.userId}"},
        },
        {
            "name": "SetPassword",
            "method": USERS + "SetPassword",
            "request": {
                "userId": "${AddHumanUser.userId}",
                "newPassword": {"password": "Battery-Staple-7", "changeRequired": False},
            },
        },
        {
            "name": "CreateSession",
            "method": session + "CreateSession",
            "request": {
                "checks": {
                    "user": {"userId": "${AddHumanUser.userId}"},
                    "password": {"password": "Battery-Staple-7"},
                }
            },
        },
        {
            "name": "GetSession",
            "method": session + "GetSession",
            "request": {"sessionId": "${CreateSession.sessionId}"},
        },
        {
            "name": "DeleteSession",
            "method": session + "DeleteSession",
            "request": {"sessionId": "${CreateSession.sessionId}"},
        },
        {
            "name": "LockUser",
            "method": USERS + "LockUser",
            "request": {"userId": "${AddHumanUser.userId}"},
        },
        {
            "name": "UnlockUser",
            "method": USERS + "UnlockUser",
            "request": {"userId": "${AddHumanUser.userId}"},
        },
        {
            "name": "DeactivateUser",
            "method": USERS + "DeactivateUser",
            "request": {"userId": "${AddHumanUser.userId}"},
        },
        {
            "name": "ReactivateUser",
            "method": USERS + "ReactivateUser",
            "request": {"userId": "${AddHumanUser.userId}"},
        },
        {"name": "AddSecret", "method": USERS + "AddSecret", "request": {"userId": machine_id}},
        {
            "name": "RemoveSecret",
            "method": USERS + "RemoveSecret",
            "request": {"userId": machine_id},
        },
        {
            "name": "AddPersonalAccessToken",
            "method": USERS + "AddPersonalAccessToken",
            "request": {"userId": machine_id, "expirationDate": "2099-01-01T00:00:00Z"},
        },
        {
            "name": "ListPersonalAccessTokens",
            "method": USERS + "ListPersonalAccessTokens",
            "request": {"filters": [{"userIdFilter": {"id": machine_id}}]},
        },
        {
            "name": "RemovePersonalAccessToken",
            "method": USERS + "RemovePersonalAccessToken",
            "request": {"userId": machine_id, "tokenId": "${AddPersonalAccessToken.tokenId}"},
        },
        {
            "name": "CreateUser",
            "method": USERS + "CreateUser",
            "request": {
                "organizationId": org_id,
                "username": f"created-{tag}",
                "human": {
                    "profile": {"givenName": "Grace", "familyName": "Hopper"},
                    "email": {"email": f"created-{tag}@example.com", "isVerified": True},
                    "password": {"password": "Cobol-Compiler-59"},
                    "metadata": [{"key": "rank", "value": "YWRtaXJhbA=="}],
                },
            },
        },
        {
            "name": "CreateUser (machine)",
            "method": USERS + "CreateUser",
            "request": {"machine": {"name": "Batch job", "description": "nightly"}},
        },
        {
            "name": "UpdateUser",
            "method": USERS + "UpdateUser",
            "request": {
                "userId": "${CreateUser.id}",
                "human": {"profile": {"nickName": "Amazing Grace"}},
            },
        },
        {
            "name": "SetEmail",
            "method": USERS + "SetEmail",
            "request": {
                "userId": "${CreateUser.id}",
                "email": f"grace-{tag}@example.com",
                "isVerified": True,
            },
        },
        {
            "name": "SetPhone",
            "method": USERS + "SetPhone",
            "request": {"userId": "${CreateUser.id}", "phone": "+41791234567"},
        },
        {
            "name": "RemovePhone",
            "method": USERS + "RemovePhone",
            "request": {"userId": "${CreateUser.id}"},
        },
        {
            "name": "ListUserMetadata",
            "method": USERS + "ListUserMetadata",
            "request": {"userId": "${CreateUser.id}"},
        },
        {
            "name": "DeleteUserMetadata",
            "method": USERS + "DeleteUserMetadata",
            "request": {"userId": "${CreateUser.id}", "keys": ["rank"]},
        },
        {
            "name": "ListAuthenticationMethodTypes",
            "method": USERS + "ListAuthenticationMethodTypes",
            "request": {"userId": "${CreateUser.id}"},
        },
        {
            "name": "ListAuthenticationFactors",
            "method": USERS + "ListAuthenticationFactors",
            "request": {"userId": "${CreateUser.id}"},
        },
        {
            "name": "DeleteUser",
            "method": USERS + "DeleteUser",
            "request": {"userId": "${AddHumanUser.userId}"},
        },
        # --- organizations, projects, applications, settings ---
        {
            "name": "AddOrganization",
            "method": org + "AddOrganization",
            "request": {"name": f"Org {tag}"},
        },
        {"name": "ListOrganizations", "method": org + "ListOrganizations", "request": {}},
        {
            "name": "CreateProject",
            "method": project + "CreateProject",
            "request": {"organizationId": org_id, "name": f"project-{tag}"},
        },
        {
            "name": "GetProject",
            "method": project + "GetProject",
            "request": {"id": "${CreateProject.id}"},
        },
        {"name": "ListProjects", "method": project + "ListProjects", "request": {}},
        {
            "name": "CreateApplication",
            "method": app + "CreateApplication",
            "request": {
                "projectId": "${CreateProject.id}",
                "name": f"app-{tag}",
                "oidcRequest": {
                    "redirectUris": ["https://app.example.com/callback"],
                    "responseTypes": ["OIDC_RESPONSE_TYPE_CODE"],
                    "grantTypes": ["OIDC_GRANT_TYPE_AUTHORIZATION_CODE"],
                    "appType": "OIDC_APP_TYPE_WEB",
                    "authMethodType": "OIDC_AUTH_METHOD_TYPE_BASIC",
                },
            },
        },
        {
            "name": "GetApplication",
            "method": app + "GetApplication",
            "request": {"id": "${CreateApplication.appId}"},
        },
        {
            "name": "ListApplications",
            "method": app + "ListApplications",
            "request": {"projectId": "${CreateProject.id}"},
        },
        {
            "name": "DeleteApplication",
            "method": app + "DeleteApplication",
            "request": {"projectId": "${CreateProject.id}", "id": "${CreateApplication.appId}"},
        },
        {
            "name": "DeleteProject",
            "method": project + "DeleteProject",
            "request": {"id": "${CreateProject.id}"},
        },
        {
            "name": "GetLockoutSettings",
            "method": "/zitadel.settings.v2.SettingsService/GetLockoutSettings",
            "request": {},
        },
        # --- web keys (the active key stays ES256: other tests share this server) ---
        {
            "name": "CreateWebKey",
            "method": WEB_KEYS + "CreateWebKey",
            "request": {"ecdsa": {"curve": "ECDSA_CURVE_P256"}},
        },
        {
            "name": "ActivateWebKey",
            "method": WEB_KEYS + "ActivateWebKey",
            "request": {"id": "${CreateWebKey.id}"},
        },
        {
            "name": "CreateWebKey (spare)",
            "method": WEB_KEYS + "CreateWebKey",
            "request": {"ed25519": {}},
        },
        {"name": "ListWebKeys", "method": WEB_KEYS + "ListWebKeys", "request": {}},
        {
            "name": "DeleteWebKey",
            "method": WEB_KEYS + "DeleteWebKey",
            "request": {"id": "${CreateWebKey (spare).id}"},
        },
        # --- and the actions undone ---
        {
            "name": "SetExecution (remove)",
            "method": ACTIONS + "SetExecution",
            "request": {"condition": {"event": {"event": "user.locked"}}, "targets": []},
        },
        {
            "name": "DeleteTarget",
            "method": ACTIONS + "DeleteTarget",
            "request": {"id": "${CreateTarget.id}"},
        },
    ]


async def test_every_answer_of_every_reachable_method_decodes_strictly(
    keyhook: KeyhookServer, clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    orgs = (await api.post("/v2/organizations/search", {})).ok()["result"]
    org_id = next(o["id"] for o in orgs if o["name"] == "Default")
    tag = secrets.token_hex(3)
    machine_id = await api.add_machine_user(f"every-robot-{tag}", "Robot")
    calls = every_reachable_call(receiver.endpoint(f"/every-{tag}"), org_id, machine_id, tag)
    results = await run_plan(keyhook.url, keyhook.token, calls)
    failed = {name: r for name, r in results.items() if not r["ok"]}
    assert failed == {}, json.dumps(failed, indent=1)
    # What Keyhook's answers had that the messages have not (the Keyhook-Left-Out
    # header) is only Keyhook's documented additions: nothing ZITADEL names otherwise.
    left_out = {name: r["leftOut"] for name, r in results.items() if r["leftOut"]}
    assert left_out == KEYHOOK_ADDITIONS
    # Every method of ZITADEL's definitions that Keyhook serves was called.
    schema = zitadel_schema()
    served = {op for op in operations_json() if schema.has(op)}
    assert {c["method"] for c in calls} == served
    # … and the answers hold what was asked for.
    assert (
        results["GetUserByID"]["answer"]["user"]["human"]["email"]["email"]
        == f"every-{tag}@example.com"
    )
    assert (
        results["UpdateTarget"]["answer"]["signingKey"]
        != results["CreateTarget"]["answer"]["signingKey"]
    )
    assert results["GetTarget"]["answer"]["target"]["restAsync"] == {}
    # Metadata values are protobuf bytes (base64) both ways: what was set reads back.
    set_ = results["ListUserMetadata (set)"]["answer"]["metadata"]
    assert [(m["key"], m["value"]) for m in set_] == [("team", "ZW5naW5lcw==")]
    metadata = results["ListUserMetadata"]["answer"]["metadata"]
    assert [(m["key"], m["value"]) for m in metadata] == [("rank", "YWRtaXJhbA==")]
    assert results["ListAuthenticationMethodTypes"]["answer"]["authMethodTypes"] == [
        "AUTHENTICATION_METHOD_TYPE_PASSWORD"
    ]
    assert results["CreateUser (machine)"]["answer"]["id"]
    keys = {k["id"]: k for k in results["ListWebKeys"]["answer"]["webKeys"]}
    assert keys[results["CreateWebKey"]["answer"]["id"]]["state"] == "STATE_ACTIVE"
    assert results["DeleteWebKey"]["answer"]["deletionDate"]
    assert results["ListExecutions"]["answer"]["executions"][0]["targets"] == [
        results["CreateTarget"]["answer"]["id"]
    ]
