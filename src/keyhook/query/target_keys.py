"""A target's public keys as ListPublicKeys shows them (ZITADEL's ``PublicKey``)."""

from __future__ import annotations

import base64
from typing import Any

from keyhook.clock import aware, iso, now
from keyhook.domain.caller import Caller
from keyhook.errors import NotFound
from keyhook.storage.database import Database


def key_to_wire(row: Any) -> dict[str, Any]:
    expires = None if row.expires_at is None else aware(row.expires_at)
    wire: dict[str, Any] = {
        "keyId": row.id,
        # Used for encryption: active and not expired (an expired key is used no more).
        "active": bool(row.active) and (expires is None or expires > now()),
        # protobuf JSON writes ZITADEL's bytes field as base64: here, of the PEM text.
        "publicKey": base64.b64encode(row.public_key_pem.encode()).decode(),
        "fingerprint": row.fingerprint,
        "creationDate": iso(row.created_at),
        "changeDate": iso(row.changed_at),
        "algorithm": row.algorithm,  # Keyhook's: the JWE "alg" payloads are encrypted with
    }
    if expires is not None:
        wire["expirationDate"] = iso(expires)
    return wire


class TargetKeyQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(self, caller: Caller, target_id: str) -> dict[str, Any]:
        params = {"id": target_id, "instance_id": caller.instance_id}
        async with self.db.read() as conn:
            found = (
                await conn.execute(
                    "SELECT id FROM targets WHERE id = :id AND instance_id = :instance_id", params
                )
            ).first()
            if found is None:
                raise NotFound(
                    f"target {target_id} does not exist",
                    details=[{"field": "targetId", "problem": "unknown"}],
                )
            rows = await conn.execute(
                "SELECT * FROM target_public_keys WHERE target_id = :id "
                "AND instance_id = :instance_id ORDER BY created_at, id",
                params,
            )
            return {"publicKeys": [key_to_wire(r) for r in rows]}
