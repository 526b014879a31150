"""Token signing key operations (``keyhook.oidc.v1.KeyService``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from keyhook.api.messages import Message
from keyhook.api.registry import Operation, Registry
from keyhook.command.oidc_keys import rotate_signing_key
from keyhook.command.writer import Writer
from keyhook.domain.caller import Caller
from keyhook.domain.durations import parse_duration

KEYS = "/keyhook.oidc.v1.KeyService/"


class RotateSigningKeyRequest(Message):
    # How long the retired key stays in the JWKS, e.g. "43200s" (the default, 12 h).
    publish_old_for: str | None = Field(None, max_length=40)


def register(registry: Registry, writer: Writer) -> None:
    async def rotate(caller: Caller, req: RotateSigningKeyRequest) -> dict[str, Any]:
        window = (
            None
            if req.publish_old_for is None
            else parse_duration(req.publish_old_for, "publishOldFor")
        )
        return await rotate_signing_key(writer, caller, window)

    registry.add(
        Operation(
            KEYS + "RotateSigningKey",
            (("POST", "/v2/oidc/keys/rotate"),),
            RotateSigningKeyRequest,
            rotate,
            "Rotate the token signing key: a new key signs from now on; the old one stays "
            "published (publishOldFor; by default the longest access or ID token lifetime) so "
            "its tokens keep verifying",
            permission="iam.web_key.write",
        )
    )
