"""PayloadSealer (actions/payload_types.py): a body in the target's payload type, with
real keys: a JWT verified by PyJWT, a JWE opened with the receiver's private key, and
the failures that keep a call from being sent at all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import orjson
import pytest
from joserfc import jwe
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, RSAKey

from keyhook.actions.payload_types import PayloadError, PayloadSealer
from keyhook.actions.wire import encode_body, signed_request
from keyhook.clock import now
from keyhook.domain.target import EncryptionKey, PayloadType, SigningKey, Target, TargetType

REGISTRY = jwe.JWERegistry(algorithms=["RSA-OAEP-256", "ECDH-ES+A256KW", "A256GCM"])
PAYLOAD = {"fullMethod": "/x.v1.S/M", "request": {"name": "Zoë", "n": 1.5}}


class Signer:
    """A token signer with one real ES256 key, as TokenSigner signs (kid, typ)."""

    def __init__(self) -> None:
        self.key = ECKey.generate_key("P-256", parameters={"kid": "k1"})
        self.fail = False

    async def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        if self.fail:
            raise RuntimeError("the instance has no active token signing key")
        return jose_jwt.encode({"alg": "ES256", "kid": "k1", "typ": typ}, claims, self.key)

    def verify(self, token: bytes) -> dict[str, Any]:
        public = jwt.PyJWK(self.key.as_dict(private=False))
        claims: dict[str, Any] = jwt.decode(token, public, algorithms=["ES256"])
        return claims


def target(payload_type: PayloadType, key: EncryptionKey | None = None) -> Target:
    return Target(
        id="1",
        name="t",
        endpoint="https://example.com/hook",
        timeout=5.0,
        type=TargetType.REST_WEBHOOK,
        interrupt_on_error=True,
        signing_keys=(SigningKey("whsec_a2V5"),),
        payload_type=payload_type,
        encryption_key=key,
    )


async def test_json_bodies_pass_through_untouched() -> None:
    body = encode_body(PAYLOAD)
    assert await PayloadSealer().body(target(PayloadType.JSON), body) is body


async def test_a_jwt_body_carries_exactly_the_payload_as_claims() -> None:
    signer = Signer()
    token = await PayloadSealer(signer).body(target(PayloadType.JWT), encode_body(PAYLOAD))
    assert signer.verify(token) == PAYLOAD
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": "k1", "typ": "JWT"}
    request = signed_request(target(PayloadType.JWT), token, "msg_1")
    assert request.body == token  # the HMAC headers are over these bytes


@pytest.mark.parametrize(
    ("private", "alg"),
    [(RSAKey.generate_key(2048), "RSA-OAEP-256"), (ECKey.generate_key("P-521"), "ECDH-ES+A256KW")],
)
async def test_a_jwe_body_is_the_jwt_encrypted_to_the_active_key(
    private: RSAKey | ECKey, alg: str
) -> None:
    signer = Signer()
    key = EncryptionKey("77", private.as_pem(private=False).decode(), alg)
    sealer = PayloadSealer(signer)
    sealed = await sealer.body(target(PayloadType.JWE, key), encode_body(PAYLOAD))
    opened = jwe.decrypt_compact(sealed, private, registry=REGISTRY)
    assert opened.protected["kid"] == "77" and opened.protected["cty"] == "JWT"
    assert (opened.protected["alg"], opened.protected["enc"]) == (alg, "A256GCM")
    assert opened.plaintext is not None
    assert signer.verify(opened.plaintext) == PAYLOAD
    again = await sealer.body(target(PayloadType.JWE, key), encode_body(PAYLOAD))
    assert again != sealed  # a fresh content key and IV per call


async def test_no_usable_key_or_signer_is_an_error_and_nothing_is_made() -> None:
    pem = ECKey.generate_key("P-256").as_pem(private=False).decode()
    expired = EncryptionKey("9", pem, "ECDH-ES+A256KW", now() - timedelta(seconds=1))
    signer = Signer()
    for key in (None, expired):
        with pytest.raises(PayloadError, match="no active public key"):
            await PayloadSealer(signer).body(target(PayloadType.JWE, key), b"{}")
    with pytest.raises(PayloadError, match="no token signer"):
        await PayloadSealer().body(target(PayloadType.JWT), b"{}")
    signer.fail = True
    with pytest.raises(PayloadError, match=r"could not be signed.*no active token signing key"):
        await PayloadSealer(signer).body(target(PayloadType.JWT), orjson.dumps(PAYLOAD))
    signer.fail = False
    broken = EncryptionKey(
        "9", "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----", "RSA-OAEP-256"
    )
    with pytest.raises(PayloadError, match="could not be encrypted to public key 9"):
        await PayloadSealer(signer).body(target(PayloadType.JWE, broken), b"{}")
