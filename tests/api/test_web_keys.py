"""WebKeyService: create web keys of every type, activate, list, delete; tokens signed by
the key just activated verify against the served JWKS. A server of its own, since its
signing key changes."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
import pytest

from tests.support.api import Api, serving
from tests.support.server import KeyhookServer

SERVICE = "/zitadel.webkey.v2.WebKeyService/"


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("web-keys")))
    async with serving(server) as api:
        yield api


async def published(own: Api) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=own.base_url) as http:
        keys = (await http.get("/oauth/v2/keys")).json()["keys"]
    return {k["kid"]: k for k in keys}


async def listed(own: Api) -> dict[str, dict[str, Any]]:
    return {k["id"]: k for k in (await own.get("/v2/web_keys")).ok()["webKeys"]}


def kid_of(token: str) -> str:
    first = token.split(".")[0]
    header = orjson.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)))
    return str(header["kid"])


async def machine(own: Api) -> tuple[str, str]:
    user_name = f"robot-{secrets.token_hex(4)}"
    user_id = await own.add_machine_user(
        user_name, "Robot", accessTokenType="ACCESS_TOKEN_TYPE_JWT"
    )
    return user_name, await own.add_secret(user_id)


async def token(own: Api, user_name: str, secret: str) -> str:
    async with httpx.AsyncClient(base_url=own.base_url) as http:
        reply = await http.post(
            "/oauth/v2/token", data={"grant_type": "client_credentials"}, auth=(user_name, secret)
        )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


def verified(own: Api, access_token: str, jwks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """PyJWT with the published key of the token's kid, in that key's algorithm only."""
    key = jwks[kid_of(access_token)]
    claims: dict[str, Any] = jwt.decode(
        access_token,
        jwt.PyJWK.from_dict(key).key,
        algorithms=[key["alg"]],
        issuer=own.base_url,
        options={"verify_aud": False},
    )
    return claims


KEY_TYPES: list[tuple[dict[str, Any], dict[str, Any], str, dict[str, str]]] = [
    # request, what ListWebKeys answers, JWS algorithm, JWK members
    (
        {},
        {"rsa": {"bits": "RSA_BITS_2048", "hasher": "RSA_HASHER_SHA256"}},
        "RS256",
        {"kty": "RSA"},
    ),
    (
        {"rsa": {"bits": "RSA_BITS_3072", "hasher": "RSA_HASHER_SHA384"}},
        {"rsa": {"bits": "RSA_BITS_3072", "hasher": "RSA_HASHER_SHA384"}},
        "RS384",
        {"kty": "RSA"},
    ),
    (
        {"rsa": {"bits": 3, "hasher": 3}},  # enums by number, as protobuf JSON allows
        {"rsa": {"bits": "RSA_BITS_4096", "hasher": "RSA_HASHER_SHA512"}},
        "RS512",
        {"kty": "RSA"},
    ),
    ({"ecdsa": {}}, {"ecdsa": {"curve": "ECDSA_CURVE_P256"}}, "ES256", {"crv": "P-256"}),
    (
        {"ecdsa": {"curve": "ECDSA_CURVE_P384"}},
        {"ecdsa": {"curve": "ECDSA_CURVE_P384"}},
        "ES384",
        {"crv": "P-384"},
    ),
    (
        {"ecdsa": {"curve": "ECDSA_CURVE_P512"}},
        {"ecdsa": {"curve": "ECDSA_CURVE_P512"}},
        "ES512",
        {"crv": "P-521"},
    ),
    ({"ed25519": {}}, {"ed25519": {}}, "EdDSA", {"kty": "OKP", "crv": "Ed25519"}),
]


@pytest.mark.parametrize(("request_body", "config", "alg", "jwk"), KEY_TYPES)
async def test_each_key_type_is_created_published_and_signs_once_activated(
    own: Api, request_body: dict[str, Any], config: dict[str, Any], alg: str, jwk: dict[str, str]
) -> None:
    created = (await own.post(SERVICE + "CreateWebKey", request_body)).ok()
    kid = created["id"]
    assert created["creationDate"].endswith("Z")
    entry = (await listed(own))[kid]
    assert entry["state"] == "STATE_INITIAL"
    assert {k: v for k, v in entry.items() if k in ("rsa", "ecdsa", "ed25519")} == config
    public = (await published(own))[kid]  # an initial key is published before it signs
    assert public["alg"] == alg and public["use"] == "sig"
    assert {k: public[k] for k in jwk} == jwk
    assert "d" not in public and "p" not in public

    user_name, secret = await machine(own)
    before = await token(own, user_name, secret)
    assert kid_of(before) != kid, "an initial key does not sign access tokens"
    previous = kid_of(before)

    activated = (await own.post(f"/v2/web_keys/{kid}/activate", {})).ok()
    assert activated["changeDate"].endswith("Z")
    states = {k: v["state"] for k, v in (await listed(own)).items()}
    assert states[kid] == "STATE_ACTIVE"
    assert states[previous] == "STATE_INACTIVE"
    assert list(states.values()).count("STATE_ACTIVE") == 1

    await asyncio.sleep(1.1)  # every node's signer re-reads its keys within a second
    after = await token(own, user_name, secret)
    assert kid_of(after) == kid
    jwks = await published(own)
    assert verified(own, after, jwks)["client_id"] == user_name
    # The key active before stays published: its tokens still verify.
    assert previous in jwks
    assert verified(own, before, jwks)["client_id"] == user_name


async def test_the_active_key_cannot_be_deleted_an_inactive_one_can(own: Api) -> None:
    first = (await own.post("/v2/web_keys", {"ecdsa": {}})).ok()["id"]
    (await own.post(SERVICE + "ActivateWebKey", {"id": first})).ok()
    second = (await own.post("/v2/web_keys", {"ed25519": {}})).ok()["id"]
    (await own.post(SERVICE + "ActivateWebKey", {"id": second})).ok()

    refused = await own.delete(f"/v2/web_keys/{second}")
    assert refused.status == 400
    assert "active web key cannot be deleted" in refused.raw.decode()
    assert second in await listed(own)

    deleted = (await own.delete(f"/v2/web_keys/{first}")).ok()
    assert deleted["deletionDate"].endswith("Z")
    assert first not in await listed(own)
    assert first not in await published(own)
    # Deleting it again: the desired state is reached; no deletion date this time.
    assert (await own.post(SERVICE + "DeleteWebKey", {"id": first})).ok() == {}


async def test_activating_an_unknown_key_is_not_found(own: Api) -> None:
    reply = await own.post(SERVICE + "ActivateWebKey", {"id": "no-such-key"})
    assert reply.status == 404
    assert "no-such-key" in reply.raw.decode()


@pytest.mark.parametrize(
    ("body", "field", "allowed"),
    [
        ({"rsa": {"bits": "RSA_BITS_1024"}}, "rsa.bits", "RSA_BITS_2048"),
        ({"rsa": {"hasher": "MD5"}}, "rsa.hasher", "RSA_HASHER_SHA512"),
        ({"ecdsa": {"curve": "ECDSA_CURVE_SECP256K1"}}, "ecdsa.curve", "ECDSA_CURVE_P384"),
        ({"ecdsa": {}, "ed25519": {}}, "key", "at most one of rsa, ecdsa, ed25519"),
    ],
)
async def test_a_bad_key_type_names_the_field_and_what_is_allowed(
    own: Api, body: dict[str, Any], field: str, allowed: str
) -> None:
    before = await listed(own)
    reply = await own.post(SERVICE + "CreateWebKey", body)
    assert reply.status == 400, reply.raw
    text = reply.raw.decode()
    assert field in text and allowed in text
    assert await listed(own) == before


async def test_rotation_makes_a_key_like_the_active_one(own: Api) -> None:
    rsa = (await own.post(SERVICE + "CreateWebKey", {"rsa": {"hasher": "RSA_HASHER_SHA384"}})).ok()
    (await own.post(SERVICE + "ActivateWebKey", {"id": rsa["id"]})).ok()
    rotated = (await own.post("/v2/oidc/keys/rotate", {"publishOldFor": "60s"})).ok()
    assert rotated["algorithm"] == "RS384" and rotated["retiredKeyIds"] == [rsa["id"]]
    keys = await listed(own)
    assert keys[rotated["keyId"]]["state"] == "STATE_ACTIVE"
    assert keys[rotated["keyId"]]["rsa"]["hasher"] == "RSA_HASHER_SHA384"
    assert keys[rsa["id"]]["state"] == "STATE_INACTIVE"
    assert rsa["id"] in await published(own)  # for its 60 seconds
