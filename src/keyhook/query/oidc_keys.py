"""Reading token signing keys: the published JWKS and the key that signs now.

Keyhook runs one instance per deployment (DESIGN.md §1); ``instance_id`` may
be left out to read that instance's keys.
"""

from __future__ import annotations

from typing import Any

import orjson
from joserfc.jwk import ECKey

from keyhook.clock import aware, now
from keyhook.crypto.secretbox import SecretBox
from keyhook.errors import Internal
from keyhook.query.paging import Search
from keyhook.storage.connection import Connection, Result
from keyhook.storage.database import Database

_PUBLISHED = "SELECT id, algorithm, public_jwk, active, retired_until FROM oidc_signing_keys"
_SIGNING = "SELECT id, algorithm, private_key_sealed FROM oidc_signing_keys"


async def _newest_first(conn: Connection, search: Search, instance_id: str | None) -> Result:
    """The keys ``search`` matches, of every instance or only ``instance_id``'s."""
    if instance_id is not None:
        search.where("instance_id = :instance_id", instance_id=instance_id)
    return await conn.execute(f"{search.sql} ORDER BY created_at DESC, id", search.params)


async def _published(conn: Connection, instance_id: str | None) -> list[dict[str, Any]]:
    moment = now()
    keys = []
    for row in await _newest_first(conn, Search(_PUBLISHED), instance_id):
        if not row.active and (row.retired_until is None or aware(row.retired_until) <= moment):
            continue
        jwk = orjson.loads(row.public_jwk)
        jwk.pop("d", None)  # never published, even if a stored key carried it
        keys.append({**jwk, "kid": row.id, "alg": row.algorithm, "use": "sig"})
    return keys


async def published_jwks(db: Database, instance_id: str | None = None) -> dict[str, Any]:
    """``{"keys": [...]}``: the active keys and retired ones still within their window.

    Newest first, so the key that signs now leads the set.
    """
    async with db.read() as conn:
        return {"keys": await _published(conn, instance_id)}


async def signing_key(
    db: Database, box: SecretBox, instance_id: str | None = None
) -> tuple[str, str, ECKey]:
    """(kid, algorithm, private joserfc key) of the newest active key, opened with ``box``."""
    async with db.read() as conn:
        row = (await _newest_first(conn, Search(_SIGNING).where("active"), instance_id)).first()
    if row is None:
        raise Internal("the instance has no active token signing key")
    private = orjson.loads(box.open(row.private_key_sealed))
    return str(row.id), str(row.algorithm), ECKey.import_key(private)
