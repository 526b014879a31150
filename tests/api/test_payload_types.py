"""Payload types end to end (docs/api.md, "Payload types"): a server of its own, real
receivers on 127.0.0.1 that verify JWT bodies with PyJWT against ``/oauth/v2/keys``
and decrypt JWE bodies with their own private keys (joserfc).

A server of its own: the test rotates the instance's token signing key.
"""

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
from joserfc import jwe
from joserfc.jwk import ECKey, RSAKey

from keyhook_receiver.verify import Verifier
from tests.support.api import Api, serving
from tests.support.events import deliveries, wait_until
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import KeyhookServer

ADD_HUMAN_USER = "/zitadel.user.v2.UserService/AddHumanUser"
ON_ADD_USER = {"request": {"method": ADD_HUMAN_USER}}
JWE_REGISTRY = jwe.JWERegistry(algorithms=["RSA-OAEP-256", "ECDH-ES+A256KW", "A256GCM"])


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[KeyhookServer, Api]]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("payload-types")))
    async with serving(server) as api:
        yield server, api


@pytest.fixture
async def api(own: tuple[KeyhookServer, Api]) -> AsyncIterator[Api]:
    client = own[1]
    await client.clear_executions()
    yield client
    await client.clear_executions()


def email() -> str:
    return f"payload-{secrets.token_hex(4)}@example.com"


async def jwks(server: KeyhookServer) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        reply = await client.get(f"{server.url}/oauth/v2/keys")
    reply.raise_for_status()
    keys: dict[str, Any] = reply.json()
    return keys


async def verified_claims(server: KeyhookServer, token: bytes | str) -> dict[str, Any]:
    """What a receiver does with a JWT body: pick the key by kid from the JWKS, verify."""
    text = token.decode() if isinstance(token, bytes) else token
    kid = jwt.get_unverified_header(text)["kid"]
    found = [k for k in (await jwks(server))["keys"] if k["kid"] == kid]
    assert found, f"kid {kid} is not in /oauth/v2/keys"
    key = jwt.PyJWK(found[0])
    claims: dict[str, Any] = jwt.decode(text, key, algorithms=[found[0]["alg"]])
    return claims


def jose_header(token: bytes | str) -> dict[str, Any]:
    """A compact JWE's protected header (PyJWT reads JWS headers only)."""
    first = (token.decode() if isinstance(token, bytes) else token).split(".")[0]
    header: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)))
    return header


def hmac_verified(target: dict[str, Any], received: Received) -> None:
    """The HMAC headers cover the bytes that arrived (the JWT or JWE as sent)."""
    Verifier(target["signingKey"], scheme="zitadel").verify(received.body, received.headers)
    Verifier(target["signingKey"], scheme="standard").verify(received.body, received.headers)
    Verifier(target["signingKey"], scheme="seed").verify(received.body, received.headers)


def pem_of(key: RSAKey | ECKey) -> str:
    return key.as_pem(private=False).decode()


async def add_key(api: Api, target_id: str, public_key: Any, **extra: Any) -> str:
    body = {"publicKey": public_key, **extra}
    reply = await api.post(f"/v2/actions/targets/{target_id}/publickeys", body)
    return str(reply.ok()["keyId"])


async def list_keys(api: Api, target_id: str) -> list[dict[str, Any]]:
    reply = await api.post(f"/v2/actions/targets/{target_id}/publickeys/search", {})
    keys: list[dict[str, Any]] = reply.ok()["publicKeys"]
    return keys


async def recorded_calls(api: Api, target_id: str, count: int) -> list[dict[str, Any]]:
    for _ in range(100):  # the call log is written just after the call
        found = (await api.post("/v2/actions/calls/search", {"targetId": target_id})).ok()
        if len(found["calls"]) >= count:
            return list(found["calls"])
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {count} calls recorded")


