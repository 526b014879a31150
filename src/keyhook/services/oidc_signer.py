"""Signing and verifying the provider's JWTs (ID tokens, JWT access tokens).

The active signing key is unsealed once and kept for :data:`KEY_TTL` seconds, so
a token costs one ECDSA signature rather than a database read and an AES open;
after a rotation (possibly on another node) new tokens carry the new ``kid``
within that time. Verification uses the published key set (active keys and
retired ones still in their window), cached the same way.

ES256 tokens are signed with ``cryptography`` and orjson directly (RFC 7515's
compact form: the header and claims as compact JSON, base64url without padding,
the signature as r and s of 32 bytes each): joserfc's own JSON, key checks and
base64 were a third of a token's signing time. Claims orjson cannot encode (an
integer beyond 64 bits) go through joserfc as before; verification always does.

A resource server introspects the same access token on every call it receives, so
a verified token is remembered (the :data:`VERIFIED_SIZE` most recently used, by
its exact text, with its ``kid``): presented again, it costs a dictionary look-up
instead of an ECDSA verification, for as long as its key is still published.
Expiry is checked on every use, and revocation is the caller's (the token's row).
"""

from __future__ import annotations

import base64
import time
from collections import OrderedDict
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from keyhook.crypto.secretbox import SecretBox
from keyhook.query.oidc_keys import published_jwks, signing_key
from keyhook.storage.database import Database

KEY_TTL = 1.0
VERIFIED_SIZE = 1024


class InvalidToken(Exception):
    """A JWT that is malformed, not signed by a published key, or expired."""


class TokenSigner:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box
        self._signing: tuple[float, str, str, ECKey] | None = None
        self._published: tuple[float, KeySet] | None = None
        # token text -> (kid, typ, claims), least recently used first
        self._verified: OrderedDict[str, tuple[str, object, dict[str, Any]]] = OrderedDict()

    async def _key(self) -> tuple[str, str, ECKey]:
        moment = time.monotonic()
        if self._signing is None or moment - self._signing[0] > KEY_TTL:
            kid, algorithm, key = await signing_key(self.db, self.box)
            self._signing = (moment, kid, algorithm, key)
        _, kid, algorithm, key = self._signing
        return kid, algorithm, key

    async def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        """A signed JWT; access tokens say ``typ: at+jwt`` (RFC 9068 §2.1), so one is
        never taken for an ID token."""
        kid, algorithm, key = await self._key()
        header = {"alg": algorithm, "kid": kid, "typ": typ}
        if algorithm == "ES256":
            try:
                return _es256(header, claims, key.private_key)
            except orjson.JSONEncodeError:
                pass  # e.g. an integer beyond 64 bits from a function's claims
        return jwt.encode(header, claims, key)

    async def _key_set(self, kid: str | None) -> KeySet:
        moment = time.monotonic()
        cached = self._published
        stale = cached is None or moment - cached[0] > KEY_TTL
        if not stale and kid is not None and cached is not None:
            stale = all(k.kid != kid for k in cached[1].keys)  # a key newer than the cache
        if stale or cached is None:
            keys = KeySet.import_key_set(await published_jwks(self.db))  # type: ignore[arg-type]
            self._published = cached = (moment, keys)
        return cached[1]

    async def verify(
        self, token: str, *, check_expiry: bool = True, typ: str | None = None
    ) -> dict[str, Any]:
        """The claims of a JWT this provider signed (of header type ``typ`` when given);
        :class:`InvalidToken` otherwise."""
        token_typ, claims = await self._remembered(token) or await self._verified_claims(token)
        if typ is not None and token_typ != typ:
            raise InvalidToken(f"the token is not of type {typ}")
        if check_expiry:
            exp = claims.get("exp")
            if not isinstance(exp, int | float) or exp <= time.time():
                raise InvalidToken("the token has expired")
        return claims

    async def _remembered(self, token: str) -> tuple[object, dict[str, Any]] | None:
        """The header type and claims of a token verified before, if its key is still
        published."""
        entry = self._verified.get(token)
        if entry is None:
            return None
        kid = entry[0]
        keys = await self._key_set(kid)  # may wait: others may drop the entry meanwhile
        if all(key.kid != kid for key in keys.keys):
            self._verified.pop(token, None)  # its key was retired since
            return None
        if token in self._verified:
            self._verified.move_to_end(token)
        return entry[1], dict(entry[2])

    async def _verified_claims(self, token: str) -> tuple[object, dict[str, Any]]:
        try:
            header = _header(token)
            kid = header.get("kid")
            keys = await self._key_set(kid)
            decoded = jwt.decode(token, keys, algorithms=["ES256"])
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise InvalidToken(f"the token is not a valid JWT of this issuer ({exc})") from None
        claims = dict(decoded.claims)
        if isinstance(kid, str):  # joserfc picked the key by it: it is the signer's
            self._verified[token] = (kid, header.get("typ"), claims)
            if len(self._verified) > VERIFIED_SIZE:
                self._verified.popitem(last=False)
        return header.get("typ"), dict(claims)


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _es256(header: dict[str, Any], claims: dict[str, Any], key: Any) -> str:
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("ES256 needs a P-256 private key")
    signing_input = _b64(orjson.dumps(header)) + b"." + _b64(orjson.dumps(claims))
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return (signing_input + b"." + _b64(signature)).decode()


def _header(token: str) -> dict[str, Any]:
    """The JOSE header, read before verifying only to pick the key by ``kid``."""
    first = token.split(".", 1)[0]
    padded = first + "=" * (-len(first) % 4)
    header = orjson.loads(base64.urlsafe_b64decode(padded))
    if not isinstance(header, dict):
        raise ValueError("the JWT header is not an object")
    return header
