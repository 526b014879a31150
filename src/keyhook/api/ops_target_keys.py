"""A target's public keys (``zitadel.action.v2.ActionService``'s AddPublicKey,
ActivatePublicKey, DeactivatePublicKey, RemovePublicKey, ListPublicKeys): what a
``PAYLOAD_TYPE_JWE`` target's payloads are encrypted to (docs/api.md, "Payload
types").

Changing keys is changing the target: the operations are in the recovery set,
as UpdateTarget is, so a broken execution never stands between an administrator
and a target's keys.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from keyhook.api.messages import ID_PATTERN, Id, Message, Moment
from keyhook.api.registry import Operation, Registry
from keyhook.command.target_keys import TargetKeyCommands
from keyhook.command.writer import Writer
from keyhook.domain.caller import Caller
from keyhook.query.target_keys import TargetKeyQueries

SERVICE = "/zitadel.action.v2.ActionService/"
_KEY = (
    "an RSA (2048 to 8192 bits, exponent 65537) or EC (P-256, P-384, P-521) public key: "
    "PEM text, base64 of the PEM (as protobuf JSON writes ZITADEL's bytes field), or a "
    "public JWK object"
)


class AddPublicKeyRequest(Message):
    target_id: Id
    public_key: str | dict[str, Any] = Field(description=_KEY)
    expiration_date: Moment | None = Field(
        None,
        description="after this time the key is used no more (calls to a JWE target then "
        "fail until another key is active); none: it does not expire",
    )


class TargetKeyRequest(Message):
    target_id: Id
    key_id: str = Field(pattern=ID_PATTERN)


class ListPublicKeysRequest(Message):
    target_id: Id


def register(registry: Registry, writer: Writer) -> None:
    commands = TargetKeyCommands(writer)
    queries = TargetKeyQueries(writer.db)

    async def add(caller: Caller, req: AddPublicKeyRequest) -> dict[str, Any]:
        return await commands.add(caller, req.target_id, req.public_key, req.expiration_date)

    async def activate(caller: Caller, req: TargetKeyRequest) -> dict[str, Any]:
        return await commands.activate(caller, req.target_id, req.key_id)

    async def deactivate(caller: Caller, req: TargetKeyRequest) -> dict[str, Any]:
        return await commands.deactivate(caller, req.target_id, req.key_id)

    async def remove(caller: Caller, req: TargetKeyRequest) -> dict[str, Any]:
        return await commands.remove(caller, req.target_id, req.key_id)

    async def list_keys(caller: Caller, req: ListPublicKeysRequest) -> dict[str, Any]:
        return await queries.list(caller, req.target_id)

    keys = "/v2/actions/targets/{targetId}/publickeys"
    for op in (
        Operation(
            SERVICE + "AddPublicKey",
            (("POST", keys),),
            AddPublicKeyRequest,
            add,
            "Add a public key (inactive) that the target's JWE payloads can be encrypted to",
            changes_actions=True,
            recovery=True,
            permission="action.target.write",
        ),
        Operation(
            SERVICE + "ActivatePublicKey",
            (("POST", f"{keys}/{{keyId}}/activate"),),
            TargetKeyRequest,
            activate,
            "Make a public key the one JWE payloads are encrypted to (the one active before "
            "is deactivated)",
            changes_actions=True,
            recovery=True,
            permission="action.target.write",
        ),
        Operation(
            SERVICE + "DeactivatePublicKey",
            (("POST", f"{keys}/{{keyId}}/deactivate"),),
            TargetKeyRequest,
            deactivate,
            "Stop encrypting to a public key (calls to a JWE target then fail until another "
            "key is activated)",
            changes_actions=True,
            recovery=True,
            permission="action.target.write",
        ),
        Operation(
            SERVICE + "RemovePublicKey",
            (("DELETE", f"{keys}/{{keyId}}"),),
            TargetKeyRequest,
            remove,
            "Remove an inactive public key",
            changes_actions=True,
            recovery=True,
            permission="action.target.write",
        ),
        Operation(
            SERVICE + "ListPublicKeys",
            (("POST", f"{keys}/search"),),
            ListPublicKeysRequest,
            list_keys,
            "List a target's public keys, which is active and when each expires",
            recovery=True,
            permission="action.target.read",
        ),
    ):
        registry.add(op)
