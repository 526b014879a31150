"""Commands on users: add, change, lock, unlock, deactivate, reactivate, delete,
set password and metadata; machine users and their client secrets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from keyhook.clock import iso, now
from keyhook.command.admins import ensure_access_remains, ensure_may_manage
from keyhook.command.orgs import ensure_org
from keyhook.command.writer import Writer, details
from keyhook.crypto.passwords import is_password_hash
from keyhook.domain import user as rules
from keyhook.domain.caller import Caller
from keyhook.errors import AlreadyExists, field_error
from keyhook.eventstore.store import PendingEvent, UniqueClaim, aggregate_events
from keyhook.storage.connection import Connection

_LOAD_USER = (
    "SELECT org_id, user_name, kind, state, sequence, failed_attempts, password_hash, "
    "secret_hash FROM users WHERE id = :id AND instance_id = :instance_id"
)

USER_NAME = "user_name"
# The state changes after which a user can no longer authenticate, and their verb.
_DISABLING = {"user.locked": "lock", "user.deactivated": "deactivate", "user.removed": "delete"}


@dataclass
class HumanUserInput:
    org_id: str
    user_name: str
    email: str
    email_verified: bool = False
    given_name: str = ""
    family_name: str = ""
    display_name: str = ""
    nick_name: str = ""
    preferred_language: str = ""
    phone: str = ""
    phone_verified: bool = False
    password: str | None = None
    password_change_required: bool = False
    metadata: list[tuple[str, str]] = field(default_factory=list)
    # CreateUser's and ZITADEL's AddHumanUser's: an id of the caller's choosing, and a
    # password given as its argon2 hash (an import from another system).
    user_id: str | None = None
    hashed_password: str | None = None


# --- field rules, without I/O: the commands below apply them, and the API runs them
# before any request execution's target sees the message (api.registry: ``check``).


def checked_human_user(
    data: HumanUserInput, prefix: str = "user.", name_field: str = "user.userName"
) -> tuple[str, str]:
    """AddHumanUser's field rules (CreateUser's with ``prefix`` ``human.``); the email
    and the user name as they are stored."""
    email = rules.validate_email(data.email, f"{prefix}email.email")
    user_name = rules.validate_user_name(data.user_name or email, name_field)
    checked_metadata(data.metadata, f"{prefix}metadata")
    if data.password is not None:
        rules.validate_password(data.password, f"{prefix}password.password")
    if data.hashed_password is not None:
        checked_password_hash(data.hashed_password, f"{prefix}hashedPassword.hash")
    if data.user_id is not None:
        checked_user_id(data.user_id)
    return email, user_name


def checked_user_id(user_id: str, field_name: str = "userId") -> str:
    """An id a caller chose for a new user: Keyhook's id form, so it sorts and fits as
    the generated ones do."""
    if not rules.ID_FORM.fullmatch(user_id):
        raise field_error(
            field_name,
            f"{user_id!r} is not a Keyhook id",
            "1 to 19 ASCII digits, or no userId for a generated one",
        )
    return user_id


def checked_password_hash(encoded: str, field_name: str) -> str:
    if not is_password_hash(encoded):
        raise field_error(
            field_name,
            "is not an argon2 hash Keyhook can verify",
            "a PHC string such as $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, with at "
            "most m=262144 (256 MiB), t=10, p=8",
        )
    return encoded


def checked_changes(changed: dict[str, Any]) -> dict[str, Any]:
    """UpdateHumanUser's field rules, on its changes (``password`` among them)."""
    if "email" in changed:
        changed["email"] = rules.validate_email(changed["email"], "email.email")
    if "userName" in changed:
        changed["userName"] = rules.validate_user_name(changed["userName"], "username")
    if changed.get("password") is not None:
        rules.validate_password(changed["password"], "password.password")
    return changed


def checked_metadata(items: list[tuple[str, str]], field_name: str = "metadata") -> None:
    for i, (key, value) in enumerate(items):
        rules.validate_metadata_key(key, f"{field_name}[{i}].key")
        if len(value) > rules.MAX_METADATA_VALUE:
            raise field_error(
                f"{field_name}[{i}].value",
                "is too long",
                f"at most {rules.MAX_METADATA_VALUE} characters",
            )


def checked_metadata_items(items: list[tuple[str, str]]) -> None:
    """SetUserMetadata's field rules."""
    if not items:
        raise field_error("metadata", "is empty", "one or more {key, value} items")
    checked_metadata(items)


def checked_machine_user(
    user_name: str, name: str, fields: tuple[str, str] = ("userName", "name")
) -> tuple[str, str]:
    """AddMachineUser's field rules; the user name and the name as they are stored."""
    return rules.validate_machine_user_name(user_name, fields[0]), rules.validate_machine_name(
        name, fields[1]
    )


