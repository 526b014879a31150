"""Token endpoint grants against a running server: code + PKCE, refresh rotation,
client credentials, and every refusal with its OAuth error code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from tests.support.api import Api
from tests.support.oidc import (
    code_tokens,
    create_client,
    create_user,
    token_request,
)
from tests.support.server import KeyhookServer


@pytest.fixture
async def http(keyhook: KeyhookServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=keyhook.url, follow_redirects=False) as client:
        yield client


def verify(keyhook: KeyhookServer, token: str, audience: str) -> dict[str, Any]:
    keys = jwt.PyJWKClient(f"{keyhook.url}/oauth/v2/keys")
    key = keys.get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["ES256"], audience=audience, issuer=keyhook.url
    )
    return claims


async def test_code_with_pkce_gives_verifiable_tokens(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    tokens = await code_tokens(
        http, keyhook.url, client, user, "openid profile email offline_access"
    )
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] > 3600
    id_claims = verify(keyhook, tokens["id_token"], client.client_id)
    assert id_claims["sub"] == user.user_id
    assert id_claims["email"] == user.email
    assert id_claims["given_name"] == "Ada"
    assert id_claims["preferred_username"] == user.login
    access = verify(keyhook, tokens["access_token"], client.client_id)
    assert access["sub"] == user.user_id
    assert access["client_id"] == client.client_id
    assert set(access["scope"].split()) == {"openid", "profile", "email", "offline_access"}
    assert tokens["refresh_token"].startswith("khr_")


async def test_refresh_rotation_old_token_stops_working(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    first = await code_tokens(http, keyhook.url, client, user, "openid offline_access")
    renewed = await token_request(
        http, client, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert renewed.status_code == 200, renewed.text
    second = renewed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert verify(keyhook, second["id_token"], client.client_id)["sub"] == user.user_id
    again = await token_request(
        http, client, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    third = await token_request(
        http, client, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    )
    assert third.status_code == 200, third.text
