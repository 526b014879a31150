"""Reading token signing keys: the published JWKS and the key that signs now.

Keyhook runs one instance per deployment (DESIGN.md §1); ``instance_id`` may
be left out to read that instance's keys.
"""

from __future__ import annotations

from typing import Any

import orjson
from joserfc.jwk import ECKey
from sqlalchemy import Select, select
from keyhook.storage.connection import Connection

from keyhook.clock import aware, now
from keyhook.crypto.secretbox import SecretBox
from keyhook.errors import Internal
from keyhook.storage import schema as t
from keyhook.storage.database import Database

_K = t.oidc_signing_keys


def _for_instance(query: Select[Any], instance_id: str | None) -> Select[Any]:
    return query if instance_id is None else query.where(_K.c.instance_id == instance_id)


async def _published(conn: Connection, instance_id: str | None) -> list[dict[str, Any]]:
    query = _for_instance(
        select(_K.c.id, _K.c.algorithm, _K.c.public_jwk, _K.c.active, _K.c.retired_until),
        instance_id,
    ).order_by(_K.c.created_at.desc(), _K.c.id)
    moment = now()
    keys = []
    for row in await conn.execute(query):
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
    query = _for_instance(
        select(_K.c.id, _K.c.algorithm, _K.c.private_key_sealed).where(_K.c.active.is_(True)),
        instance_id,
    ).order_by(_K.c.created_at.desc(), _K.c.id)
    async with db.read() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        raise Internal("the instance has no active token signing key")
    private = orjson.loads(box.open(row.private_key_sealed))
    return str(row.id), str(row.algorithm), ECKey.import_key(private)
