"""Public keys a target registers for encrypted payloads (``PAYLOAD_TYPE_JWE``).

A key arrives as PEM text (``-----BEGIN PUBLIC KEY-----``), as base64 of that PEM
(how protobuf JSON writes ZITADEL's ``bytes publicKey``), or as a public JWK
object. It is kept as PEM (SubjectPublicKeyInfo) with its fingerprint,
``SHA256:`` + base64 (no padding) of the DER bytes, as ZITADEL shows it, and
the JWE key-management algorithm its type implies: RSA keys (2048 bits or more)
``RSA-OAEP-256``, EC keys (P-256, P-384, P-521) ``ECDH-ES+A256KW``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from keyhook.errors import field_error

MIN_RSA_BITS = 2048
# Larger RSA keys (or exponents) make every call's encryption slow, or fail it.
MAX_RSA_BITS = 8192
RSA_EXPONENT = 65537
MAX_KEY_CHARS = 8192  # as ZITADEL's AddPublicKey allows
_CURVES = {"secp256r1", "secp384r1", "secp521r1"}
ALLOWED = (
    "an RSA (2048 to 8192 bits, exponent 65537) or EC (P-256, P-384, P-521) public key as "
    "PEM text "
    '("-----BEGIN PUBLIC KEY-----…"), as base64 of that PEM, or as a public JWK object'
)
RSA_ALGORITHM = "RSA-OAEP-256"
EC_ALGORITHM = "ECDH-ES+A256KW"


@dataclass(frozen=True)
class ParsedPublicKey:
    pem: str
    fingerprint: str
    algorithm: str  # the JWE "alg" used to encrypt to it


def parse_public_key(value: object, field: str = "publicKey") -> ParsedPublicKey:
    """The key ``value`` names, or an InvalidArgument naming ``field``."""
    if isinstance(value, dict):
        if len(json.dumps(value)) > MAX_KEY_CHARS * 2:
            raise field_error(field, f"is longer than {MAX_KEY_CHARS} characters", ALLOWED)
        key = _from_jwk(value, field)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise field_error(field, "is empty", ALLOWED)
        if len(text) > MAX_KEY_CHARS * 2:
            raise field_error(field, f"is longer than {MAX_KEY_CHARS} characters", ALLOWED)
        if not text.startswith("-----BEGIN"):
            try:
                text = base64.b64decode(text, validate=True).decode("ascii").strip()
            except (binascii.Error, ValueError):
                raise field_error(field, "is neither PEM text nor base64 of PEM", ALLOWED) from None
        key = _from_pem(text, field)
    else:
        raise field_error(field, "must be a string (PEM) or an object (JWK)", ALLOWED)
    return _described(key, field)


def _from_pem(text: str, field: str) -> Any:
    if "PRIVATE KEY" in text.split("\n", 1)[0]:
        raise field_error(
            field, "is a private key: register the public key only, keep the private one", ALLOWED
        )
    try:
        return serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError):
        raise field_error(
            field, "is not a readable PEM public key (SubjectPublicKeyInfo)", ALLOWED
        ) from None


def _from_jwk(value: dict[str, Any], field: str) -> Any:
    if "d" in value:
        raise field_error(
            field, "is a private JWK (it has d): register the public key only", ALLOWED
        )
    kinds = {"RSA": RSAKey, "EC": ECKey}
    kind = kinds.get(str(value.get("kty")))
    if kind is None:
        raise field_error(f"{field}.kty", f"is {value.get('kty')!r}", "RSA or EC")
    try:
        return kind.import_key(value).public_key  # type: ignore[attr-defined]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise field_error(
            field, f"is not a readable {kind.__name__} JWK ({exc})", ALLOWED
        ) from None


def _described(key: Any, field: str) -> ParsedPublicKey:
    if isinstance(key, rsa.RSAPublicKey):
        if not MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
            raise field_error(field, f"is an RSA key of {key.key_size} bits", ALLOWED)
        if key.public_numbers().e != RSA_EXPONENT:
            raise field_error(
                field, f"is an RSA key with the exponent {key.public_numbers().e}", ALLOWED
            )
        algorithm = RSA_ALGORITHM
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in _CURVES:
            raise field_error(field, f"is an EC key on the curve {key.curve.name}", ALLOWED)
        algorithm = EC_ALGORITHM
    else:
        raise field_error(field, f"is a {type(key).__name__.lstrip('_')}", ALLOWED)
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    digest = base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
    return ParsedPublicKey(pem=pem, fingerprint=f"SHA256:{digest}", algorithm=algorithm)
