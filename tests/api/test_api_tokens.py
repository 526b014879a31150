"""OIDC access tokens on the API (issue 11): a machine user's client credentials
token, JWT and opaque, calls the API with the user's roles; revoked, expired and
wrong-audience tokens are refused saying which."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from keyhook.domain.oidc import API_AUDIENCE_SCOPE
from keyhook.query.auth import TOKEN_TTL
from tests.support.api import Api, serving
from tests.support.server import KeyhookServer


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("api-tokens")))
    async with serving(server) as client:
        yield client


async def service(api: Api, token_type: str, roles: list[str]) -> tuple[str, str, str]:
    """A machine user with a secret and instance roles: (user id, client id, secret)."""
    name = f"svc-{secrets.token_hex(3)}"
    user_id = await api.add_machine_user(name, "Service", accessTokenType=token_type)
    secret = await api.add_secret(user_id)
    if roles:
        body = {"userId": user_id, "resource": {"instance": True}, "roles": roles}
        (await api.post("/v2/administrators", body)).ok()
    return user_id, name, secret


async def client_credentials(api: Api, name: str, secret: str, scope: str) -> str:
    async with httpx.AsyncClient(base_url=api.base_url) as http:
        reply = await http.post(
            "/oauth/v2/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(name, secret),
        )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


async def refused_within(api: Api, token: str, path: str, bound: float) -> tuple[float, Any]:
    """Seconds until ``token`` is refused on ``path`` (polled), at most ``bound``."""
    start = time.monotonic()
    while True:
        reply = await api.get(path, token=token)
        if reply.status == 401:
            return time.monotonic() - start, reply.body
        assert reply.status == 200, reply.body
        assert time.monotonic() - start < bound, "still accepted"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("token_type", "looks_like"),
    [("ACCESS_TOKEN_TYPE_JWT", "eyJ"), ("ACCESS_TOKEN_TYPE_BEARER", "kha_")],
)
async def test_a_client_credentials_token_calls_the_api_until_revoked(
    own: Api, token_type: str, looks_like: str
) -> None:
    user_id, name, secret = await service(own, token_type, ["IAM_USER_MANAGER"])
    token = await client_credentials(own, name, secret, API_AUDIENCE_SCOPE)
    assert token.startswith(looks_like)
    me = await own.get(f"/v2/users/{user_id}", token=token)
    assert me.status == 200, me.body
    # The user's roles apply as for a PAT: a user manager may not create targets.
    denied = await own.post(
        "/v2/actions/targets",
        {"name": "x", "endpoint": "http://127.0.0.1:9/", "timeout": "1s", "restAsync": {}},
        token=token,
    )
    assert denied.status == 403 and "action.target.write" in denied.body["message"]
    async with httpx.AsyncClient(base_url=own.base_url) as http:
        revoked = await http.post("/oauth/v2/revoke", data={"token": token}, auth=(name, secret))
    assert revoked.status_code == 200
    took, body = await refused_within(own, token, f"/v2/users/{user_id}", 1.0)
    assert body["message"] == "the access token has been revoked"
    assert took <= TOKEN_TTL + 0.5


async def test_a_token_for_another_audience_is_refused(own: Api) -> None:
    user_id, name, secret = await service(own, "ACCESS_TOKEN_TYPE_JWT", ["IAM_OWNER"])
    token = await client_credentials(own, name, secret, "billing")
    reply = await own.get(f"/v2/users/{user_id}", token=token)
    assert reply.status == 401
    assert "issued for another audience" in reply.body["message"]
    assert API_AUDIENCE_SCOPE in reply.body["message"]


async def test_a_token_of_a_user_without_roles_is_authenticated_but_refused(own: Api) -> None:
    user_id, name, secret = await service(own, "ACCESS_TOKEN_TYPE_JWT", [])
    token = await client_credentials(own, name, secret, API_AUDIENCE_SCOPE)
    reply = await own.get(f"/v2/users/{user_id}", token=token)
    assert reply.status == 403
    assert reply.body["details"] == [{"permission": "user.read"}]


async def test_garbage_and_tampered_tokens_are_refused(own: Api) -> None:
    user_id, name, secret = await service(own, "ACCESS_TOKEN_TYPE_JWT", ["IAM_OWNER"])
    token = await client_credentials(own, name, secret, API_AUDIENCE_SCOPE)
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}AAAA"
    for bad in (tampered, "kha_1.nothing", "not-a-token"):
        reply = await own.get(f"/v2/users/{user_id}", token=bad)
        assert reply.status == 401
        assert "not valid" in reply.body["message"]


async def test_an_expired_token_is_refused(tmp_path: Path) -> None:
    server = KeyhookServer(
        data_dir=tmp_path, extra_env={"KEYHOOK_OIDC_ACCESS_TOKEN_LIFETIME": "1s"}
    )
    async with serving(server) as api:
        user_id, name, secret = await service(api, "ACCESS_TOKEN_TYPE_BEARER", ["IAM_OWNER"])
        token = await client_credentials(api, name, secret, API_AUDIENCE_SCOPE)
        assert (await api.get(f"/v2/users/{user_id}", token=token)).status == 200
        await asyncio.sleep(1.2)
        reply = await api.get(f"/v2/users/{user_id}", token=token)
        assert reply.status == 401
        assert reply.body["message"] == "the access token has expired; get a new one"
