"""Function executions during token issuance, against a running server and real receivers.

complement_token (the seed's form), preaccesstoken / preuserinfo (ZITADEL's form),
reserved claims, metadata written as events, and target failures with and
without interruptOnError.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.support.api import Api
from tests.support.oidc import code_tokens, create_client, create_user, exchange
from tests.support.receiver import Answer, Received, Receiver, answer
from tests.support.server import KeyhookServer, free_port

ENRICH = Path(__file__).parents[1] / "fixtures" / "seed_enrich_receiver.js"
NODE = shutil.which("node")
LOG = "urn:zitadel:iam:action:{}:log"


def verified(keyhook: KeyhookServer, token: str, audience: str) -> dict[str, Any]:
    key = jwt.PyJWKClient(f"{keyhook.url}/oauth/v2/keys").get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["ES256", "RS256"], audience=audience, issuer=keyhook.url
    )
    return claims


async def test_seed_enrich_token_claims_target_adds_claims_to_both_tokens(
    clean_actions: Api,
    keyhook: KeyhookServer,
    receiver: Receiver,
    http: httpx.AsyncClient,
) -> None:
    if NODE is None:
        pytest.skip("node is not on PATH: the guide's Node.js receiver cannot be run")
    api = clean_actions
    user = await create_user(api)
    directory = {
        user.user_id: {
            "department": "Research",
            "employeeId": "E-1815",
            "managerEmail": "charles@example.com",
        }
    }
    api_key = secrets.token_hex(8)

    async def hr_system(request: Received) -> Answer:
        assert request.headers.get("Authorization") == f"Bearer {api_key}"
        return Answer(body=directory[request.path.rsplit("/", 1)[-1]])

    receiver.endpoint("/hr/users/" + user.user_id, hr_system)
    port = free_port()
    process = subprocess.Popen(
        [NODE, str(ENRICH), str(port)],
        stdout=subprocess.PIPE,
        env={**os.environ, "HR_API": receiver.url + "/hr", "API_KEY": api_key},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == b"listening\n"
        target = await api.create_target(
            f"http://127.0.0.1:{port}/webhooks/zitadel/enrich-token", interrupt=True
        )
        await api.set_execution({"function": {"name": "complement_token"}}, [target["id"]])
        client = await create_client(api)
        tokens = await code_tokens(http, keyhook.url, client, user, "openid email")
    finally:
        process.terminate()
        process.wait(5)
    expected = {
        "department": "Research",
        "employee_id": "E-1815",
        "manager_email": "charles@example.com",
    }
    for token in (tokens["access_token"], tokens["id_token"]):
        claims = verified(keyhook, token, client.client_id)
        assert {k: claims[k] for k in expected} == expected
        assert claims["sub"] == user.user_id
    assert verified(keyhook, tokens["id_token"], client.client_id)["email"] == user.email


async def test_zitadel_form_adds_claims_and_metadata_events(
    clean_actions: Api, keyhook: KeyhookServer, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    api = clean_actions
    user = await create_user(api)
    seen: list[dict[str, Any]] = []

    async def pre_access(request: Received) -> Answer:
        seen.append(request.json)
        return Answer(
            body={
                "append_claims": [
                    {"key": "tier", "value": "gold"},
                    {"key": "sub", "value": "someone-else"},
                    {"key": "iss", "value": "https://evil.example.com"},
                ],
                "set_user_metadata": [{"key": "last_login_app", "value": "portal"}],
                "append_log_claims": ["checked the CRM"],
            }
        )

    name = f"zitadel-form-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint("/pre-access", pre_access), name=name)
    await api.set_execution({"function": {"name": "preaccesstoken"}}, [target["id"]])
    client = await create_client(api)
    tokens = await code_tokens(http, keyhook.url, client, user, "openid profile")

    payload = seen[0]
    assert payload["function"] == "preaccesstoken"
    assert payload["userID"] == user.user_id
    assert payload["clientID"] == client.client_id
    assert payload["scopes"] == ["openid", "profile"]
    assert payload["user"]["userName"] == user.login
    assert payload["claims"]["sub"] == user.user_id

    for token in (tokens["access_token"], tokens["id_token"]):
        claims = verified(keyhook, token, client.client_id)
        assert claims["tier"] == "gold"
        assert claims["sub"] == user.user_id  # the override was ignored ...
        assert claims["iss"] == keyhook.url
        log = claims[LOG.format(name)]  # ... and said so in the log claim
        assert "checked the CRM" in log
        assert any("'sub' is reserved" in line for line in log)
        assert any("'iss' is reserved" in line for line in log)

    assert {"key": "last_login_app", "value": "portal"} in await api.metadata(user.user_id)
    events = (
        await api.post(
            "/v2/events/search", {"aggregateId": user.user_id, "eventTypes": ["user.metadata.set"]}
        )
    ).ok()["events"]
    assert any(e["eventData"]["key"] == "last_login_app" for e in events)


async def test_preuserinfo_claims_reach_userinfo_and_id_token(
    clean_actions: Api, keyhook: KeyhookServer, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    api = clean_actions
    user = await create_user(api)
    target = await api.create_target(
        receiver.endpoint(
            "/pre-userinfo",
            answer(body={"append_claims": [{"key": "groups", "value": ["admins", "ops"]}]}),
        )
    )
    await api.set_execution({"function": {"name": "preuserinfo"}}, [target["id"]])
    client = await create_client(api)
    tokens = await code_tokens(http, keyhook.url, client, user, "openid email")
    assert verified(keyhook, tokens["id_token"], client.client_id)["groups"] == ["admins", "ops"]
    assert "groups" not in verified(keyhook, tokens["access_token"], client.client_id)
    info = await http.get(
        "/oidc/v1/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.status_code == 200, info.text
    assert info.json() == {
        "sub": user.user_id,
        "email": user.email,
        "email_verified": False,
        "groups": ["admins", "ops"],
    }


async def test_interrupt_on_error_fails_the_token_request_with_the_target_message(
    clean_actions: Api, keyhook: KeyhookServer, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    api = clean_actions
    user = await create_user(api)
    target = await api.create_target(
        receiver.endpoint(
            "/deny",
            answer(403, {"status": "error", "message": "Contractors may not sign in today"}),
        ),
        interrupt=True,
    )
    await api.set_execution({"function": {"name": "complement_token"}}, [target["id"]])
    client = await create_client(api)
    refused = await exchange(http, keyhook.url, client, user, "openid")
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "access_denied",
        "error_description": "Contractors may not sign in today",
    }


async def test_failing_target_without_interrupt_leaves_the_token_unchanged(
    clean_actions: Api, keyhook: KeyhookServer, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    api = clean_actions
    user = await create_user(api)
    broken = await api.create_target(
        receiver.endpoint("/broken", answer(500, {"claims": {"department": "nope"}}))
    )
    await api.set_execution({"function": {"name": "complement_token"}}, [broken["id"]])
    client = await create_client(api)
    tokens = await code_tokens(http, keyhook.url, client, user, "openid")
    claims = verified(keyhook, tokens["access_token"], client.client_id)
    assert "department" not in claims
    assert claims["sub"] == user.user_id
    assert len(receiver.on("/broken")) >= 1


async def test_rest_async_function_target_is_queued_only_for_an_issued_token(
    clean_actions: Api, keyhook: KeyhookServer, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    api = clean_actions
    user = await create_user(api)
    path = f"/audit-{secrets.token_hex(3)}"
    audit = await api.create_target(receiver.endpoint(path), kind="restAsync")
    deny = await api.create_target(
        receiver.endpoint("/deny-all", answer(400, {"status": "error", "message": "no"})),
        interrupt=True,
    )
    await api.set_execution({"function": {"name": "complement_token"}}, [audit["id"], deny["id"]])
    client = await create_client(api)
    refused = await exchange(http, keyhook.url, client, user, "openid")
    assert refused.status_code == 403
    await api.set_execution({"function": {"name": "complement_token"}}, [audit["id"]])
    tokens = await code_tokens(http, keyhook.url, client, user, "openid")
    assert "access_token" in tokens
    delivered = await receiver.wait_for(path, 1)
    assert delivered[0].json["function"] == "complement_token"
    assert delivered[0].json["userID"] == user.user_id
    # The refused token's call was never queued: exactly one call arrives.
    await asyncio.sleep(1.5)
    assert len(receiver.on(path)) == 1


async def test_a_receiver_written_for_zitadel_reads_its_payload_and_answers_in_go_form(
    clean_actions: Api, keyhook: KeyhookServer, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    """ZITADEL's own function-call guide: a Go receiver reads ``userinfo``, ``user``,
    ``user_metadata`` and ``org``, and answers with Go's default field names."""
    api = clean_actions
    user = await create_user(api)
    (
        await api.post(
            f"/v2/users/{user.user_id}/metadata", {"metadata": [{"key": "plan", "value": "pro"}]}
        )
    ).ok()
    seen: list[dict[str, Any]] = []

    async def go_receiver(request: Received) -> Answer:
        seen.append(request.json)
        return Answer(
            body={
                "set_user_metadata": [{"Key": "key", "Value": "dmFsdWU="}],
                "append_claims": [{"key": "claim", "value": "value"}],
                "append_log_claims": ["log1", "log2", "log3"],
            }
        )

    name = f"go-{secrets.token_hex(3)}"
    target = await api.create_target(
        receiver.endpoint("/go", go_receiver), kind="restCall", name=name
    )
    await api.set_execution({"function": {"name": "preuserinfo"}}, [target["id"]])
    client = await create_client(api)
    tokens = await code_tokens(http, keyhook.url, client, user, "openid email")

    payload = seen[0]
    assert payload["userinfo"]["sub"] == user.user_id
    assert payload["userinfo"]["email"] == user.email
    assert payload["user"]["id"] == user.user_id
    assert payload["user"]["username"] == user.login
    assert payload["user"]["human"]["email"] == user.email
    assert payload["user"]["human"]["first_name"] == "Ada"
    assert payload["user"]["state"] == 1
    assert {"key": "plan", "value": "cHJv"} in payload["user_metadata"]  # base64, as ZITADEL
    assert {"key": "plan", "value": "pro"} in payload["userMetadata"]
    assert payload["org"]["id"] == payload["orgID"]

    claims = verified(keyhook, tokens["id_token"], client.client_id)
    assert claims["claim"] == "value"
    assert claims[LOG.format(name)] == ["log1", "log2", "log3"]
    assert {"key": "key", "value": "value"} in await api.metadata(user.user_id)


