"""Read tables of administrators and personal access tokens as functions of their
events; applied in the transaction that appends them, like every projection in
:mod:`keyhook.command.projections`, which includes this table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import orjson

from keyhook.command.row_touch import Touch
from keyhook.eventstore.store import StoredEvent
from keyhook.storage.connection import Connection


async def _member_added(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(
        "INSERT INTO administrators (user_id, resource_id, instance_id, resource_type, roles, "
        "created_at, changed_at) VALUES (:user_id, :resource_id, :instance_id, "
        ":resource_type, :roles, :created_at, :created_at)",
        {
            "user_id": e.data["userId"],
            "resource_id": e.aggregate_id,
            "instance_id": e.instance_id,
            "resource_type": e.aggregate_type,
            "roles": orjson.dumps(e.data["roles"]).decode(),
            "created_at": e.created_at,
        },
    )


async def _member_changed(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(
        "UPDATE administrators SET roles = :roles, changed_at = :changed_at "
        "WHERE user_id = :user_id AND resource_id = :resource_id",
        {
            "user_id": e.data["userId"],
            "resource_id": e.aggregate_id,
            "roles": orjson.dumps(e.data["roles"]).decode(),
            "changed_at": e.created_at,
        },
    )


async def _member_removed(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(
        "DELETE FROM administrators WHERE user_id = :user_id AND resource_id = :resource_id",
        {"user_id": e.data["userId"], "resource_id": e.aggregate_id},
    )


def _user_touch(e: StoredEvent) -> Touch:
    """The user's row follows every event of the user (its sequence, its change time)."""
    return Touch("users", e.aggregate_id, {"sequence": e.sequence, "changed_at": e.created_at})


async def _pat_added(conn: Connection, e: StoredEvent) -> Touch:
    expires = e.data.get("expirationDate")
    await conn.execute(
        "INSERT INTO personal_access_tokens (id, user_id, instance_id, token_hash, expires_at, "
        "created_at) VALUES (:id, :user_id, :instance_id, :token_hash, :expires_at, :created_at)",
        {
            "id": e.data["tokenId"],
            "user_id": e.aggregate_id,
            "instance_id": e.instance_id,
            "token_hash": e.data["tokenHash"],
            "expires_at": None if expires is None else datetime.fromisoformat(expires),
            "created_at": e.created_at,
        },
    )
    return _user_touch(e)


async def _pat_removed(conn: Connection, e: StoredEvent) -> Touch:
    await conn.execute(
        "DELETE FROM personal_access_tokens WHERE id = :id AND user_id = :user_id",
        {"id": e.data["tokenId"], "user_id": e.aggregate_id},
    )
    return _user_touch(e)


async def remove_user_administrators(conn: Connection, user_id: str) -> None:
    """A deleted user administers nothing (its ``user.removed`` says so)."""
    await conn.execute("DELETE FROM administrators WHERE user_id = :user_id", {"user_id": user_id})


ADMIN_PROJECTORS: dict[str, Callable[[Connection, StoredEvent], Awaitable[Touch | None]]] = {
    "instance.member.added": _member_added,
    "instance.member.changed": _member_changed,
    "instance.member.removed": _member_removed,
    "org.member.added": _member_added,
    "org.member.changed": _member_changed,
    "org.member.removed": _member_removed,
    "user.pat.added": _pat_added,
    "user.pat.removed": _pat_removed,
}