async def test_a_jwt_body_verifies_against_the_jwks_before_and_after_a_rotation(
    own: tuple[KeyhookServer, Api], api: Api, receiver: Receiver
) -> None:
    server = own[0]
    path = f"/jwt-{secrets.token_hex(3)}"
    target = await api.create_target(
        receiver.endpoint(path), interrupt=True, payloadType="PAYLOAD_TYPE_JWT"
    )
    shown = (await api.get(f"/v2/actions/targets/{target['id']}")).ok()["target"]
    assert shown["payloadType"] == "PAYLOAD_TYPE_JWT"
    await api.set_execution(ON_ADD_USER, [target["id"]])

    first = email()
    (await api.add_user(first)).ok()
    (call,) = await receiver.wait_for(path, 1)
    assert call.headers["Content-Type"] == "application/json"  # as ZITADEL sends it
    header = jwt.get_unverified_header(call.body.decode())
    assert header["typ"] == "JWT"
    claims = await verified_claims(server, call.body)
    # The claims are exactly the JSON payload a PAYLOAD_TYPE_JSON target gets.
    assert claims["fullMethod"] == ADD_HUMAN_USER
    assert claims["request"]["user"]["email"]["email"] == first
    hmac_verified(target, call)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(call.body)  # not JSON on the wire: a compact JWS

    (await api.post("/v2/oidc/keys/rotate", {})).ok()
    rotated = await jwks(server)
    new_kid = rotated["keys"][0]["kid"]
    assert new_kid != header["kid"]
    assert header["kid"] in [k["kid"] for k in rotated["keys"]]  # the old one still published

    # The signer re-reads its key within a second of a rotation (KEY_TTL): the next calls
    # are signed by the new key, and each verifies against the JWKS as it is now.
    kids: list[str] = []

    async def signed_by_new_key() -> bool:
        (await api.add_user(email())).ok()
        last = receiver.on(path)[-1]
        await verified_claims(server, last.body)
        hmac_verified(target, last)
        kids.append(jwt.get_unverified_header(last.body.decode())["kid"])
        return bool(kids[-1] == new_kid)

    await wait_until(signed_by_new_key, timeout=10, interval=0.3)
    # A receiver using PyJWKClient (it fetches /oauth/v2/keys itself) accepts it too.
    client = jwt.PyJWKClient(f"{server.url}/oauth/v2/keys", cache_keys=False)
    last = receiver.on(path)[-1].body.decode()
    signing_key = await asyncio.to_thread(client.get_signing_key_from_jwt, last)
    assert jwt.decode(last, signing_key, algorithms=["ES256", "RS256"])["fullMethod"] == (
        ADD_HUMAN_USER
    )


