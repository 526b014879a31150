"""Tokens in ZITADEL's form, checked by libraries written for ZITADEL and for RS256.

A resource server built with fastapi-zitadel-auth (a published library for
validating ZITADEL access tokens: RS256 only, ``typ: JWT``, the project id in
``aud``) runs under uvicorn on 127.0.0.1 and fetches Keyhook's discovery document
and JWKS over HTTP; an OpenID Connect client (Authlib) that accepts only RS256 ID
tokens signs in. Both against a server of their own, whose signing key they change.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
import threading
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
import uvicorn
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oidc.core import CodeIDToken
from fastapi import FastAPI, Request, Security
from fastapi_zitadel_auth import ZitadelAuth

from tests.support.api import Api, serving
from tests.support.oidc import (
    code_tokens,
    create_client,
    create_user,
    login_page,
    submit_login,
    token_request,
)
from tests.support.server import KeyhookServer

with warnings.catch_warnings():  # Authlib's own JOSE, as its OpenID Connect clients use it
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, JsonWebToken
    from authlib.jose.errors import JoseError

WEB_KEYS = "/zitadel.webkey.v2.WebKeyService/"


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("zitadel-tokens")))
    async with serving(server) as api:
        yield api


def header(token: str) -> dict[str, Any]:
    first = token.split(".")[0]
    decoded: dict[str, Any] = orjson.loads(
        base64.urlsafe_b64decode(first + "=" * (-len(first) % 4))
    )
    return decoded


def claims(token: str) -> dict[str, Any]:
    second = token.split(".")[1]
    decoded: dict[str, Any] = orjson.loads(
        base64.urlsafe_b64decode(second + "=" * (-len(second) % 4))
    )
    return decoded


class ResourceServer:
    """A FastAPI app guarded by fastapi-zitadel-auth, served by uvicorn in a thread."""

    def __init__(self, issuer: str, project_id: str) -> None:
        auth = ZitadelAuth(
            issuer_url=issuer,
            project_id=project_id,
            # The front end's client id: not the machine user's, so only the project
            # audience can make a client-credentials token acceptable.
            app_client_id="frontend-" + secrets.token_hex(4),
            allowed_scopes={"openid": "OpenID Connect"},
            cache_ttl_seconds=1,
        )
        app = FastAPI()

        @app.get("/api/me", dependencies=[Security(auth)])
        async def me(request: Request) -> dict[str, Any]:
            user = request.state.user
            return {"sub": user.claims.sub, "clientId": user.claims.client_id}

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.sock = sock
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]})

    def __enter__(self) -> ResourceServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()

    async def call(self, token: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}") as http:
            for _ in range(100):  # until uvicorn listens
                if self.server.started:
                    break
                await asyncio.sleep(0.05)
            return await http.get("/api/me", headers={"Authorization": f"Bearer {token}"})


async def machine_token(own: Api, user_name: str, secret: str, scope: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=own.base_url) as http:
        reply = await http.post(
            "/oauth/v2/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(user_name, secret),
        )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def test_a_zitadel_resource_server_accepts_a_project_audience_token_only(
    own: Api,
) -> None:
    project_id = (await own.post("/v2beta/projects", {"name": "orders-api"})).ok()["id"]
    user_name = f"robot-{secrets.token_hex(4)}"
    user_id = await own.add_machine_user(
        user_name, "Robot", accessTokenType="ACCESS_TOKEN_TYPE_JWT"
    )
    secret = await own.add_secret(user_id)
    audience_scope = f"urn:zitadel:iam:org:project:id:{project_id}:aud"
    with ResourceServer(own.base_url, project_id) as resource:
        # The instance's first key is ES256: ZITADEL's libraries take RS256 only.
        es256 = (await machine_token(own, user_name, secret, audience_scope))["access_token"]
        assert header(es256)["alg"] == "ES256"
        assert (await resource.call(es256)).status_code == 401

        # The instance chooses an RSA key (ZITADEL's default type) to sign with.
        created = (await own.post(WEB_KEYS + "CreateWebKey", {"rsa": {}})).ok()
        (await own.post(WEB_KEYS + "ActivateWebKey", {"id": created["id"]})).ok()
        await asyncio.sleep(1.1)  # the signer's key cache (one second)

        issued = await machine_token(own, user_name, secret, f"openid {audience_scope}")
        token = issued["access_token"]
        assert header(token) == {"alg": "RS256", "kid": created["id"], "typ": "JWT"}
        body = claims(token)
        assert body["aud"] == [user_name, project_id]
        assert body["client_id"] == user_name and body["sub"] == user_id
        assert audience_scope in issued["scope"].split()
        accepted = await resource.call(token)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json() == {"sub": user_id, "clientId": user_name}

        # Without the project audience scope the project is not in aud: refused.
        plain = (await machine_token(own, user_name, secret, "openid"))["access_token"]
        assert header(plain)["alg"] == "RS256" and claims(plain)["aud"] == [user_name]
        refused = await resource.call(plain)
        assert refused.status_code == 401, refused.text

        # A project the instance does not have adds nothing (and is not granted).
        unknown = "urn:zitadel:iam:org:project:id:1234567890:aud"
        other = await machine_token(own, user_name, secret, unknown)
        assert claims(other["access_token"])["aud"] == [user_name]
        assert unknown not in other["scope"].split()
        assert (await resource.call(other["access_token"])).status_code == 401

        # The token still calls nothing of Keyhook's API without ZITADEL's API audience.
        me = await own_api_call(own, token)
        assert me == 401


async def own_api_call(own: Api, token: str) -> int:
    async with httpx.AsyncClient(base_url=own.base_url) as http:
        reply = await http.get("/v2/web_keys", headers={"Authorization": f"Bearer {token}"})
    return reply.status_code


async def authlib_sign_in(
    own: Api, algorithms: list[str], **client_kwargs: Any
) -> tuple[str, Any, str]:
    """Sign in with Authlib (code + PKCE, nonce): the ID token, its claims decoded by a
    JsonWebToken that accepts only ``algorithms`` (a client that insists on RS256 has
    ``["RS256"]``), and the client's id."""
    client = await create_client(own, **client_kwargs)
    user = await create_user(own)
    oauth = AsyncOAuth2Client(
        client_id=client.client_id,
        client_secret=client.client_secret,
        scope="openid profile email",
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
    )
    verifier = generate_token(64)
    nonce = generate_token(16)
    url, _ = oauth.create_authorization_url(
        f"{own.base_url}/oauth/v2/authorize", code_verifier=verifier, nonce=nonce
    )
    async with httpx.AsyncClient(base_url=own.base_url) as http:
        page = await login_page(http, url)
        assert page.status_code == 200, page.text[:300]
        done = await submit_login(http, page, user.login, user.password)
        code = parse_qs(urlsplit(done.headers["location"]).query)["code"][0]
        discovery = (await http.get("/.well-known/openid-configuration")).json()
        token = await oauth.fetch_token(
            discovery["token_endpoint"], code=code, code_verifier=verifier
        )
        await oauth.aclose()
        # After the token: a key made for its algorithm is new (a client fetches the JWKS
        # again for a kid it does not know).
        jwks = (await http.get(discovery["jwks_uri"])).json()
    assert "RS256" in discovery["id_token_signing_alg_values_supported"]
    id_token = token["id_token"]
    decoded = JsonWebToken(algorithms).decode(
        id_token,
        JsonWebKey.import_key_set(jwks),
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"values": [discovery["issuer"]]},
            "aud": {"values": [client.client_id]},
        },
        claims_params={"nonce": nonce, "access_token": token["access_token"]},
    )
    return id_token, decoded, client.client_id


