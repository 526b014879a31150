"""A call's body in the target's payload type (ZITADEL v4's ``payloadType``).

- ``PAYLOAD_TYPE_JSON``: the JSON payload as it is (nothing is done per call).
- ``PAYLOAD_TYPE_JWT``: a compact JWS whose claims are exactly that JSON payload,
  signed by the instance's active token signing key (header ``alg``, ``kid``,
  ``typ: JWT``), verifiable with the JWKS at ``/oauth/v2/keys``.
- ``PAYLOAD_TYPE_JWE``: that JWT encrypted to the target's active public key, as
  a compact JWE (``alg`` RSA-OAEP-256 or ECDH-ES+A256KW by key type, ``enc``
  A256GCM, ``kid`` the key's id, ``typ: JWT``, ``cty: JWT``: a nested JWT).

The HMAC signature headers are computed over these bytes, the ones sent. A body
that cannot be made (no active key, no signing key) is a :class:`PayloadError`:
the call is not sent at all, never sent in the clear instead.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson
from joserfc import jwe
from joserfc.jwk import ECKey, RSAKey

from keyhook.clock import now
from keyhook.crypto.public_keys import EC_ALGORITHM, RSA_ALGORITHM
from keyhook.domain.target import EncryptionKey, PayloadType, Target

CONTENT_ENCRYPTION = "A256GCM"
_REGISTRY = jwe.JWERegistry(algorithms=[RSA_ALGORITHM, EC_ALGORITHM, CONTENT_ENCRYPTION])


class PayloadSigner(Protocol):
    """What signs a JWT payload: the OIDC provider's token signer (its keys are the
    JWKS at ``/oauth/v2/keys``)."""

    async def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str: ...


class PayloadError(Exception):
    """A body that could not be made in the target's payload type; nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PayloadSealer:
    def __init__(self, signer: PayloadSigner | None = None) -> None:
        self.signer = signer
        self._keys: dict[tuple[str, str], RSAKey | ECKey] = {}  # (key id, PEM) -> key

    async def body(self, target: Target, body: bytes) -> bytes:
        """``body`` (the JSON payload) as ``target`` is to receive it."""
        if target.payload_type is PayloadType.JSON:
            return body
        key = None
        if target.payload_type is PayloadType.JWE:
            key = target.encryption_key
            if key is None or not key.usable(now()):
                raise PayloadError(
                    f"target {target.name!r} has payloadType PAYLOAD_TYPE_JWE but no active "
                    "public key (none activated, or the active one expired): nothing was sent; "
                    f"add and activate one (POST /v2/actions/targets/{target.id}/publickeys, "
                    "then …/publickeys/{keyId}/activate)"
                )
        token = await self._signed(target, body)
        if key is None:
            return token
        return self._encrypted(target, key, token)

    async def _signed(self, target: Target, body: bytes) -> bytes:
        if self.signer is None:
            raise PayloadError(
                f"target {target.name!r} has payloadType {target.payload_type.value}, and this "
                "process has no token signer to sign its payload"
            )
        try:
            return (await self.signer.sign(orjson.loads(body), "JWT")).encode()
        except Exception as exc:  # the target's error, with the reason, never a crash
            raise PayloadError(
                f"target {target.name!r}: the payload could not be signed with the instance's "
                f"token signing key ({type(exc).__name__}: {exc})"
            ) from exc

    def _encrypted(self, target: Target, key: EncryptionKey, token: bytes) -> bytes:
        try:
            public = self._keys.get((key.id, key.pem))
            if public is None:
                kind = RSAKey if key.algorithm == RSA_ALGORITHM else ECKey
                public = kind.import_key(key.pem)
                if len(self._keys) > 1024:
                    self._keys.clear()
                self._keys[(key.id, key.pem)] = public
            header = {
                "alg": key.algorithm,
                "enc": CONTENT_ENCRYPTION,
                "kid": key.id,
                "typ": "JWT",
                "cty": "JWT",
            }
            return jwe.encrypt_compact(header, token, public, registry=_REGISTRY).encode()
        except Exception as exc:
            raise PayloadError(
                f"target {target.name!r}: the payload could not be encrypted to public key "
                f"{key.id} ({type(exc).__name__}: {exc})"
            ) from exc
