"""Commands of UserService v2 beyond the first ones: a user's email and phone set or
removed, a machine user's name and description changed, metadata deleted.

They append the events the rest already knows (``user.human.changed``,
``user.metadata.removed``) and one of their own, ``user.machine.changed``.
"""

from __future__ import annotations

from typing import Any

from keyhook.command.users import UserCommands, load_managed_user, name_claims
from keyhook.command.writer import details
from keyhook.domain import user as rules
from keyhook.domain.caller import Caller
from keyhook.errors import FailedPrecondition, NotFound, field_error
from keyhook.eventstore.store import PendingEvent
from keyhook.storage.connection import Connection

_PHONE = "SELECT phone FROM users WHERE id = :id"
_METADATA_KEYS = 'SELECT "key" FROM user_metadata WHERE user_id = :user_id'
MAX_PHONE = 40


def checked_phone(phone: str, field_name: str = "phone") -> str:
    phone = phone.strip()
    if not phone or len(phone) > MAX_PHONE:
        raise field_error(
            field_name, f"must be 1-{MAX_PHONE} characters", "a phone number such as +41791234567"
        )
    return phone


def checked_keys(keys: list[str]) -> list[str]:
    """DeleteUserMetadata's keys: one or more, each a metadata key, each once."""
    if not keys:
        raise field_error("keys", "is empty", "one or more metadata keys")
    for i, key in enumerate(keys):
        rules.validate_metadata_key(key, f"keys[{i}]")
    return list(dict.fromkeys(keys))


def checked_machine_changes(name: str | None, description: str | None) -> dict[str, str]:
    changed: dict[str, str] = {}
    if name is not None:
        changed["name"] = rules.validate_machine_name(name, "machine.name")
    if description is not None:
        if len(description) > 500:
            raise field_error("machine.description", "is too long", "at most 500 characters")
        changed["description"] = description
    return changed


class UserChanges:
    def __init__(self, users: UserCommands) -> None:
        self.users = users
        self.w = users.w

    async def set_email(
        self, caller: Caller, user_id: str, email: str, verified: bool
    ) -> dict[str, Any]:
        email = rules.validate_email(email, "email")
        return await self.users.update_human_user(
            caller, user_id, {"email": email, "emailVerified": verified}
        )

    async def set_phone(
        self, caller: Caller, user_id: str, phone: str, verified: bool
    ) -> dict[str, Any]:
        phone = checked_phone(phone)
        return await self.users.update_human_user(
            caller, user_id, {"phone": phone, "phoneVerified": verified}
        )

    async def remove_phone(self, caller: Caller, user_id: str) -> dict[str, Any]:
        async with self.w.db.read() as conn:
            user = await load_managed_user(conn, caller, user_id)
            user.ensure_human()
            row = (await conn.execute(_PHONE, {"id": user_id})).first()
        if row is None or not row.phone:
            raise FailedPrecondition(
                f"user {user_id} has no phone number to remove",
                details=[{"field": "userId", "problem": "no phone"}],
            )
        return await self.users.update_human_user(
            caller, user_id, {"phone": "", "phoneVerified": False}
        )

    async def update_machine(
        self,
        caller: Caller,
        user_id: str,
        changed: dict[str, str],
        user_name: str | None = None,
    ) -> dict[str, Any]:
        """A machine user's name and description (``user.machine.changed``) and its user
        name, which is also its OAuth client id."""
        if user_name is not None:
            user_name = rules.validate_machine_user_name(user_name, "username")
        async with self.w.db.write() as conn:
            user = await load_managed_user(conn, caller, user_id)
            user.ensure_machine_for("a name and a description")
            claims = []
            if user_name is not None and user_name != user.user_name:
                changed = {**changed, "userName": user_name}
                claims = [
                    *name_claims(user.org_id, user.user_name, add=False),
                    *name_claims(user.org_id, user_name),
                ]
            if not changed:
                raise field_error(
                    "machine", "names nothing to change", "username, machine.name, description"
                )
            stored = await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "user.machine.changed",
                        "user",
                        user_id,
                        user.org_id,
                        {
                            "userId": user_id,
                            "userName": changed.get("userName", user.user_name),
                            "changed": changed,
                        },
                    )
                ],
                expected={("user", user_id): user.sequence},
                claims=claims,
            )
        return {"details": details(stored)}

    async def delete_metadata(
        self, caller: Caller, user_id: str, keys: list[str]
    ) -> dict[str, Any]:
        keys = checked_keys(keys)
        async with self.w.db.write() as conn:
            user = await load_managed_user(conn, caller, user_id)
            user.ensure_exists()
            present = await _metadata_keys(conn, user_id)
            missing = [k for k in keys if k not in present]
            if missing:
                raise NotFound(
                    f"user {user_id} has no metadata {', '.join(map(repr, missing))}",
                    details=[
                        {"field": f"keys[{keys.index(k)}]", "problem": "unknown"} for k in missing
                    ],
                )
            ref = {"userId": user_id, "userName": user.user_name}
            stored = await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "user.metadata.removed", "user", user_id, user.org_id, {**ref, "key": k}
                    )
                    for k in keys
                ],
                expected={("user", user_id): user.sequence},
            )
        return {"deletionDate": details(stored)["changeDate"]}


async def _metadata_keys(conn: Connection, user_id: str) -> set[str]:
    return {row.key for row in await conn.execute(_METADATA_KEYS, {"user_id": user_id})}
