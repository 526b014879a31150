"""OpenID Connect discovery and the JWKS of a running server.

Tokens are signed in-process with the key the server's database holds (read
with :func:`keyhook.query.oidc_keys.signing_key`) and verified with PyJWT, a
JOSE library independent of the one Keyhook uses, against the JWKS the server
serves. The module runs its own server, so the key set is exactly what these
tests made it (the shared server's keys are rotated by the OpenAPI fuzz test).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from joserfc import jwt as josejwt

from keyhook.bootstrap import master_key
from keyhook.config import Settings
from keyhook.crypto.secretbox import SecretBox
from keyhook.query.oidc_keys import signing_key
from keyhook.storage.database import Database
from tests.support.api import Api
from tests.support.server import KeyhookServer


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KeyhookServer]:
    keyhook = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("oidc")))
    await keyhook.start()
    yield keyhook
    await keyhook.stop()


@pytest.fixture(scope="module")
async def client(server: KeyhookServer) -> AsyncIterator[Api]:
    api = Api(server.url, server.token)
    yield api
    await api.close()


async def sign(server: KeyhookServer, claims: dict[str, Any]) -> tuple[str, str]:
    """A JWT signed with the server's current signing key: (token, kid)."""
    settings = Settings(data_dir=server.data_dir, database_url=server.database_url or "")
    db = Database(settings.effective_database_url)
    try:
        kid, algorithm, key = await signing_key(db, SecretBox(master_key(settings)))
    finally:
        await db.close()
    return josejwt.encode({"alg": algorithm, "kid": kid, "typ": "JWT"}, claims, key), kid


def verify(token: str, jwks: dict[str, Any], issuer: str) -> dict[str, Any]:
    """PyJWT: pick the key by kid from the served JWKS and check signature and claims."""
    kid = pyjwt.get_unverified_header(token)["kid"]
    matching = [k for k in pyjwt.PyJWKSet.from_dict(jwks).keys if k.key_id == kid]
    assert matching, f"kid {kid} is not in the JWKS"
    claims: dict[str, Any] = pyjwt.decode(
        token, matching[0], algorithms=["ES256"], audience="client-1", issuer=issuer
    )
    return claims


def claims_for(issuer: str) -> dict[str, Any]:
    moment = int(time.time())
    return {"iss": issuer, "sub": "42", "aud": "client-1", "iat": moment, "exp": moment + 300}


async def test_discovery_document(server: KeyhookServer, client: Api) -> None:
    reply = await client.get("/.well-known/openid-configuration", token=None)
    doc = reply.ok()
    base = server.url
    assert doc["issuer"] == base
    assert doc["jwks_uri"] == base + "/oauth/v2/keys"
    assert doc["authorization_endpoint"] == base + "/oauth/v2/authorize"
    assert doc["token_endpoint"] == base + "/oauth/v2/token"
    assert doc["userinfo_endpoint"] == base + "/oidc/v1/userinfo"
    assert doc["introspection_endpoint"] == base + "/oauth/v2/introspect"
    assert doc["revocation_endpoint"] == base + "/oauth/v2/revoke"
    assert doc["end_session_endpoint"] == base + "/oidc/v1/end_session"
    assert doc["response_types_supported"] == ["code"]
    assert doc["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
    ]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"][0] == "RS256"  # OIDC Discovery
    assert set(doc["id_token_signing_alg_values_supported"]) == {
        "RS256",
        "RS384",
        "RS512",
        "ES256",
        "ES384",
        "ES512",
        "EdDSA",
    }
    assert doc["subject_types_supported"] == ["public"]
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "none",
    }
    assert {"openid", "profile", "email", "offline_access"} <= set(doc["scopes_supported"])
    assert {"sub", "iss", "email", "email_verified", "name"} <= set(doc["claims_supported"])