def checked_new_password(password: str) -> str:
    return rules.validate_password(password, "newPassword.password")


async def load_user(conn: Connection, caller: Caller, user_id: str) -> rules.User:
    """The user's write model as of this transaction; a user of an organization the
    caller may not act in is one that does not exist (the same 404, so its existence
    does not leak).

    It is read from the ``users`` row, which every transaction that appends a user
    event also updates, so it equals folding the user's events with
    :meth:`User.apply` (a test checks that) at the cost of one indexed read
    instead of reading every event: a user with ten thousand metadata events
    would otherwise make each of its commands slower than the last.
    """
    row = (
        await conn.execute(_LOAD_USER, {"id": user_id, "instance_id": caller.instance_id})
    ).first()
    if row is None or not caller.sees_org(row.org_id):
        return rules.User(id=user_id)
    return rules.User(
        id=user_id,
        org_id=row.org_id,
        user_name=row.user_name,
        kind=row.kind,
        state=rules.UserState(row.state),
        sequence=row.sequence,
        exists=True,
        failed_attempts=row.failed_attempts,
        password_hash=row.password_hash,
        secret_hash=row.secret_hash,
    )


async def load_managed_user(conn: Connection, caller: Caller, user_id: str) -> rules.User:
    """:func:`load_user`, for a change of the user: refused unless the caller holds at
    least the user's own permissions (:func:`keyhook.command.admins.ensure_may_manage`)."""
    user = await load_user(conn, caller, user_id)
    if user.exists:
        await ensure_may_manage(conn, caller, user_id)
    return user


async def fold_user(conn: Connection, instance_id: str, user_id: str) -> rules.User:
    """The user's write model folded from its events: the definition ``load_user`` meets."""
    user = rules.User(id=user_id)
    for e in await aggregate_events(conn, instance_id, "user", user_id):
        user.apply(e.type, e.data, e.sequence, e.resource_owner)
    return user


_ID_TAKEN = (
    "SELECT 1 FROM users WHERE id = :id UNION ALL SELECT 1 FROM events "
    "WHERE instance_id = :instance_id AND aggregate_type = 'user' AND aggregate_id = :id"
)


async def ensure_user_id_free(conn: Connection, caller: Caller, user_id: str) -> None:
    """A chosen id is one no user has or had (a deleted user's events keep theirs)."""
    if (await conn.execute(_ID_TAKEN, {"id": user_id, "instance_id": caller.instance_id})).first():
        raise AlreadyExists(
            f"user id {user_id} is already taken",
            details=[{"field": "userId", "problem": "taken"}],
        )


LOGIN_NAME = "login_name"


def name_claims(org_id: str, user_name: str, add: bool = True) -> list[UniqueClaim]:
    """A user name is unique in its organization (ZITADEL's rule) and, because the login
    page and client credentials find a user by its name alone, in the instance: a name
    another organization's administrator takes cannot shadow an existing user."""
    error = f"user name {user_name!r} is already taken"
    return [
        UniqueClaim(USER_NAME, f"{org_id}:{user_name.lower()}", add=add, error=error),
        UniqueClaim(LOGIN_NAME, user_name.lower(), add=add, error=error),
    ]


def machine_user_added(
    user_id: str,
    org_id: str,
    user_name: str,
    name: str,
    description: str = "",
    access_token_type: str = rules.MACHINE_TOKEN_TYPES["ACCESS_TOKEN_TYPE_BEARER"],
) -> PendingEvent:
    """The ``user.machine.added`` event; first start writes its admin with it too."""
    return PendingEvent(
        "user.machine.added",
        "user",
        user_id,
        org_id,
        {
            "userId": user_id,
            "userName": user_name,
            "name": name,
            "description": description,
            "accessTokenType": access_token_type,
        },
    )


