"""What events really carry matches what docs/events.md says they carry.

Drives the API through as many event types as it can reach, then compares every
event's ``eventData`` members with the table in ``keyhook.domain.events``.
"""

from __future__ import annotations

import secrets

import httpx
from joserfc.jwk import ECKey

from keyhook.domain.events import EVENT_TYPES
from tests.support.api import Api
from tests.support.oidc import (
    code_tokens,
    create_client,
    create_user,
    pkce_pair,
    sign_in,
    token_request,
)
from tests.support.receiver import Receiver
from tests.support.server import KeyhookServer

TARGET_FIELDS = {
    "name",
    "endpoint",
    "timeoutSeconds",
    "targetType",
    "interruptOnError",
    "payloadType",
}


async def test_event_data_members_are_the_documented_ones(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    login = f"doc-{secrets.token_hex(3)}@example.com"
    user_id = (
        await api.add_user(
            login, password={"password": "first password"}, metadata=[{"key": "a", "value": "b"}]
        )
    ).ok()["userId"]
    await api.call("PUT", f"/v2/users/human/{user_id}", {"profile": {"nickName": "doc"}})
    await api.post(f"/v2/users/{user_id}/metadata", {"metadata": [{"key": "c", "value": "d"}]})
    await api.post(f"/v2/users/{user_id}/password", {"newPassword": {"password": "second pw!"}})
    await api.post(
        "/v2/sessions",
        {"checks": {"user": {"loginName": login}, "password": {"password": "wrong one"}}},
    )
    session = (
        await api.post(
            "/v2/sessions",
            {"checks": {"user": {"loginName": login}, "password": {"password": "second pw!"}}},
        )
    ).ok()
    await api.delete(f"/v2/sessions/{session['sessionId']}")
    for verb in ("lock", "unlock", "deactivate", "reactivate"):
        (await api.post(f"/v2/users/{user_id}/{verb}")).ok()
    machine_id = await api.add_machine_user(f"doc-robot-{secrets.token_hex(3)}", "Doc robot")
    await api.add_secret(machine_id)
    (await api.delete(f"/v2/users/{machine_id}/secret")).ok()
    target = await api.create_target(receiver.endpoint("/doc-events"), kind="restAsync")
    await api.post(f"/v2/actions/targets/{target['id']}", {"timeout": "3s"})
    await api.post(f"/v2/actions/targets/{target['id']}/pause")
    await api.post(f"/v2/actions/targets/{target['id']}/resume")
    keys = f"/v2/actions/targets/{target['id']}/publickeys"
    pem = ECKey.generate_key("P-256").as_pem(private=False).decode()
    key_id = (await api.post(keys, {"publicKey": pem})).ok()["keyId"]
    (await api.post(f"{keys}/{key_id}/activate")).ok()
    (await api.post(f"{keys}/{key_id}/deactivate")).ok()
    (await api.delete(f"{keys}/{key_id}")).ok()
    await api.set_execution({"event": {"event": "user.removed"}}, [target["id"]])
    (await api.delete(f"/v2/users/{user_id}")).ok()
    await api.delete(f"/v2/actions/targets/{target['id']}")

    events = (await api.post("/v2/events/search", {"limit": 1000})).ok()["events"]
    seen: set[str] = set()
    for event in events:
        documented = set(EVENT_TYPES[event["eventType"]].data_fields)
        emitted = set(event["eventData"])
        if event["eventType"] == "target.changed":
            emitted -= TARGET_FIELDS
        assert emitted == documented, (event["eventType"], emitted ^ documented)
        seen.add(event["eventType"])
    assert len(seen) >= 20, sorted(seen)


async def test_oidc_event_data_members_are_the_documented_ones(
    api: Api, keyhook: KeyhookServer
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    assert client.client_secret is not None
    basic = (client.client_id, client.client_secret)
    async with httpx.AsyncClient(base_url=keyhook.url) as http:
        tokens = await code_tokens(http, keyhook.url, client, user, "openid offline_access")
        renewed = await token_request(
            http, client, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        )
        renewed_tokens = renewed.json()
        await http.post("/oauth/v2/revoke", data={"token": tokens["access_token"]}, auth=basic)
        await http.post(
            "/oauth/v2/revoke", data={"token": renewed_tokens["refresh_token"]}, auth=basic
        )
        # A code used twice: the request fails (and its grant is revoked).
        verifier, challenge = pkce_pair()
        params = await sign_in(
            http, keyhook.url, client, user, code_challenge=challenge, code_challenge_method="S256"
        )
        exchange = {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": client.redirect_uri,
            "code_verifier": verifier,
        }
        for _ in range(2):
            await token_request(http, client, exchange)

    events = (
        await api.post(
            "/v2/events/search",
            {"limit": 1000, "aggregateTypes": ["auth_request", "oidc_session"]},
        )
    ).ok()["events"]
    seen: set[str] = set()
    for event in events:
        documented = set(EVENT_TYPES[event["eventType"]].data_fields)
        emitted = set(event["eventData"])
        assert emitted == documented, (event["eventType"], emitted ^ documented)
        seen.add(event["eventType"])
    oidc_types = {n for n in EVENT_TYPES if n.split(".")[0] in ("auth_request", "oidc_session")}
    assert seen == oidc_types
    text = str(events)
    for secret in (tokens["refresh_token"], renewed_tokens["refresh_token"], params["code"]):
        assert secret not in text
    assert "Hash" not in text  # codeHash, refreshTokenHash, tokenHash never leave
