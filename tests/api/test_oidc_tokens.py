"""Token endpoint grants against a running server: code + PKCE, refresh rotation,
client credentials, and every refusal with its OAuth error code."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import jwt

from tests.support.api import Api
from tests.support.oidc import (
    OidcClient,
    OidcUser,
    authorize_url,
    callback_params,
    code_tokens,
    create_client,
    create_user,
    login_page,
    pkce_pair,
    sign_in,
    token_request,
)
from tests.support.server import KeyhookServer


def verify(keyhook: KeyhookServer, token: str, audience: str) -> dict[str, Any]:
    keys = jwt.PyJWKClient(f"{keyhook.url}/oauth/v2/keys")
    key = keys.get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["ES256", "RS256"], audience=audience, issuer=keyhook.url
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
    third = await token_request(
        http, client, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    )
    assert third.status_code == 200, third.text
    # The rotated-away tokens stop working ...
    for old in (first, second):
        refused = await token_request(
            http, client, {"grant_type": "refresh_token", "refresh_token": old["refresh_token"]}
        )
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_grant"


async def test_a_replaced_refresh_token_used_again_revokes_the_grant(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    """RFC 9700 §4.14.2: a refresh token presented after rotation was copied; the thief
    may hold the current one, so the whole grant ends."""
    client = await create_client(api, public=True)
    user = await create_user(api)
    first = await code_tokens(http, keyhook.url, client, user, "openid offline_access")
    stolen = first["refresh_token"]
    thief = await token_request(
        http, client, {"grant_type": "refresh_token", "refresh_token": stolen}
    )
    assert thief.status_code == 200
    victim = await token_request(
        http, client, {"grant_type": "refresh_token", "refresh_token": stolen}
    )
    assert victim.status_code == 400
    assert "grant is revoked" in victim.json()["error_description"]
    after = await token_request(
        http,
        client,
        {"grant_type": "refresh_token", "refresh_token": thief.json()["refresh_token"]},
    )
    assert after.status_code == 400
    assert (await userinfo(http, thief.json()["access_token"])).status_code == 401


async def _code_for(
    http: httpx.AsyncClient, keyhook: KeyhookServer, client: OidcClient, user: OidcUser
) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    params = await sign_in(
        http,
        keyhook.url,
        client,
        user,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    return params["code"], verifier


def _exchange(code: str, verifier: str, redirect_uri: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }


async def test_wrong_pkce_verifier_is_invalid_grant(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    code, _ = await _code_for(http, keyhook, client, user)
    wrong, _ = pkce_pair()
    reply = await token_request(http, client, _exchange(code, wrong, client.redirect_uri))
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_grant"
    assert "code_verifier" in reply.json()["error_description"]
    assert reply.headers["cache-control"] == "no-store"


async def test_reused_code_is_refused_and_revokes_its_tokens(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api, access_token_type="OIDC_TOKEN_TYPE_BEARER")
    user = await create_user(api)
    code, verifier = await _code_for(http, keyhook, client, user)
    first = await token_request(http, client, _exchange(code, verifier, client.redirect_uri))
    assert first.status_code == 200, first.text
    access = first.json()["access_token"]
    assert (await userinfo(http, access)).status_code == 200
    second = await token_request(http, client, _exchange(code, verifier, client.redirect_uri))
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert "already used" in second.json()["error_description"]
    # RFC 6749 §4.1.2: the tokens issued for the code are revoked.
    after = await userinfo(http, access)
    assert after.status_code == 401
    assert after.json()["error"] == "invalid_token"


async def test_wrong_redirect_uri_is_invalid_grant(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    code, verifier = await _code_for(http, keyhook, client, user)
    reply = await token_request(
        http, client, _exchange(code, verifier, "http://127.0.0.1:9/elsewhere")
    )
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_grant"
    assert "redirect_uri" in reply.json()["error_description"]


async def test_wrong_client_secret_is_invalid_client(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    code, verifier = await _code_for(http, keyhook, client, user)
    wrong = OidcClient(
        client.project_id, client.app_id, client.client_id, "not-the-secret", client.redirect_uri
    )
    for basic in (True, False):
        reply = await token_request(
            http, wrong, _exchange(code, verifier, client.redirect_uri), basic=basic
        )
        assert reply.status_code == 401
        assert reply.json()["error"] == "invalid_client"
        assert reply.headers["www-authenticate"].startswith("Basic ")
    # The code was not spent by the refused attempts.
    good = await token_request(http, client, _exchange(code, verifier, client.redirect_uri))
    assert good.status_code == 200, good.text


async def test_expired_code_is_invalid_grant(
    api: Api, tmp_path: Any, http: httpx.AsyncClient
) -> None:
    server = KeyhookServer(data_dir=tmp_path, extra_env={"KEYHOOK_OIDC_CODE_LIFETIME": "1s"})
    await server.start()
    try:
        own_api = Api(server.url, server.token)
        async with httpx.AsyncClient(base_url=server.url) as own_http:
            client = await create_client(own_api)
            user = await create_user(own_api)
            verifier, challenge = pkce_pair()
            params = await sign_in(
                own_http,
                server.url,
                client,
                user,
                code_challenge=challenge,
                code_challenge_method="S256",
            )
            await asyncio.sleep(1.5)
            reply = await token_request(
                own_http, client, _exchange(params["code"], verifier, client.redirect_uri)
            )
        await own_api.close()
    finally:
        await server.stop()
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_grant"
    assert "expired" in reply.json()["error_description"]


async def test_unsupported_grant_and_unknown_client(api: Api, http: httpx.AsyncClient) -> None:
    client = await create_client(api)
    reply = await token_request(http, client, {"grant_type": "password"})
    assert reply.status_code == 400
    assert reply.json()["error"] == "unsupported_grant_type"
    assert "authorization_code" in reply.json()["error_description"]
    unknown = await http.post(
        "/oauth/v2/token",
        data={"grant_type": "authorization_code", "code": "x", "client_id": "nobody"},
    )
    assert unknown.status_code == 401
    assert unknown.json()["error"] == "invalid_client"
    not_a_form = await http.post("/oauth/v2/token", json={"grant_type": "refresh_token"})
    assert not_a_form.status_code == 400
    assert not_a_form.json()["error"] == "invalid_request"


async def test_public_client_needs_pkce_and_its_verifier(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api, public=True)
    assert client.client_secret is None
    user = await create_user(api)
    without = await login_page(http, authorize_url(keyhook.url, client))
    params = callback_params(without)
    assert params["error"] == "invalid_request"
    assert "code_challenge" in params["error_description"]
    tokens = await code_tokens(http, keyhook.url, client, user, "openid")
    assert "id_token" in tokens
    plain = await login_page(
        http,
        authorize_url(keyhook.url, client, code_challenge="a" * 43, code_challenge_method="plain"),
    )
    assert callback_params(plain)["error"] == "invalid_request"


async def test_authorize_refuses_unknown_redirect_uri_without_redirecting(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    evil = OidcClient(
        client.project_id,
        client.app_id,
        client.client_id,
        None,
        "https://evil.example.com/cb",
    )
    reply = await http.get(authorize_url(keyhook.url, evil))
    assert reply.status_code == 400
    assert "location" not in reply.headers
    assert "is not registered" in reply.text
    no_openid = await login_page(http, authorize_url(keyhook.url, client, scope="email"))
    assert callback_params(no_openid)["error"] == "invalid_scope"


async def userinfo(http: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await http.get("/oidc/v1/userinfo", headers={"Authorization": f"Bearer {access_token}"})


async def test_two_exchanges_of_one_code_at_once_leave_no_usable_token(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api, access_token_type="OIDC_TOKEN_TYPE_BEARER")
    user = await create_user(api)
    code, verifier = await _code_for(http, keyhook, client, user)
    form = _exchange(code, verifier, client.redirect_uri)
    replies = await asyncio.gather(*(token_request(http, client, form) for _ in range(2)))
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [200, 400], [r.text for r in replies]
    winner = next(r for r in replies if r.status_code == 200).json()
    loser = next(r for r in replies if r.status_code == 400).json()
    assert loser["error"] == "invalid_grant"
    # Whichever order the two ran in, the code was used twice: its tokens are revoked.
    assert (await userinfo(http, winner["access_token"])).status_code == 401