async def test_an_oidc_client_that_insists_on_rs256_signs_in(own: Api) -> None:
    id_token, decoded, _ = await authlib_sign_in(own, ["RS256"])
    decoded.validate()  # iss, aud, exp, iat, nonce and at_hash (SHA-256 for RS256)
    assert header(id_token)["alg"] == "RS256" and header(id_token)["typ"] == "JWT"
    assert decoded["email"].startswith("oidc-")
    # The RS256 key is published beside the signing key, whatever that is.
    async with httpx.AsyncClient(base_url=own.base_url) as http:
        kids = {k["kid"]: k["alg"] for k in (await http.get("/oauth/v2/keys")).json()["keys"]}
    assert kids[header(id_token)["kid"]] == "RS256"


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "ES384"])
async def test_a_client_that_registered_another_algorithm_gets_it(own: Api, alg: str) -> None:
    id_token, decoded, client_id = await authlib_sign_in(own, [alg], id_token_alg=alg)
    decoded.validate()  # at_hash with the algorithm's hash (SHA-512 for EdDSA)
    assert header(id_token)["alg"] == alg
    with pytest.raises(JoseError):  # an RS256-only client would refuse it
        JsonWebToken(["RS256"]).decode(id_token, JsonWebKey.import_key_set(await jwks(own)))
    apps = (await own.post("/v2beta/applications/search", {})).ok()
    config = next(
        a["oidcConfig"] for a in apps["applications"] if a["oidcConfig"]["clientId"] == client_id
    )
    assert config["idTokenSignedResponseAlg"] == alg