async def test_a_jwe_body_decrypts_with_the_receivers_key_until_it_is_deactivated(
    own: tuple[KeyhookServer, Api], api: Api, receiver: Receiver
) -> None:
    server = own[0]
    rsa_key = RSAKey.generate_key(2048)
    ec_key = ECKey.generate_key("P-256")
    private: dict[str, RSAKey | ECKey] = {}
    path = f"/jwe-{secrets.token_hex(3)}"

    async def decrypting(received: Received) -> Answer:
        """The receiver: decrypt with the private key the JWE header's kid names."""
        token = received.body.decode()
        kid = jose_header(token)["kid"]
        opened = jwe.decrypt_compact(token, private[kid], registry=JWE_REGISTRY)
        assert opened.plaintext is not None
        claims = await verified_claims(server, opened.plaintext)
        # The answer is plain JSON, as for a JSON target (ZITADEL reads it so too).
        request = claims["request"]
        request["user"]["profile"]["givenName"] = "Decrypted"
        return Answer(200, {"status": "success", "request": request})

    target = await api.create_target(
        receiver.endpoint(path, decrypting),
        kind="restCall",
        interrupt=True,
        payloadType="PAYLOAD_TYPE_JWE",
    )
    target_id = target["id"]
    await api.set_execution(ON_ADD_USER, [target_id])

    # No active key: the call fails clearly, and nothing at all is sent.
    refused = await api.add_user(email())
    assert refused.status == 502, refused.body
    assert "no active public key" in refused.body["message"]
    assert receiver.on(path) == []
    (failed,) = await recorded_calls(api, target_id, 1)
    assert "no active public key" in failed["error"]

    rsa_id = await add_key(api, target_id, pem_of(rsa_key))
    # Base64 of the PEM, as protobuf JSON writes ZITADEL's bytes field.
    ec_id = await add_key(api, target_id, base64.b64encode(pem_of(ec_key).encode()).decode())
    private[rsa_id] = rsa_key
    private[ec_id] = ec_key
    listed = await list_keys(api, target_id)
    assert [(k["keyId"], k["active"]) for k in listed] == [(rsa_id, False), (ec_id, False)]
    assert base64.b64decode(listed[0]["publicKey"]).decode() == pem_of(rsa_key)
    assert listed[0]["fingerprint"].startswith("SHA256:")
    assert (listed[0]["algorithm"], listed[1]["algorithm"]) == ("RSA-OAEP-256", "ECDH-ES+A256KW")
    assert (await api.add_user(email())).status == 502  # added is not active

    (await api.post(f"/v2/actions/targets/{target_id}/publickeys/{rsa_id}/activate")).ok()
    first = email()
    user_id = (await api.add_user(first)).ok()["userId"]
    (call,) = await receiver.wait_for(path, 1)
    user = (await api.get(f"/v2/users/{user_id}")).ok()["user"]
    assert user["human"]["profile"]["givenName"] == "Decrypted"
    header = jose_header(call.body)
    assert header == {
        "alg": "RSA-OAEP-256",
        "enc": "A256GCM",
        "kid": rsa_id,
        "typ": "JWT",
        "cty": "JWT",
    }
    hmac_verified(target, call)
    assert first.encode() not in call.body
    # Two calls refused for want of an active key, then the one sent.
    errors = [c["error"] for c in await recorded_calls(api, target_id, 3)]
    assert errors.count(None) == 1 and len(errors) == 3, errors

    # Activating the EC key deactivates the RSA key: one active key at a time.
    (await api.post(f"/v2/actions/targets/{target_id}/publickeys/{ec_id}/activate")).ok()
    assert [k["active"] for k in await list_keys(api, target_id)] == [False, True]
    (await api.add_user(email())).ok()
    calls = await receiver.wait_for(path, 2)
    ec_header = jose_header(calls[-1].body)
    assert (ec_header["alg"], ec_header["kid"]) == ("ECDH-ES+A256KW", ec_id)

    # The active key cannot be removed; an inactive one can.
    stuck = await api.delete(f"/v2/actions/targets/{target_id}/publickeys/{ec_id}")
    assert stuck.status == 400 and "deactivate it first" in stuck.body["message"], stuck.body
    (await api.delete(f"/v2/actions/targets/{target_id}/publickeys/{rsa_id}")).ok()

    # After DeactivatePublicKey nothing is encrypted to that key: the next call fails.
    (await api.post(f"/v2/actions/targets/{target_id}/publickeys/{ec_id}/deactivate")).ok()
    assert [k["active"] for k in await list_keys(api, target_id)] == [False]
    after = await api.add_user(email())
    assert after.status == 502 and "no active public key" in after.body["message"]
    assert len(receiver.on(path)) == 2