class UserCommands:
    def __init__(self, writer: Writer) -> None:
        self.w = writer

    async def add_human_user(
        self,
        caller: Caller,
        data: HumanUserInput,
        prefix: str = "user.",
        name_field: str = "user.userName",
    ) -> dict[str, Any]:
        """A new human user; ``prefix`` and ``name_field`` name the message's members in
        errors (AddHumanUser's ``user.…``, CreateUser's ``human.…`` and ``username``)."""
        email, user_name = checked_human_user(data, prefix, name_field)
        hashed = data.hashed_password
        if data.password is not None:
            hashed = await self.w.passwords.ahash(data.password)
        user_id = data.user_id or self.w.ids.new()
        event_data: dict[str, Any] = {
            "userId": user_id,
            "userName": user_name,
            "givenName": data.given_name,
            "familyName": data.family_name,
            "displayName": data.display_name or f"{data.given_name} {data.family_name}".strip(),
            "nickName": data.nick_name,
            "preferredLanguage": data.preferred_language,
            "email": email,
            "emailVerified": data.email_verified,
            "phone": data.phone,
            "phoneVerified": data.phone_verified,
            "metadata": [{"key": k, "value": v} for k, v in data.metadata],
        }
        event_data["passwordChangeRequired"] = hashed is not None and data.password_change_required
        if hashed is not None:
            event_data["hashedPassword"] = hashed
        async with self.w.db.write() as conn:
            await ensure_org(conn, caller, data.org_id)
            if data.user_id is not None:
                await ensure_user_id_free(conn, caller, user_id)
            stored = await self.w.commit(
                conn,
                caller,
                [PendingEvent("user.human.added", "user", user_id, data.org_id, event_data)],
                expected={("user", user_id): 0},
                claims=name_claims(data.org_id, user_name),
            )
        return {"userId": user_id, "details": details(stored)}

    async def add_machine_user(
        self,
        caller: Caller,
        org_id: str,
        user_name: str,
        name: str,
        description: str = "",
        access_token_type: str = rules.MACHINE_TOKEN_TYPES["ACCESS_TOKEN_TYPE_BEARER"],
        user_id: str | None = None,
        name_fields: tuple[str, str] = ("userName", "name"),
    ) -> dict[str, Any]:
        """A new machine user; with ``user_id``, under that id (CreateUser's ``userId``),
        and without ``user_name``, named by its id (CreateUser's rule)."""
        if user_id is not None:
            checked_user_id(user_id)
        new_id = user_id or self.w.ids.new()
        user_name, name = checked_machine_user(user_name or new_id, name, name_fields)
        async with self.w.db.write() as conn:
            await ensure_org(conn, caller, org_id)
            if user_id is not None:
                await ensure_user_id_free(conn, caller, new_id)
            user_id = new_id
            stored = await self.w.commit(
                conn,
                caller,
                [
                    machine_user_added(
                        user_id, org_id, user_name, name, description, access_token_type
                    )
                ],
                expected={("user", user_id): 0},
                claims=name_claims(org_id, user_name),
            )
        return {"userId": user_id, "details": details(stored)}

    async def add_secret(self, caller: Caller, user_id: str) -> dict[str, Any]:
        """A new client secret for a machine user, replacing any earlier one.

        The secret is in this answer only; the user keeps its argon2 hash.
        """
        async with self.w.db.read() as conn:
            (await load_managed_user(conn, caller, user_id)).ensure_machine()
        secret = secrets.token_urlsafe(32)
        # Hashed outside the write transaction: argon2 is slow on purpose.
        hashed = await self.w.passwords.ahash(secret)
        async with self.w.db.write() as conn:
            user = await load_managed_user(conn, caller, user_id)
            user.ensure_machine()
            stored = await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "user.machine.secret.set",
                        "user",
                        user_id,
                        user.org_id,
                        {"userId": user_id, "userName": user.user_name, "hashedSecret": hashed},
                    )
                ],
                expected={("user", user_id): user.sequence},
            )
        return {
            "clientSecret": secret,
            "creationDate": details(stored)["changeDate"],
            "details": details(stored),
        }

    async def remove_secret(self, caller: Caller, user_id: str) -> dict[str, Any]:
        async with self.w.db.write() as conn:
            user = await load_managed_user(conn, caller, user_id)
            user.check_has_secret()
            stored = await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "user.machine.secret.removed",
                        "user",
                        user_id,
                        user.org_id,
                        {"userId": user_id, "userName": user.user_name},
                    )
                ],
                expected={("user", user_id): user.sequence},
            )
        return {"details": details(stored)}

    async def update_human_user(
        self,
        caller: Caller,
        user_id: str,
        changed: dict[str, Any],
        *,
        current_password: str | None = None,
        change_required: bool | None = None,
        current_field: str = "currentPassword",
    ) -> dict[str, Any]:
        """Change a human user: profile, email, phone, user name, and ``password`` (or
        ``hashedPassword``, an argon2 hash) checked against ``current_password`` if given."""
        password = checked_changes(changed).pop("password", None)
        hashed = changed.pop("hashedPassword", None)
        if hashed is not None:
            checked_password_hash(hashed, "human.password.hashedPassword.hash")
        if current_password is not None:
            await self._check_current_password(caller, user_id, current_password, current_field)
        if password is not None:
            hashed = await self.w.passwords.ahash(password)
        async with self.w.db.write() as conn:
            user = await load_managed_user(conn, caller, user_id)
            user.ensure_human()
            pending, claims = [], []
            if "userName" in changed and changed["userName"] != user.user_name:
                claims = [
                    *name_claims(user.org_id, user.user_name, add=False),
                    *name_claims(user.org_id, changed["userName"]),
                ]
            ref = {"userId": user_id, "userName": changed.get("userName", user.user_name)}
            if changed:
                pending.append(
                    PendingEvent(
                        "user.human.changed",
                        "user",
                        user_id,
                        user.org_id,
                        {**ref, "changed": changed},
                    )
                )
            if hashed is not None:
                extra = {} if change_required is None else {"changeRequired": change_required}
                pending.append(
                    PendingEvent(
                        "user.human.password.changed",
                        "user",
                        user_id,
                        user.org_id,
                        {**ref, "hashedPassword": hashed, **extra},
                    )
                )
            if not pending:
                raise field_error(
                    "user", "names nothing to change", "username, profile, email, phone, password"
                )
            stored = await self.w.commit(
                conn, caller, pending, expected={("user", user_id): user.sequence}, claims=claims
            )
        return {"details": details(stored)}

    async def _state_change(
        self, caller: Caller, user_id: str, event_type: str, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        async with self.w.db.write() as conn:
            user = await load_managed_user(conn, caller, user_id)
            {
                "user.locked": user.check_lock,
                "user.unlocked": user.check_unlock,
                "user.deactivated": user.check_deactivate,
                "user.reactivated": user.check_reactivate,
                "user.removed": user.ensure_exists,
            }[event_type]()
            if event_type in _DISABLING:
                await ensure_access_remains(conn, caller, user, _DISABLING[event_type])
            data = {"userId": user_id, "userName": user.user_name, **(extra or {})}
            claims = (
                name_claims(user.org_id, user.user_name, add=False)
                if event_type == "user.removed"
                else []
            )
            stored = await self.w.commit(
                conn,
                caller,
                [PendingEvent(event_type, "user", user_id, user.org_id, data)],
                expected={("user", user_id): user.sequence},
                claims=claims,
            )
        return {"details": details(stored)}

    async def lock(self, caller: Caller, user_id: str) -> dict[str, Any]:
        return await self._state_change(
            caller,
            user_id,
            "user.locked",
            {"lockedAt": iso(now()), "reason": "Locked by administrator"},
        )

    async def unlock(self, caller: Caller, user_id: str) -> dict[str, Any]:
        return await self._state_change(caller, user_id, "user.unlocked")

    async def deactivate(self, caller: Caller, user_id: str) -> dict[str, Any]:
        return await self._state_change(caller, user_id, "user.deactivated")

    async def reactivate(self, caller: Caller, user_id: str) -> dict[str, Any]:
        return await self._state_change(caller, user_id, "user.reactivated")

    async def delete(self, caller: Caller, user_id: str) -> dict[str, Any]:
        return await self._state_change(caller, user_id, "user.removed")

    async def _check_current_password(
        self, caller: Caller, user_id: str, current: str, field_name: str = "currentPassword"
    ) -> None:
        # Within the caller's reach first: a user it may not see has no password to test.
        async with self.w.db.read() as conn:
            known = await load_managed_user(conn, caller, user_id)
        known.ensure_human()
        stored_hash = known.password_hash
        # Verified outside the write transaction: argon2 is slow on purpose.
        if not stored_hash or not await self.w.passwords.averify(stored_hash, current):
            raise field_error(field_name, "does not match the user's password")

    async def set_password(
        self,
        caller: Caller,
        user_id: str,
        password: str,
        current: str | None = None,
        change_required: bool = False,
    ) -> dict[str, Any]:
        checked_new_password(password)
        if current is not None:
            await self._check_current_password(caller, user_id, current)
        hashed = await self.w.passwords.ahash(password)
        async with self.w.db.write() as conn:
            user = await load_managed_user(conn, caller, user_id)
            user.ensure_human()
            stored = await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "user.human.password.changed",
                        "user",
                        user_id,
                        user.org_id,
                        {
                            "userId": user_id,
                            "userName": user.user_name,
                            "hashedPassword": hashed,
                            "changeRequired": change_required,
                        },
                    )
                ],
                expected={("user", user_id): user.sequence},
            )
        return {"details": details(stored)}

    async def set_metadata(
        self, caller: Caller, user_id: str, items: list[tuple[str, str]]
    ) -> dict[str, Any]:
        checked_metadata_items(items)
        async with self.w.db.write() as conn:
            user = await load_managed_user(conn, caller, user_id)
            user.ensure_exists()
            ref = {"userId": user_id, "userName": user.user_name}
            stored = await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "user.metadata.set",
                        "user",
                        user_id,
                        user.org_id,
                        {**ref, "key": k, "value": v},
                    )
                    for k, v in items
                ],
                expected={("user", user_id): user.sequence},
            )
        return {"details": details(stored)}