async def jwks(own: Api) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=own.base_url) as http:
        keys: dict[str, Any] = (await http.get("/oauth/v2/keys")).json()
    return keys


async def test_an_unknown_id_token_algorithm_is_refused_with_the_allowed_ones(own: Api) -> None:
    project = (await own.post("/v2beta/projects", {"name": "algs"})).ok()["id"]
    reply = await own.post(
        "/v2beta/applications",
        {
            "projectId": project,
            "name": "app",
            "oidcRequest": {
                "redirectUris": ["http://127.0.0.1:9/cb"],
                "devMode": True,
                "idTokenSignedResponseAlg": "HS256",
            },
        },
    )
    assert reply.status == 400
    text = reply.raw.decode()
    assert "idTokenSignedResponseAlg" in text and "RS256" in text and "EdDSA" in text


async def test_the_resource_owner_scope_adds_zitadels_organization_claims(own: Api) -> None:
    user_name = f"robot-{secrets.token_hex(4)}"
    user_id = await own.add_machine_user(
        user_name, "Robot", accessTokenType="ACCESS_TOKEN_TYPE_JWT"
    )
    secret = await own.add_secret(user_id)
    org_id = (await own.get(f"/v2/users/{user_id}")).ok()["user"]["details"]["resourceOwner"]
    prefix = "urn:zitadel:iam:user:resourceowner"
    with_scope = claims((await machine_token(own, user_name, secret, prefix))["access_token"])
    assert with_scope[f"{prefix}:id"] == org_id
    assert isinstance(with_scope[f"{prefix}:name"], str) and with_scope[f"{prefix}:name"]
    assert f"{prefix}:primary_domain" in with_scope
    without = claims((await machine_token(own, user_name, secret, ""))["access_token"])
    assert not [k for k in without if k.startswith(prefix)]


async def test_the_rfc9068_form_is_an_option(tmp_path: Path) -> None:
    """KEYHOOK_OIDC_ACCESS_TOKEN_FORM=rfc9068: access tokens say typ at+jwt, and they
    still call the API (with ZITADEL's API audience) and userinfo; an unknown form stops
    the start naming the variable."""
    server = KeyhookServer(
        data_dir=tmp_path / "rfc9068", extra_env={"KEYHOOK_OIDC_ACCESS_TOKEN_FORM": "rfc9068"}
    )
    async with serving(server) as api:
        user_name = f"robot-{secrets.token_hex(4)}"
        user_id = await api.add_machine_user(
            user_name, "Robot", accessTokenType="ACCESS_TOKEN_TYPE_JWT"
        )
        secret = await api.add_secret(user_id)
        issued = await machine_token(
            api, user_name, secret, "urn:zitadel:iam:org:project:id:zitadel:aud"
        )
        access = issued["access_token"]
        assert header(access)["typ"] == "at+jwt"
        async with httpx.AsyncClient(base_url=api.base_url) as http:
            reply = await http.get("/v2/web_keys", headers={"Authorization": f"Bearer {access}"})
        # The machine user has no role: authenticated (403), not refused as a token (401).
        assert reply.status_code == 403, reply.text
    bad = KeyhookServer(
        data_dir=tmp_path / "bad", extra_env={"KEYHOOK_OIDC_ACCESS_TOKEN_FORM": "jwt"}
    )
    with pytest.raises(Exception):  # noqa: B017 -- the server does not come up
        await bad.start()
    assert "KEYHOOK_OIDC_ACCESS_TOKEN_FORM" in bad.log and "rfc9068" in bad.log
    await bad.stop()


async def test_a_project_audience_scope_extends_a_sign_ins_tokens(own: Api) -> None:
    """The code grant (and its refreshes) add the projects asked for, after the client's
    own project, as ZITADEL does."""
    client = await create_client(own)
    user = await create_user(own)
    other = (await own.post("/v2beta/projects", {"name": "billing-api"})).ok()["id"]
    scope = f"openid offline_access urn:zitadel:iam:org:project:id:{other}:aud"
    async with httpx.AsyncClient(base_url=own.base_url) as http:
        issued = await code_tokens(http, own.base_url, client, user, scope)
        assert claims(issued["access_token"])["aud"] == [
            client.client_id,
            client.project_id,
            other,
        ]
        refreshed = await token_request(
            http,
            client,
            {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
        )
    assert refreshed.status_code == 200, refreshed.text
    assert other in claims(refreshed.json()["access_token"])["aud"]
    # The ID token's audience stays the client (OpenID Connect Core §2).
    assert claims(issued["id_token"])["aud"] == client.client_id