async def test_an_expiration_date_must_be_in_the_future_and_is_shown(
    api: Api, receiver: Receiver
) -> None:
    path = f"/jwe-expired-{secrets.token_hex(3)}"
    target = await api.create_target(
        receiver.endpoint(path), interrupt=True, payloadType="PAYLOAD_TYPE_JWE"
    )
    past = await api.post(
        f"/v2/actions/targets/{target['id']}/publickeys",
        {"publicKey": pem_of(RSAKey.generate_key(2048)), "expirationDate": "2020-01-01T00:00:00Z"},
    )
    assert past.status == 400 and past.body["details"][0]["field"] == "expirationDate"
    later = "2999-01-01T00:00:00Z"
    key_id = await add_key(
        api, target["id"], pem_of(ECKey.generate_key("P-256")), expirationDate=later
    )
    (listed,) = await list_keys(api, target["id"])
    assert listed["expirationDate"] == "2999-01-01T00:00:00.000000Z"
    assert key_id == listed["keyId"]


async def test_event_deliveries_are_sent_as_jwe_and_fail_clearly_without_a_key(
    own: tuple[KeyhookServer, Api], api: Api, receiver: Receiver
) -> None:
    server = own[0]
    key = ECKey.generate_key("P-384")
    path = f"/jwe-events-{secrets.token_hex(3)}"
    target = await api.create_target(
        receiver.endpoint(path), kind="restAsync", payloadType="PAYLOAD_TYPE_JWE"
    )
    key_id = await add_key(api, target["id"], key.as_dict(private=False))  # a JWK
    (await api.post(f"/v2/actions/targets/{target['id']}/publickeys/{key_id}/activate")).ok()
    await api.set_execution({"event": {"event": "user.human.added"}}, [target["id"]])

    address = email()
    user_id = (await api.add_user(address)).ok()["userId"]
    (call,) = await receiver.wait_for(path, 1)
    hmac_verified(target, call)
    opened = jwe.decrypt_compact(call.body.decode(), key, registry=JWE_REGISTRY)
    assert opened.plaintext is not None
    claims = await verified_claims(server, opened.plaintext)
    assert (claims["event"], claims["userID"]) == ("user.human.added", user_id)

    (await api.post(f"/v2/actions/targets/{target['id']}/publickeys/{key_id}/deactivate")).ok()
    (await api.add_user(email())).ok()

    async def failed_attempt() -> bool:
        found = await deliveries(api, targetId=target["id"])
        return any("no active public key" in (d.get("lastError") or "") for d in found)

    await wait_until(failed_attempt)
    assert len(receiver.on(path)) == 1  # the failed one was never sent


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"payloadType": "PAYLOAD_TYPE_XML"}, "payloadType", "PAYLOAD_TYPE_JWE"),
    ],
)
async def test_an_unknown_payload_type_is_refused(
    api: Api, receiver: Receiver, body: dict[str, Any], field: str, problem: str
) -> None:
    reply = await api.post(
        "/v2/actions/targets",
        {
            "name": f"bad-{secrets.token_hex(3)}",
            "endpoint": receiver.endpoint("/never"),
            "timeout": "5s",
            "restWebhook": {},
            **body,
        },
    )
    assert reply.status == 400, reply.body
    assert field in orjson.dumps(reply.body).decode()
    assert problem in reply.body["message"]


async def test_update_changes_the_payload_type_and_unspecified_keeps_it(
    api: Api, receiver: Receiver
) -> None:
    target = await api.create_target(receiver.endpoint("/never"))
    url = f"/v2/actions/targets/{target['id']}"
    assert (await api.get(url)).ok()["target"]["payloadType"] == "PAYLOAD_TYPE_JSON"
    (await api.post(url, {"payloadType": "PAYLOAD_TYPE_JWE"})).ok()
    (await api.post(url, {"payloadType": "PAYLOAD_TYPE_UNSPECIFIED", "timeout": "3s"})).ok()
    assert (await api.get(url)).ok()["target"]["payloadType"] == "PAYLOAD_TYPE_JWE"
    listed = (await api.post("/v2/actions/targets/search", {})).ok()["targets"]
    assert {t["id"]: t["payloadType"] for t in listed}[target["id"]] == "PAYLOAD_TYPE_JWE"


