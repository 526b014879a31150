"""Sessions and the lockout settings as the API shows them (ZITADEL's v2 shapes)."""

from __future__ import annotations

from typing import Any

from keyhook.clock import iso
from keyhook.domain.caller import Caller
from keyhook.domain.lockout import DEFAULT_MAX_PASSWORD_ATTEMPTS
from keyhook.errors import NotFound
from keyhook.storage.connection import Row
from keyhook.storage.database import Database

_SESSION = "SELECT * FROM sessions WHERE id = :id AND instance_id = :instance_id"
_LOCKOUT = "SELECT lockout_max_attempts FROM instances WHERE id = :id"


def session_to_wire(row: Row) -> dict[str, Any]:
    factors: dict[str, Any] = {
        "user": {
            "id": row["user_id"],
            "loginName": row["login_name"],
            "organizationId": row["org_id"],
            "verifiedAt": iso(row["created_at"]),
        }
    }
    if row["password_checked_at"] is not None:
        factors["password"] = {"verifiedAt": iso(row["password_checked_at"])}
    return {
        "id": row["id"],
        "creationDate": iso(row["created_at"]),
        "changeDate": iso(row["changed_at"]),
        "sequence": str(row["sequence"]),
        "factors": factors,
    }


class SessionQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, caller: Caller, session_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = (
                await conn.execute(_SESSION, {"id": session_id, "instance_id": caller.instance_id})
            ).first()
        if row is None:
            raise NotFound(
                f"session {session_id} does not exist",
                details=[{"field": "sessionId", "problem": "unknown"}],
            )
        return {"session": session_to_wire(row)}

    async def lockout_settings(self, caller: Caller) -> dict[str, Any]:
        async with self.db.read() as conn:
            found = (await conn.execute(_LOCKOUT, {"id": caller.instance_id})).scalar()
        attempts = DEFAULT_MAX_PASSWORD_ATTEMPTS if found is None else int(found)
        return {"settings": {"maxPasswordAttempts": str(attempts)}}
