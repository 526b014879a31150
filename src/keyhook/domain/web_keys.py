"""Web keys: the key types an instance may sign its tokens with (ZITADEL's WebKeyService).

A web key is RSA (2048, 3072 or 4096 bits, hashed with SHA-256, -384 or -512: RS256,
RS384, RS512), ECDSA (P-256, P-384 or P-521: ES256, ES384, ES512) or Ed25519 (EdDSA).
The wire names are ZITADEL's enums (``RSA_BITS_2048``, ``RSA_HASHER_SHA256``,
``ECDSA_CURVE_P256``; ZITADEL calls P-521 ``ECDSA_CURVE_P512``); a key's type is kept
in that form (``{"rsa": {"bits": …, "hasher": …}}``) so ListWebKeys answers it as it was
asked. No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keyhook.errors import field_error

RSA_BITS = {"RSA_BITS_2048": 2048, "RSA_BITS_3072": 3072, "RSA_BITS_4096": 4096}
RSA_HASHERS = {
    "RSA_HASHER_SHA256": "RS256",
    "RSA_HASHER_SHA384": "RS384",
    "RSA_HASHER_SHA512": "RS512",
}
# ZITADEL's enum name, the JOSE curve name, the JWS algorithm.
ECDSA_CURVES = {
    "ECDSA_CURVE_P256": ("P-256", "ES256"),
    "ECDSA_CURVE_P384": ("P-384", "ES384"),
    "ECDSA_CURVE_P512": ("P-521", "ES512"),
}
# The JWS algorithms a web key can sign with, the order discovery lists them in.
ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA")
# OpenID Connect Registration §2: the ID token algorithm of a client that registered none.
DEFAULT_ID_TOKEN_ALG = "RS256"  # noqa: S105 -- an algorithm name

INITIAL, ACTIVE, INACTIVE = "initial", "active", "inactive"
STATES = {INITIAL: "STATE_INITIAL", ACTIVE: "STATE_ACTIVE", INACTIVE: "STATE_INACTIVE"}


@dataclass(frozen=True)
class KeySpec:
    """One key type: what to generate and the algorithm it signs with."""

    kind: str  # rsa, ecdsa or ed25519
    algorithm: str
    bits: int = 0  # RSA
    curve: str = ""  # ECDSA, the JOSE name

    def config(self) -> dict[str, Any]:
        """The type in ZITADEL's wire form, as ListWebKeys answers it."""
        if self.kind == "rsa":
            bits = next(k for k, v in RSA_BITS.items() if v == self.bits)
            hasher = next(k for k, v in RSA_HASHERS.items() if v == self.algorithm)
            return {"rsa": {"bits": bits, "hasher": hasher}}
        if self.kind == "ecdsa":
            curve = next(k for k, v in ECDSA_CURVES.items() if v[0] == self.curve)
            return {"ecdsa": {"curve": curve}}
        return {"ed25519": {}}


def _enum(field: str, value: object, table: Mapping[str, Any], default: str) -> str:
    """An enum given by name or by number (protobuf JSON allows both); 0 or absent is the
    default."""
    names = [*table]
    if (
        value is None
        or value in (0, "0")
        or (isinstance(value, str) and value.endswith("_UNSPECIFIED"))
    ):
        return default
    if isinstance(value, str) and value in table:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= len(names):
        return names[value - 1]
    if isinstance(value, str) and value.isdigit() and 1 <= int(value) <= len(names):
        return names[int(value) - 1]
    raise field_error(field, f"{value!r} is not known", ", ".join(names))


def key_spec(
    rsa: Mapping[str, Any] | None = None,
    ecdsa: Mapping[str, Any] | None = None,
    ed25519: Mapping[str, Any] | None = None,
) -> KeySpec:
    """The key a CreateWebKey request asks for: at most one of its types; none is RSA
    2048 with SHA-256, as in ZITADEL."""
    given = [
        name for name, v in (("rsa", rsa), ("ecdsa", ecdsa), ("ed25519", ed25519)) if v is not None
    ]
    if len(given) > 1:
        raise field_error(
            "key", f"gives {' and '.join(given)}", "at most one of rsa, ecdsa, ed25519"
        )
    if ecdsa is not None:
        curve = _enum("ecdsa.curve", ecdsa.get("curve"), ECDSA_CURVES, "ECDSA_CURVE_P256")
        jose_curve, algorithm = ECDSA_CURVES[curve]
        return KeySpec("ecdsa", algorithm, curve=jose_curve)
    if ed25519 is not None:
        return KeySpec("ed25519", "EdDSA")
    rsa = rsa or {}
    bits = _enum("rsa.bits", rsa.get("bits"), RSA_BITS, "RSA_BITS_2048")
    hasher = _enum("rsa.hasher", rsa.get("hasher"), RSA_HASHERS, "RSA_HASHER_SHA256")
    return KeySpec("rsa", RSA_HASHERS[hasher], bits=RSA_BITS[bits])


def spec_from_config(config: Mapping[str, Any]) -> KeySpec:
    """The type of a stored key, from its wire form."""
    return key_spec(config.get("rsa"), config.get("ecdsa"), config.get("ed25519"))


def spec_for_algorithm(algorithm: str) -> KeySpec:
    """The key Keyhook makes when a token must be signed with ``algorithm`` and the
    instance has no usable key of it: the smallest of its kind (RSA 2048 bits)."""
    if algorithm.startswith("RS"):
        return KeySpec("rsa", algorithm, bits=2048)
    if algorithm == "EdDSA":
        return KeySpec("ed25519", "EdDSA")
    curve = next(c for c, a in ECDSA_CURVES.values() if a == algorithm)
    return KeySpec("ecdsa", algorithm, curve=curve)


def check_algorithm(field: str, value: str | None) -> str | None:
    """A signing algorithm a client or setting names (None or empty: not given)."""
    if not value:
        return None
    if value not in ALGORITHMS:
        raise field_error(field, f"{value!r} is not supported", ", ".join(ALGORITHMS))
    return value
