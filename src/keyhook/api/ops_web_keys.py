"""Web keys (``zitadel.webkey.v2.WebKeyService``) and the signing key rotation
(``keyhook.oidc.v1.KeyService``).

ZITADEL's proto gives REST paths to ListWebKeys (``GET /v2/web_keys``) and
DeleteWebKey (``DELETE /v2/web_keys/{id}``) only; CreateWebKey and ActivateWebKey
are reachable at their full method names (the Connect form) and, Keyhook's own, at
``POST /v2/web_keys`` and ``POST /v2/web_keys/{id}/activate``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from keyhook.api.messages import Message
from keyhook.api.registry import Operation, Registry
from keyhook.command.oidc_keys import (
    activate_web_key,
    create_web_key,
    delete_web_key,
    rotate_signing_key,
)
from keyhook.command.writer import Writer
from keyhook.domain.caller import Caller
from keyhook.domain.durations import parse_duration
from keyhook.domain.web_keys import KeySpec, key_spec
from keyhook.query.oidc_keys import list_web_keys

KEYS = "/keyhook.oidc.v1.KeyService/"
WEB_KEYS = "/zitadel.webkey.v2.WebKeyService/"

# Enums by name (RSA_BITS_2048) or number (1), as protobuf JSON allows.
Enum = str | int | None


class RotateSigningKeyRequest(Message):
    # How long the retired key stays in the JWKS, e.g. "43200s" (the default, 12 h).
    publish_old_for: str | None = Field(None, max_length=40)


class Rsa(Message):
    bits: Enum = Field(None, description="RSA_BITS_2048 (default), RSA_BITS_3072, RSA_BITS_4096")
    hasher: Enum = Field(
        None, description="RSA_HASHER_SHA256 (default, RS256), RSA_HASHER_SHA384, RSA_HASHER_SHA512"
    )


class Ecdsa(Message):
    curve: Enum = Field(
        None, description="ECDSA_CURVE_P256 (default, ES256), ECDSA_CURVE_P384, ECDSA_CURVE_P512"
    )


class Ed25519(Message):
    pass


class CreateWebKeyRequest(Message):
    # At most one; none: RSA 2048 bits with SHA-256 (RS256), as in ZITADEL.
    rsa: Rsa | None = None
    ecdsa: Ecdsa | None = None
    ed25519: Ed25519 | None = None


class WebKeyIdRequest(Message):
    id: str = Field(min_length=1, max_length=200)


class ListWebKeysRequest(Message):
    pass


def _spec(req: CreateWebKeyRequest) -> KeySpec:
    return key_spec(
        None if req.rsa is None else req.rsa.model_dump(),
        None if req.ecdsa is None else req.ecdsa.model_dump(),
        None if req.ed25519 is None else {},
    )


def _check_create(req: CreateWebKeyRequest) -> None:
    _spec(req)


def register(registry: Registry, writer: Writer) -> None:
    async def rotate(caller: Caller, req: RotateSigningKeyRequest) -> dict[str, Any]:
        window = (
            None
            if req.publish_old_for is None
            else parse_duration(req.publish_old_for, "publishOldFor")
        )
        return await rotate_signing_key(writer, caller, window)

    async def create(caller: Caller, req: CreateWebKeyRequest) -> dict[str, Any]:
        return await create_web_key(writer, caller, _spec(req))

    async def activate(caller: Caller, req: WebKeyIdRequest) -> dict[str, Any]:
        return await activate_web_key(writer, caller, req.id)

    async def delete(caller: Caller, req: WebKeyIdRequest) -> dict[str, Any]:
        return await delete_web_key(writer, caller, req.id)

    async def list_keys(caller: Caller, _: ListWebKeysRequest) -> dict[str, Any]:
        return await list_web_keys(writer.db, caller.instance_id)

    registry.add(
        Operation(
            KEYS + "RotateSigningKey",
            (("POST", "/v2/oidc/keys/rotate"),),
            RotateSigningKeyRequest,
            rotate,
            "Rotate the token signing key: a new key of the active key's type signs from now "
            "on; the old one stays published (publishOldFor; by default the longest access or "
            "ID token lifetime) so its tokens keep verifying",
            permission="iam.web_key.write",
        )
    )
    registry.add(
        Operation(
            WEB_KEYS + "CreateWebKey",
            (("POST", "/v2/web_keys"),),
            CreateWebKeyRequest,
            create,
            "Create a web key (RSA, ECDSA or Ed25519; none given: RSA 2048 with SHA-256) in "
            "state initial: published at /oauth/v2/keys, signing once activated",
            check=_check_create,
            permission="iam.web_key.write",
        )
    )
    registry.add(
        Operation(
            WEB_KEYS + "ActivateWebKey",
            (("POST", "/v2/web_keys/{id}/activate"),),
            WebKeyIdRequest,
            activate,
            "Make a web key the signing key; the key active before becomes inactive and stays "
            "published for the longest token lifetime",
            permission="iam.web_key.write",
        )
    )
    registry.add(
        Operation(
            WEB_KEYS + "DeleteWebKey",
            (("DELETE", "/v2/web_keys/{id}"),),
            WebKeyIdRequest,
            delete,
            "Delete a web key that is not active (its tokens stop verifying); an unknown key "
            "is no error",
            permission="iam.web_key.delete",
        )
    )
    registry.add(
        Operation(
            WEB_KEYS + "ListWebKeys",
            (("GET", "/v2/web_keys"),),
            ListWebKeysRequest,
            list_keys,
            "List the web keys and their states (initial, active, inactive)",
            permission="iam.web_key.read",
        )
    )