async def test_bad_public_keys_are_refused_with_the_reason(api: Api, receiver: Receiver) -> None:
    target = await api.create_target(receiver.endpoint("/never"), payloadType="PAYLOAD_TYPE_JWE")
    keys = f"/v2/actions/targets/{target['id']}/publickeys"
    rsa_key = RSAKey.generate_key(2048)
    cases = {
        "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----": "readable PEM",
        "not a key at all": "neither PEM text nor base64",
        rsa_key.as_pem(private=True).decode(): "private key",
        orjson.dumps({}).decode(): "neither PEM",
    }
    for value, problem in cases.items():
        reply = await api.post(keys, {"publicKey": value})
        assert reply.status == 400, (value, reply.body)
        assert reply.body["details"][0]["field"] == "publicKey"
        assert problem in reply.body["message"], reply.body
    jwk_cases: list[tuple[dict[str, Any], str]] = [
        ({"kty": "oct", "k": "c2VjcmV0"}, "publicKey.kty"),
        (rsa_key.as_dict(private=True), "publicKey"),
        ({"kty": "EC", "crv": "P-256", "x": "AA"}, "publicKey"),
    ]
    for jwk, field in jwk_cases:
        reply = await api.post(keys, {"publicKey": jwk})
        assert reply.status == 400, (jwk, reply.body)
        assert reply.body["details"][0]["field"] == field, reply.body
    # The same key twice is refused, naming the key it already is.
    first = await add_key(api, target["id"], pem_of(rsa_key))
    again = await api.post(keys, {"publicKey": pem_of(rsa_key)})
    assert again.status == 400 and first in again.body["message"]


async def test_keys_of_missing_targets_and_missing_keys_are_404(
    api: Api, receiver: Receiver
) -> None:
    pem = pem_of(ECKey.generate_key("P-256"))
    missing = await api.post("/v2/actions/targets/123/publickeys", {"publicKey": pem})
    assert missing.status == 404 and "target 123 does not exist" in missing.body["message"]
    listed = await api.post("/v2/actions/targets/123/publickeys/search", {})
    assert listed.status == 404
    target = await api.create_target(receiver.endpoint("/never"))
    for action in ("activate", "deactivate"):
        reply = await api.post(f"/v2/actions/targets/{target['id']}/publickeys/42/{action}")
        assert reply.status == 404 and "has no public key 42" in reply.body["message"]
    gone = await api.delete(f"/v2/actions/targets/{target['id']}/publickeys/42")
    assert gone.status == 404


async def test_test_target_sends_the_sealed_body_and_nothing_without_a_key(
    own: tuple[KeyhookServer, Api], api: Api, receiver: Receiver
) -> None:
    server = own[0]
    path = f"/jwe-test-{secrets.token_hex(3)}"
    target = await api.create_target(
        receiver.endpoint(path), interrupt=True, payloadType="PAYLOAD_TYPE_JWE"
    )
    test = f"/v2/actions/targets/{target['id']}/test"
    event = {"event": {"event": "user.locked", "eventData": {"userId": "1"}}}
    refused = (await api.post(test, event)).ok()
    assert refused["answer"] is None
    assert "no active public key" in refused["reading"]["message"]
    assert receiver.on(path) == []

    key = RSAKey.generate_key(2048)
    key_id = await add_key(api, target["id"], pem_of(key))
    (await api.post(f"/v2/actions/targets/{target['id']}/publickeys/{key_id}/activate")).ok()
    tried = (await api.post(test, event)).ok()
    (call,) = await receiver.wait_for(path, 1)
    assert tried["sent"]["body"] == call.body.decode()  # what was shown is what was sent
    opened = jwe.decrypt_compact(call.body.decode(), key, registry=JWE_REGISTRY)
    assert opened.plaintext is not None
    claims = await verified_claims(server, opened.plaintext)
    assert (claims["event"], claims["test"]) == ("user.locked", True)
