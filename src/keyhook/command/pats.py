"""Commands on personal access tokens: issue one to a machine user (shown once,
stored as its SHA-256 only) and remove one.

The token itself is in no event, payload or log: ``user.pat.added`` holds its hash
(which the event log and every target see redacted) and its expiry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from keyhook.clock import aware, iso, now
from keyhook.command.admins import is_last_active_owner, lock_administrators
from keyhook.command.users import load_managed_user
from keyhook.command.writer import Writer
from keyhook.crypto.tokens import new_personal_access_token, token_hash
from keyhook.domain.caller import Caller
from keyhook.errors import FailedPrecondition, NotFound, field_error
from keyhook.eventstore.store import PendingEvent, StoredEvent
from keyhook.storage.connection import Connection

_FIND_PAT = (
    "SELECT id FROM personal_access_tokens WHERE id = :id AND user_id = :user_id "
    "AND instance_id = :instance_id"
)


def checked_expiration(expires_at: datetime | None) -> datetime | None:
    """A token's expiry: none (it never expires) or a moment still to come."""
    if expires_at is not None and aware(expires_at) <= now():
        raise field_error(
            "expirationDate",
            f"{iso(expires_at)} has passed; a token would be expired when issued",
            "a time in the future, or none for a token that does not expire",
        )
    return expires_at


_OTHER_PATS = "SELECT expires_at FROM personal_access_tokens WHERE user_id = :user_id AND id <> :id"


class PatCommands:
    def __init__(self, writer: Writer) -> None:
        self.w = writer

    async def add(
        self,
        conn: Connection,
        caller: Caller,
        user_id: str,
        hashed: str,
        expires_at: datetime | None = None,
    ) -> tuple[str, StoredEvent]:
        """Record a token by its hash for a machine user, in ``conn``'s transaction."""
        user = await load_managed_user(conn, caller, user_id)
        user.ensure_machine_for("personal access tokens")
        token_id = self.w.ids.new()
        stored = await self.w.commit(
            conn,
            caller,
            [
                PendingEvent(
                    "user.pat.added",
                    "user",
                    user_id,
                    user.org_id,
                    {
                        "userId": user_id,
                        "userName": user.user_name,
                        "tokenId": token_id,
                        "tokenHash": hashed,
                        "expirationDate": None if expires_at is None else iso(expires_at),
                    },
                )
            ],
            expected={("user", user_id): user.sequence},
        )
        return token_id, stored[-1]

    async def create(
        self, caller: Caller, user_id: str, expires_at: datetime | None
    ) -> dict[str, Any]:
        checked_expiration(expires_at)
        token = new_personal_access_token()
        async with self.w.db.write() as conn:
            token_id, event = await self.add(conn, caller, user_id, token_hash(token), expires_at)
        return {"creationDate": iso(event.created_at), "tokenId": token_id, "token": token}

    async def remove(self, caller: Caller, user_id: str, token_id: str) -> dict[str, Any]:
        async with self.w.db.write() as conn:
            user = await load_managed_user(conn, caller, user_id)
            user.ensure_exists()
            found = await conn.execute(
                _FIND_PAT,
                {"id": token_id, "user_id": user_id, "instance_id": caller.instance_id},
            )
            if found.first() is None:
                raise NotFound(
                    f"user {user_id} has no personal access token {token_id}",
                    details=[{"field": "tokenId", "problem": "unknown"}],
                )
            if user.password_hash is None and user.secret_hash is None:
                # Its last way in? Not for the instance's last active owner.
                await lock_administrators(conn, caller.instance_id)
                if await is_last_active_owner(conn, caller.instance_id, user_id):
                    others = await conn.execute(_OTHER_PATS, {"user_id": user_id, "id": token_id})
                    moment = now()
                    if not any(
                        r.expires_at is None or aware(r.expires_at) > moment for r in others
                    ):
                        raise FailedPrecondition(
                            f"token {token_id} is the last credential of user {user_id}, the "
                            "last active IAM_OWNER of this instance; removing it would leave "
                            "nobody able to manage it. Issue it another token first, or make "
                            "another user IAM_OWNER",
                            details=[
                                {"field": "tokenId", "problem": "last credential of the last owner"}
                            ],
                        )
            stored = await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "user.pat.removed",
                        "user",
                        user_id,
                        user.org_id,
                        {"userId": user_id, "userName": user.user_name, "tokenId": token_id},
                    )
                ],
                expected={("user", user_id): user.sequence},
            )
        return {"deletionDate": iso(stored[-1].created_at)}
