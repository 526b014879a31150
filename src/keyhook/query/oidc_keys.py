"""Reading token signing keys (web keys): the published JWKS, the keys that sign now,
and ListWebKeys.

Keyhook runs one instance per deployment (DESIGN.md §1); ``instance_id`` may
be left out to read that instance's keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from joserfc.jwk import ECKey, OKPKey, RSAKey, import_key

from keyhook.clock import aware, iso, now
from keyhook.crypto.secretbox import SecretBox
from keyhook.domain.web_keys import ACTIVE, INITIAL, STATES
from keyhook.errors import Internal
from keyhook.query.paging import Search
from keyhook.storage.connection import Connection, Result
from keyhook.storage.database import Database

_PUBLISHED = "SELECT id, algorithm, public_jwk, state, retired_until FROM oidc_signing_keys"
_SIGNING = "SELECT id, algorithm, state, private_key_sealed FROM oidc_signing_keys"
_LIST = "SELECT id, state, key_config, created_at, changed_at FROM oidc_signing_keys"

PrivateKey = RSAKey | ECKey | OKPKey


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    state: str  # active or initial
    key: PrivateKey


async def _newest_first(conn: Connection, search: Search, instance_id: str | None) -> Result:
    """The keys ``search`` matches, of every instance or only ``instance_id``'s."""
    if instance_id is not None:
        search.where("instance_id = :instance_id", instance_id=instance_id)
    return await conn.execute(f"{search.sql} ORDER BY created_at DESC, id", search.params)


async def _published(conn: Connection, instance_id: str | None) -> list[dict[str, Any]]:
    """Initial and active keys, and inactive ones still within their window; the active
    key first, then newest first."""
    moment = now()
    keys: list[dict[str, Any]] = []
    for row in await _newest_first(conn, Search(_PUBLISHED), instance_id):
        if row.state not in (ACTIVE, INITIAL) and (
            row.retired_until is None or aware(row.retired_until) <= moment
        ):
            continue
        jwk = orjson.loads(row.public_jwk)
        jwk.pop("d", None)  # never published, even if a stored key carried it
        for private in ("p", "q", "dp", "dq", "qi"):
            jwk.pop(private, None)
        entry = {**jwk, "kid": row.id, "alg": row.algorithm, "use": "sig"}
        if row.state == ACTIVE:
            keys.insert(0, entry)
        else:
            keys.append(entry)
    return keys


async def published_jwks(db: Database, instance_id: str | None = None) -> dict[str, Any]:
    """``{"keys": [...]}``: the keys whose tokens verify (initial, active, and inactive
    ones within their window). The key that signs now leads the set."""
    async with db.read() as conn:
        return {"keys": await _published(conn, instance_id)}


def _opened(box: SecretBox, row: Any) -> SigningKey:
    return SealedKey(
        str(row.id), str(row.algorithm), str(row.state), str(row.private_key_sealed)
    ).open(box)


@dataclass(frozen=True)
class SealedKey:
    kid: str
    algorithm: str
    state: str  # active or initial
    sealed: str

    def open(self, box: SecretBox) -> SigningKey:
        private = orjson.loads(box.open(self.sealed))
        key = import_key(private)
        if not isinstance(key, RSAKey | ECKey | OKPKey):
            raise Internal(f"signing key {self.kid} is of no supported type")
        return SigningKey(self.kid, self.algorithm, self.state, key)


async def sealed_signing_keys(db: Database, instance_id: str | None = None) -> list[SealedKey]:
    """The keys that may sign, still sealed: the active one first, then the initial ones
    (newest first). A signer opens only those it uses, once (an instance may keep many
    initial keys)."""
    async with db.read() as conn:
        rows = list(
            await _newest_first(
                conn,
                Search(_SIGNING).where(
                    "state IN (:active, :initial)", active=ACTIVE, initial=INITIAL
                ),
                instance_id,
            )
        )
    keys = [
        SealedKey(str(r.id), str(r.algorithm), str(r.state), str(r.private_key_sealed))
        for r in rows
    ]
    return sorted(keys, key=lambda k: k.state != ACTIVE)  # stable: newest first otherwise


async def signing_keys(
    db: Database, box: SecretBox, instance_id: str | None = None
) -> list[SigningKey]:
    """The keys that may sign, opened: the active one first, then the initial ones."""
    return [key.open(box) for key in await sealed_signing_keys(db, instance_id)]


async def signing_key(
    db: Database, box: SecretBox, instance_id: str | None = None
) -> tuple[str, str, PrivateKey]:
    """(kid, algorithm, private joserfc key) of the active key, opened with ``box``."""
    async with db.read() as conn:
        row = (await _newest_first(conn, Search(_SIGNING).where("active"), instance_id)).first()
    if row is None:
        raise Internal("the instance has no active token signing key")
    opened = _opened(box, row)
    return opened.kid, opened.algorithm, opened.key


async def list_web_keys(db: Database, instance_id: str) -> dict[str, Any]:
    """ListWebKeys: every key of the instance and its state, newest first."""
    async with db.read() as conn:
        rows = list(await _newest_first(conn, Search(_LIST), instance_id))
    return {
        "webKeys": [
            {
                "id": row.id,
                "creationDate": iso(row.created_at),
                "changeDate": iso(row.changed_at),
                "state": STATES.get(row.state, "STATE_UNSPECIFIED"),
                **orjson.loads(row.key_config),
            }
            for row in rows
        ]
    }
