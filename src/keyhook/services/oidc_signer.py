"""Signing and verifying the provider's JWTs (ID tokens, JWT access tokens).

The signing keys (the active web key and the initial ones) are unsealed once and kept
for :data:`KEY_TTL` seconds, so a token costs one signature rather than a database
read and an AES open; after an activation (possibly on another node) new tokens carry
the new ``kid`` within that time. Verification uses the published key set (the keys
of every state whose tokens still verify), cached the same way.

Every algorithm signs with ``cryptography`` and orjson directly (RFC 7515's compact
form: the header and claims as compact JSON, base64url without padding; an ECDSA
signature as r and s of the curve's size each, RFC 7518 §3.4): joserfc's own JSON, key
checks and base64 were a third of an ES256 token's signing time. Claims orjson cannot
encode (an integer beyond 64 bits) go through joserfc as before; verification always
does.

A token is signed by the active key unless the caller asks for another algorithm (an
ID token for a client whose ``id_token_signed_response_alg`` differs): then by the
newest initial key of that algorithm, which is published as well; an instance with no
such key gets one made (``make_key``, :func:`keyhook.command.oidc_keys.ensure_algorithm_key`).

A resource server introspects the same access token on every call it receives, so
a verified token is remembered (the :data:`VERIFIED_SIZE` most recently used, by
its exact text, with its ``kid``): presented again, it costs a dictionary look-up
instead of a signature verification, for as long as its key is still published.
Expiry is checked on every use, and revocation is the caller's (the token's row).
"""

from __future__ import annotations

import base64
import time
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc import jwt
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import KeySet

from keyhook.crypto.secretbox import SecretBox
from keyhook.domain.web_keys import ALGORITHMS
from keyhook.errors import Internal
from keyhook.query.oidc_keys import PrivateKey, SealedKey, published_jwks, sealed_signing_keys
from keyhook.storage.database import Database

KEY_TTL = 1.0
VERIFIED_SIZE = 1024
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}


class InvalidToken(Exception):
    """A JWT that is malformed, not signed by a published key, or expired."""


@dataclass(frozen=True)
class Key:
    """A key that may sign now: the active one or an initial one."""

    kid: str
    algorithm: str
    active: bool
    jwk: PrivateKey  # for joserfc's fallback
    private: Any  # the cryptography private key


class TokenSigner:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        make_key: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        self.db = db
        self.box = box
        self.make_key = make_key
        # (read at, the keys that may sign, still sealed); the ones used, opened, by kid
        self._signing: tuple[float, list[SealedKey]] | None = None
        self._opened: dict[str, Key] = {}
        self._published: tuple[float, KeySet] | None = None
        # token text -> (kid, typ, claims), least recently used first
        self._verified: OrderedDict[str, tuple[str, object, dict[str, Any]]] = OrderedDict()

    async def _keys(self, fresh: bool = False) -> list[SealedKey]:
        moment = time.monotonic()
        if fresh or self._signing is None or moment - self._signing[0] > KEY_TTL:
            keys = await sealed_signing_keys(self.db)
            self._signing = (moment, keys)
            if len(self._opened) > 4 * len(keys) + 16:  # keys deleted or activated since
                current = {(k.kid, k.state == "active") for k in keys}
                self._opened = {
                    kid: key for kid, key in self._opened.items() if (kid, key.active) in current
                }
        return self._signing[1]

    def _open(self, sealed: SealedKey) -> Key:
        active = sealed.state == "active"
        key = self._opened.get(sealed.kid)
        if key is None or key.active != active:
            opened = sealed.open(self.box)
            key = Key(sealed.kid, sealed.algorithm, active, opened.key, opened.key.private_key)
            self._opened[sealed.kid] = key
        return key

    async def key(self, algorithm: str | None = None) -> Key:
        """The key a token of ``algorithm`` is signed with (None: the active key's)."""
        found = _pick(await self._keys(), algorithm)
        if found is None and algorithm is not None and self.make_key is not None:
            await self.make_key(algorithm)
            found = _pick(await self._keys(fresh=True), algorithm)
        if found is not None:
            return self._open(found)
        raise Internal(
            "the instance has no active token signing key"
            if algorithm is None
            else f"the instance has no {algorithm} signing key"
        )

    async def sign(
        self, claims: dict[str, Any], typ: str = "JWT", algorithm: str | None = None
    ) -> str:
        """A signed JWT of header type ``typ`` (ZITADEL's ``JWT``; RFC 9068's access
        tokens say ``at+jwt``), by the active key or one of ``algorithm``."""
        return self.signed(await self.key(algorithm), claims, typ)

    def signed(self, key: Key, claims: dict[str, Any], typ: str = "JWT") -> str:
        header = {"alg": key.algorithm, "kid": key.kid, "typ": typ}
        try:
            return _compact(header, claims, key.algorithm, key.private)
        except orjson.JSONEncodeError:
            pass  # e.g. an integer beyond 64 bits from a function's claims
        return jwt.encode(header, claims, key.jwk, algorithms=[key.algorithm])

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
        self,
        token: str,
        *,
        check_expiry: bool = True,
        typ: str | tuple[str, ...] | None = None,
    ) -> dict[str, Any]:
        """The claims of a JWT this provider signed (of header type ``typ``, or one of
        them, when given); :class:`InvalidToken` otherwise."""
        token_typ, claims = await self._remembered(token) or await self._verified_claims(token)
        allowed = (typ,) if isinstance(typ, str) else typ
        if allowed is not None and token_typ not in allowed:
            raise InvalidToken(f"the token is not of type {' or '.join(allowed)}")
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
            if header.get("alg") == "EdDSA":
                # ZITADEL's name for Ed25519 signatures; joserfc prefers RFC 9864's "Ed25519".
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", SecurityWarning)
                    decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
            else:
                decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise InvalidToken(f"the token is not a valid JWT of this issuer ({exc})") from None
        claims = dict(decoded.claims)
        if isinstance(kid, str):  # joserfc picked the key by it: it is the signer's
            self._verified[token] = (kid, header.get("typ"), claims)
            if len(self._verified) > VERIFIED_SIZE:
                self._verified.popitem(last=False)
        return header.get("typ"), dict(claims)


def _pick(keys: list[SealedKey], algorithm: str | None) -> SealedKey | None:
    if not keys:
        return None
    active = keys[0].state == "active"
    if algorithm is None or (active and keys[0].algorithm == algorithm):
        return keys[0] if active else None
    return next((k for k in keys if k.algorithm == algorithm), None)


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _signature(algorithm: str, key: Any, signing_input: bytes) -> bytes:
    if algorithm == "EdDSA":
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ValueError("EdDSA needs an Ed25519 private key")
        return key.sign(signing_input)
    digest = _HASHES[algorithm[2:]]()
    if algorithm.startswith("RS"):
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{algorithm} needs an RSA private key")
        return key.sign(signing_input, padding.PKCS1v15(), digest)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{algorithm} needs an EC private key")
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(digest)))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _compact(header: dict[str, Any], claims: dict[str, Any], algorithm: str, key: Any) -> str:
    signing_input = _b64(orjson.dumps(header)) + b"." + _b64(orjson.dumps(claims))
    return (signing_input + b"." + _b64(_signature(algorithm, key, signing_input))).decode()


def _header(token: str) -> dict[str, Any]:
    """The JOSE header, read before verifying only to pick the key by ``kid``."""
    first = token.split(".", 1)[0]
    padded = first + "=" * (-len(first) % 4)
    header = orjson.loads(base64.urlsafe_b64decode(padded))
    if not isinstance(header, dict):
        raise ValueError("the JWT header is not an object")
    return header
