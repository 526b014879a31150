"""Reading a target's public key (crypto/public_keys.py): the forms accepted, the
fingerprint, and clear refusals."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from joserfc.jwk import ECKey, RSAKey

from keyhook.crypto.public_keys import parse_public_key
from keyhook.errors import InvalidArgument


def test_pem_base64_pem_and_jwk_name_the_same_key() -> None:
    key = ECKey.generate_key("P-384")
    pem = key.as_pem(private=False).decode()
    forms = [pem, base64.b64encode(pem.encode()).decode(), key.as_dict(private=False)]
    parsed = [parse_public_key(form) for form in forms]
    assert len({p.fingerprint for p in parsed}) == 1
    assert parsed[0].pem == pem and parsed[0].algorithm == "ECDH-ES+A256KW"
    der = serialization.load_pem_public_key(pem.encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    expected = base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
    assert parsed[0].fingerprint == f"SHA256:{expected}"


def test_rsa_keys_use_rsa_oaep_256() -> None:
    pem = RSAKey.generate_key(3072).as_pem(private=False).decode()
    assert parse_public_key(pem).algorithm == "RSA-OAEP-256"


WEAK_RSA = rsa.generate_private_key(65537, 1024)  # noqa: S505 - it is to be refused


def _pem(key: object) -> str:
    return key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (_pem(WEAK_RSA.public_key()), "RSA key of 1024 bits"),
        (_pem(ed25519.Ed25519PrivateKey.generate().public_key()), "is a Ed25519PublicKey"),
        ("", "is empty"),
        (42, "must be a string (PEM) or an object (JWK)"),
        ({"kty": "OKP"}, "is 'OKP'"),
    ],
)
def test_what_is_refused_says_why(value: object, problem: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_public_key(value)
    assert problem in str(caught.value)
    assert "RSA (2048 to 8192 bits, exponent 65537) or EC" in str(caught.value) or "kty" in str(
        caught.value
    )


def test_rsa_keys_that_would_make_every_call_slow_are_refused() -> None:
    # A 9,000-bit modulus (any odd number does for the check) and a huge exponent.
    huge = rsa.RSAPublicNumbers(65537, (1 << 9000) - 1).public_key()
    with pytest.raises(InvalidArgument, match="9000 bits"):
        parse_public_key(_pem(huge), "publicKey")
    usual = rsa.generate_private_key(65537, 2048).public_key().public_numbers()
    odd_exponent = rsa.RSAPublicNumbers((1 << 2047) + 1, usual.n).public_key()
    with pytest.raises(InvalidArgument, match="exponent"):
        parse_public_key(_pem(odd_exponent), "publicKey")
    with pytest.raises(InvalidArgument, match="longer than"):
        parse_public_key({"kty": "RSA", "n": "A" * 20000, "e": "AQAB"}, "publicKey")
