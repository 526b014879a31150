"""After issuance: userinfo, introspection, revocation, end session, and client
credentials for machine users — against a running server."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from tests.support.api import Api
from tests.support.oidc import OidcClient, code_tokens, create_client, create_user
from tests.support.server import KeyhookServer


async def userinfo(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.get("/oidc/v1/userinfo", headers={"Authorization": f"Bearer {token}"})


async def introspect(http: httpx.AsyncClient, client: OidcClient, token: str) -> dict[str, Any]:
    assert client.client_secret is not None
    reply = await http.post(
        "/oauth/v2/introspect",
        data={"token": token},
        auth=(client.client_id, client.client_secret),
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def revoke(
    http: httpx.AsyncClient, client: OidcClient, token: str, hint: str | None = None
) -> httpx.Response:
    data = {"token": token} | ({"token_type_hint": hint} if hint else {})
    assert client.client_secret is not None
    return await http.post(
        "/oauth/v2/revoke", data=data, auth=(client.client_id, client.client_secret)
    )


@pytest.mark.parametrize("token_type", ["OIDC_TOKEN_TYPE_JWT", "OIDC_TOKEN_TYPE_BEARER"])
async def test_userinfo_answers_the_scopes_claims(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient, token_type: str
) -> None:
    client = await create_client(api, access_token_type=token_type)
    user = await create_user(api, nickName="ada")
    tokens = await code_tokens(http, keyhook.url, client, user, "openid profile email")
    reply = await userinfo(http, tokens["access_token"])
    assert reply.status_code == 200, reply.text
    info = reply.json()
    assert info["sub"] == user.user_id
    assert info["email"] == user.email
    assert info["given_name"] == "Ada"
    assert info["family_name"] == "Lovelace"
    assert info["nickname"] == "ada"
    assert info["preferred_username"] == user.login
    only_openid = await code_tokens(http, keyhook.url, client, user, "openid")
    assert (await userinfo(http, only_openid["access_token"])).json() == {"sub": user.user_id}


async def test_userinfo_refuses_missing_and_bad_tokens(http: httpx.AsyncClient) -> None:
    missing = await http.get("/oidc/v1/userinfo")
    assert missing.status_code == 401
    assert missing.json()["error"] == "invalid_token"
    assert missing.headers["www-authenticate"].startswith("Bearer ")
    forged = await userinfo(http, "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.")
    assert forged.status_code == 401
    assert forged.json()["error"] == "invalid_token"


async def test_introspection_of_access_and_refresh_tokens(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    tokens = await code_tokens(http, keyhook.url, client, user, "openid offline_access")
    access = await introspect(http, client, tokens["access_token"])
    assert access["active"] is True
    assert access["sub"] == user.user_id
    assert access["client_id"] == client.client_id
    assert access["username"] == user.login
    assert set(access["scope"].split()) == {"openid", "offline_access"}
    assert access["iss"] == keyhook.url
    refresh = await introspect(http, client, tokens["refresh_token"])
    assert refresh["active"] is True
    assert refresh["token_type"] == "refresh_token"
    assert (await introspect(http, client, "not-a-token")) == {"active": False}
    # A client of another project learns nothing about these tokens.
    stranger = await create_client(api)
    assert (await introspect(http, stranger, tokens["access_token"])) == {"active": False}
    # Public clients cannot introspect.
    public = await create_client(api, public=True)
    refused = await http.post(
        "/oauth/v2/introspect",
        data={"token": tokens["access_token"], "client_id": public.client_id},
    )
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


async def test_revoking_an_access_token_ends_it_at_once(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    tokens = await code_tokens(http, keyhook.url, client, user, "openid offline_access")
    assert (await userinfo(http, tokens["access_token"])).status_code == 200
    reply = await revoke(http, client, tokens["access_token"], "access_token")
    assert reply.status_code == 200
    assert (await userinfo(http, tokens["access_token"])).status_code == 401
    assert (await introspect(http, client, tokens["access_token"])) == {"active": False}
    # The refresh token of the grant still works: only the access token was revoked.
    assert (await introspect(http, client, tokens["refresh_token"]))["active"] is True
    # Revoking an unknown token is not an error (RFC 7009 §2.2).
    assert (await revoke(http, client, "unknown-token")).status_code == 200


async def test_revoking_a_refresh_token_ends_the_grant(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    tokens = await code_tokens(http, keyhook.url, client, user, "openid offline_access")
    assert (await revoke(http, client, tokens["refresh_token"])).status_code == 200
    refreshed = await http.post(
        "/oauth/v2/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(client.client_id, client.client_secret or ""),
    )
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    assert (await userinfo(http, tokens["access_token"])).status_code == 401
    other = await create_client(api)
    second = await code_tokens(http, keyhook.url, client, user, "openid offline_access")
    stolen = await revoke(http, other, second["refresh_token"])
    assert stolen.status_code == 400
    assert "another client" in stolen.json()["error_description"]


async def test_end_session_revokes_and_redirects_to_a_registered_uri(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    tokens = await code_tokens(http, keyhook.url, client, user, "openid offline_access")
    state = secrets.token_hex(4)
    reply = await http.get(
        "/oidc/v1/end_session",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "http://127.0.0.1:9/signed-out",
            "state": state,
        },
    )
    assert reply.status_code == 302
    location = urlsplit(reply.headers["location"])
    assert location.path == "/signed-out"
    assert parse_qs(location.query)["state"] == [state]
    assert (await userinfo(http, tokens["access_token"])).status_code == 401
    assert (await introspect(http, client, tokens["refresh_token"])) == {"active": False}
    unregistered = await http.get(
        "/oidc/v1/end_session",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://evil.example.com/",
        },
    )
    assert unregistered.status_code == 400
    assert "location" not in unregistered.headers
    assert "not registered" in unregistered.text
    async with httpx.AsyncClient(base_url=keyhook.url) as cookieless:
        plain = await cookieless.get("/oidc/v1/end_session")
    assert plain.status_code == 200
    assert "signed out" in plain.text


async def test_client_credentials_for_a_machine_user(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    name = f"svc-{secrets.token_hex(3)}"
    user_id = await api.add_machine_user(
        name, "Billing service", accessTokenType="ACCESS_TOKEN_TYPE_JWT"
    )
    secret = await api.add_secret(user_id)
    reply = await http.post(
        "/oauth/v2/token",
        data={"grant_type": "client_credentials", "scope": "openid billing"},
        auth=(name, secret),
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert "id_token" not in body and "refresh_token" not in body
    assert body["scope"] == "billing"
    key = jwt.PyJWKClient(f"{keyhook.url}/oauth/v2/keys").get_signing_key_from_jwt(
        body["access_token"]
    )
    claims = jwt.decode(
        body["access_token"], key.key, algorithms=["ES256"], audience=name, issuer=keyhook.url
    )
    assert claims["sub"] == user_id
    wrong = await http.post(
        "/oauth/v2/token",
        data={"grant_type": "client_credentials"},
        auth=(name, "wrong-secret"),
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    # A new secret replaces the old one at once.
    await api.add_secret(user_id)
    stale = await http.post(
        "/oauth/v2/token", data={"grant_type": "client_credentials"}, auth=(name, secret)
    )
    assert stale.status_code == 401


async def test_a_machine_user_introspects_and_revokes_its_own_tokens(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    name = f"svc-{secrets.token_hex(3)}"
    secret = await api.add_secret(await api.add_machine_user(name, "Robot"))
    other = f"svc-{secrets.token_hex(3)}"
    other_secret = await api.add_secret(await api.add_machine_user(other, "Other robot"))
    issued = await http.post(
        "/oauth/v2/token", data={"grant_type": "client_credentials"}, auth=(name, secret)
    )
    token = issued.json()["access_token"]
    seen = await http.post("/oauth/v2/introspect", data={"token": token}, auth=(name, secret))
    assert seen.json()["active"] is True
    assert seen.json()["aud"] == [name]
    app = await create_client(api)  # an application of the same organization
    assert (await introspect(http, app, token))["active"] is True
    hidden = await http.post(
        "/oauth/v2/introspect", data={"token": token}, auth=(other, other_secret)
    )
    assert hidden.json() == {"active": False}
    refused = await http.post("/oauth/v2/revoke", data={"token": token}, auth=(other, other_secret))
    assert refused.status_code == 400
    revoked = await http.post("/oauth/v2/revoke", data={"token": token}, auth=(name, secret))
    assert revoked.status_code == 200
    after = await http.post("/oauth/v2/introspect", data={"token": token}, auth=(name, secret))
    assert after.json() == {"active": False}


async def test_introspection_audience_is_the_tokens_audience(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    tokens = await code_tokens(http, keyhook.url, client, user, "openid")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert (await introspect(http, client, tokens["access_token"]))["aud"] == claims["aud"]
    assert claims["aud"] == [client.client_id, client.project_id]


@pytest.mark.parametrize("change", ["deactivate", "lock", "delete"])
async def test_introspection_reports_tokens_of_an_inactive_user_inactive(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient, change: str
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    tokens = await code_tokens(http, keyhook.url, client, user, "openid offline_access")
    assert (await introspect(http, client, tokens["access_token"]))["active"] is True
    if change == "delete":
        (await api.delete(f"/v2/users/{user.user_id}")).ok()
    else:
        (await api.post(f"/v2/users/{user.user_id}/{change}")).ok()
    assert await introspect(http, client, tokens["access_token"]) == {"active": False}
    assert await introspect(http, client, tokens["refresh_token"]) == {"active": False}


async def test_tokens_of_a_deleted_application_stop_working(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    tokens = await code_tokens(http, keyhook.url, client, user, "openid offline_access")
    sibling = await create_client(api)
    (await api.delete(f"/v2beta/applications/{client.app_id}")).ok()
    assert (await userinfo(http, tokens["access_token"])).status_code == 401
    assert await introspect(http, sibling, tokens["access_token"]) == {"active": False}
    assert await introspect(http, sibling, tokens["refresh_token"]) == {"active": False}


async def test_a_machine_user_cannot_take_a_client_ids_form(api: Api) -> None:
    reply = await api.post(
        "/management/v1/users/machine", {"userName": "913969778266211324@shop", "name": "Imposter"}
    )
    assert reply.status == 400
    assert "userName" in reply.body["message"] and "client id" in reply.body["message"]