async def test_a_target_message_beyond_ascii_reaches_the_client_at_userinfo(
    clean_actions: Api, keyhook: KeyhookServer, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    api = clean_actions
    user = await create_user(api)
    client = await create_client(api)
    tokens = await code_tokens(http, keyhook.url, client, user, "openid")
    message = "Zugriff verweigert \u2013 日本\r\nX-Injected: yes"
    target = await api.create_target(
        receiver.endpoint("/deny-userinfo", answer(403, {"status": "error", "message": message})),
        interrupt=True,
    )
    await api.set_execution({"function": {"name": "preuserinfo"}}, [target["id"]])
    reply = await http.get(
        "/oidc/v1/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert reply.status_code == 403
    assert reply.json() == {"error": "access_denied", "error_description": message}
    header = reply.headers["www-authenticate"]
    assert header.startswith("Bearer ") and header.isascii() and "\n" not in header


async def test_targets_cannot_set_client_id_or_scope_anywhere(
    clean_actions: Api, keyhook: KeyhookServer, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    api = clean_actions
    user = await create_user(api)
    target = await api.create_target(
        receiver.endpoint(
            "/escalate",
            answer(
                body={
                    "append_claims": [
                        {"key": "client_id", "value": "evil"},
                        {"key": "scope", "value": "admin"},
                    ]
                }
            ),
        )
    )
    await api.set_execution({"function": {"name": "preuserinfo"}}, [target["id"]])
    client = await create_client(api)
    tokens = await code_tokens(http, keyhook.url, client, user, "openid")
    id_claims = verified(keyhook, tokens["id_token"], client.client_id)
    assert "client_id" not in id_claims and "scope" not in id_claims
    info = (
        await http.get(
            "/oidc/v1/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
    ).json()
    assert "client_id" not in info and "scope" not in info
