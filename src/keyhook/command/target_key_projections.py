"""Projections of a target's public keys into ``target_public_keys``; each change
moves the instance's actions generation, so every node's catalog picks it up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from keyhook.eventstore.store import StoredEvent
from keyhook.storage.connection import Connection

Projector = Callable[[Connection, StoredEvent], Awaitable[None]]


async def _bump_actions(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(
        "UPDATE instances SET actions_generation = actions_generation + 1 WHERE id = :id",
        {"id": e.instance_id},
    )


async def _added(conn: Connection, e: StoredEvent) -> None:
    d = e.data
    expires = d.get("expirationDate")
    await conn.execute(
        "INSERT INTO target_public_keys (id, instance_id, target_id, public_key_pem, "
        "fingerprint, algorithm, active, expires_at, created_at, changed_at) VALUES (:id, "
        ":instance_id, :target_id, :pem, :fingerprint, :algorithm, :active, :expires_at, "
        ":created_at, :changed_at)",
        {
            "id": d["keyId"],
            "instance_id": e.instance_id,
            "target_id": e.aggregate_id,
            "pem": d["publicKey"],
            "fingerprint": d["fingerprint"],
            "algorithm": d["algorithm"],
            "active": False,
            "expires_at": datetime.fromisoformat(expires) if expires else None,
            "created_at": e.created_at,
            "changed_at": e.created_at,
        },
    )
    await _bump_actions(conn, e)


async def _activated(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(
        "UPDATE target_public_keys SET active = :off, changed_at = :at "
        "WHERE target_id = :target_id AND active AND id <> :id",
        {"off": False, "at": e.created_at, "target_id": e.aggregate_id, "id": e.data["keyId"]},
    )
    await conn.execute(
        "UPDATE target_public_keys SET active = :on, changed_at = :at WHERE id = :id",
        {"on": True, "at": e.created_at, "id": e.data["keyId"]},
    )
    await _bump_actions(conn, e)


async def _deactivated(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(
        "UPDATE target_public_keys SET active = :off, changed_at = :at WHERE id = :id",
        {"off": False, "at": e.created_at, "id": e.data["keyId"]},
    )
    await _bump_actions(conn, e)


async def _removed(conn: Connection, e: StoredEvent) -> None:
    await conn.execute("DELETE FROM target_public_keys WHERE id = :id", {"id": e.data["keyId"]})
    await _bump_actions(conn, e)


TARGET_KEY_PROJECTORS: dict[str, Projector] = {
    "target.public_key.added": _added,
    "target.public_key.activated": _activated,
    "target.public_key.deactivated": _deactivated,
    "target.public_key.removed": _removed,
}