async def test_external_url_is_the_issuer(tmp_path: Path) -> None:
    keyhook = KeyhookServer(
        data_dir=tmp_path, extra_env={"KEYHOOK_EXTERNAL_URL": "https://id.example.com/"}
    )
    await keyhook.start()
    try:
        api = Api(keyhook.url, None)
        try:
            doc = (await api.get("/.well-known/openid-configuration")).ok()
        finally:
            await api.close()
    finally:
        await keyhook.stop()
    assert doc["issuer"] == "https://id.example.com"
    assert doc["jwks_uri"] == "https://id.example.com/oauth/v2/keys"


async def test_jwks_holds_one_public_es256_key_after_first_start(client: Api) -> None:
    reply = await client.get("/oauth/v2/keys", token=None)
    keys = reply.ok()["keys"]
    assert len(keys) == 1
    key = keys[0]
    assert key["kty"] == "EC" and key["crv"] == "P-256"
    assert key["alg"] == "ES256" and key["use"] == "sig" and key["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


async def test_a_token_signed_with_the_key_verifies_against_the_served_jwks(
    server: KeyhookServer, client: Api
) -> None:
    token, kid = await sign(server, claims_for(server.url))
    jwks = (await client.get("/oauth/v2/keys", token=None)).ok()
    assert [k["kid"] for k in jwks["keys"]] == [kid]
    assert verify(token, jwks, server.url)["sub"] == "42"
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(pyjwt.InvalidSignatureError):
        verify(tampered, jwks, server.url)


async def test_rotation_keeps_the_old_key_published_and_signs_with_the_new(
    server: KeyhookServer, client: Api
) -> None:
    old_token, old_kid = await sign(server, claims_for(server.url))
    reply = (await client.post("/v2/oidc/keys/rotate", {})).ok()
    new_kid = reply["keyId"]
    assert new_kid != old_kid and reply["retiredKeyIds"] == [old_kid]
    jwks = (await client.get("/oauth/v2/keys", token=None)).ok()
    assert [k["kid"] for k in jwks["keys"]] == [new_kid, old_kid]
    # A token the old key signed before the rotation still verifies ...
    assert verify(old_token, jwks, server.url)["sub"] == "42"
    # ... and new tokens carry the new kid and verify too.
    new_token, signed_kid = await sign(server, claims_for(server.url))
    assert signed_kid == new_kid
    assert pyjwt.get_unverified_header(new_token)["kid"] == new_kid
    assert verify(new_token, jwks, server.url)["sub"] == "42"


async def test_rotation_needs_a_token_and_a_valid_window(client: Api) -> None:
    assert (await client.post("/v2/oidc/keys/rotate", {}, token=None)).status == 401
    bad = await client.post("/v2/oidc/keys/rotate", {"publishOldFor": "soon"})
    assert bad.status == 400 and "publishOldFor" in bad.body["message"]
    too_long = await client.post("/v2/oidc/keys/rotate", {"publishOldFor": "800h"})
    assert too_long.status == 400
    # The full method name form, with a window of zero: the old key leaves the JWKS at once.
    before = (await client.get("/oauth/v2/keys", token=None)).ok()["keys"][0]["kid"]
    reply = await client.post(
        "/keyhook.oidc.v1.KeyService/RotateSigningKey", {"publishOldFor": "0s"}
    )
    new_kid = reply.ok()["keyId"]
    kids = [k["kid"] for k in (await client.get("/oauth/v2/keys", token=None)).ok()["keys"]]
    assert kids[0] == new_kid and before not in kids


async def test_restart_keeps_the_key(tmp_path: Path) -> None:
    keyhook = KeyhookServer(data_dir=tmp_path)
    await keyhook.start()
    try:
        api = Api(keyhook.url, None)
        try:
            first = (await api.get("/oauth/v2/keys")).ok()["keys"]
            keyhook.terminate()
            await keyhook.start()
            second = (await api.get("/oauth/v2/keys")).ok()["keys"]
        finally:
            await api.close()
    finally:
        await keyhook.stop()
    assert len(first) == 1 and first == second
