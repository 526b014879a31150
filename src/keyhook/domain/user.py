"""The user aggregate: its state folded from events, and the rules of each change."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from keyhook.errors import FailedPrecondition, NotFound, field_error

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Keyhook's ids: decimal strings of up to 19 digits (DESIGN.md §3).
ID_FORM = re.compile(r"[0-9]{1,19}")
MAX_METADATA_VALUE = 4096
# A machine user's access token type: the wire name and how events store it
# (as applications store theirs).
MACHINE_TOKEN_TYPES = {"ACCESS_TOKEN_TYPE_BEARER": "bearer", "ACCESS_TOKEN_TYPE_JWT": "jwt"}


class UserState(StrEnum):
    ACTIVE = "USER_STATE_ACTIVE"
    INACTIVE = "USER_STATE_INACTIVE"
    LOCKED = "USER_STATE_LOCKED"
    DELETED = "USER_STATE_DELETED"


@dataclass
class User:
    """What a command needs to decide; rebuilt from the user's events."""

    id: str
    org_id: str = ""
    user_name: str = ""
    kind: str = "human"
    state: UserState = UserState.ACTIVE
    sequence: int = 0
    exists: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    # Failed password checks in a row; reset by a successful check, a new password
    # or an unlock (the lockout policy of ``domain.lockout`` compares it to its limit).
    failed_attempts: int = 0
    password_hash: str | None = field(default=None, repr=False)
    # A machine user's client secret (client credentials grant), argon2-hashed.
    secret_hash: str | None = field(default=None, repr=False)

    def apply(self, event_type: str, data: dict[str, Any], sequence: int, owner: str) -> None:
        self.sequence = sequence
        if event_type in ("user.human.added", "user.machine.added"):
            self.exists = True
            self.org_id = owner
            self.user_name = data["userName"]
            self.kind = "human" if event_type == "user.human.added" else "machine"
            self.password_hash = data.get("hashedPassword")
        elif event_type in (
            "user.human.changed",
            "user.machine.changed",
        ) and "userName" in data.get("changed", {}):
            self.user_name = data["changed"]["userName"]
        elif event_type == "user.locked":
            self.state = UserState.LOCKED
        elif event_type == "user.unlocked":
            self.state = UserState.ACTIVE
            self.failed_attempts = 0
        elif event_type == "user.reactivated":
            self.state = UserState.ACTIVE
        elif event_type == "user.deactivated":
            self.state = UserState.INACTIVE
        elif event_type == "user.removed":
            self.state = UserState.DELETED
        elif event_type == "user.metadata.set":
            self.metadata[data["key"]] = data["value"]
        elif event_type == "user.metadata.removed":
            self.metadata.pop(data["key"], None)
        elif event_type == "user.human.password.changed":
            self.password_hash = data.get("hashedPassword")
            self.failed_attempts = 0
        elif event_type == "user.human.password.hash.updated":
            self.password_hash = data.get("hashedPassword")
        elif event_type == "user.human.password.check.failed":
            self.failed_attempts = int(data.get("failedAttempts", self.failed_attempts + 1))
        elif event_type == "user.human.password.check.succeeded":
            self.failed_attempts = 0
        elif event_type == "user.machine.secret.set":
            self.secret_hash = data["hashedSecret"]
        elif event_type == "user.machine.secret.removed":
            self.secret_hash = None

    def ensure_exists(self) -> None:
        if not self.exists or self.state is UserState.DELETED:
            raise NotFound(
                f"user {self.id} does not exist",
                details=[{"field": "userId", "problem": "unknown"}],
            )

    def ensure_human(self) -> None:
        self.ensure_exists()
        if self.kind != "human":
            raise FailedPrecondition(f"user {self.id} is a machine user; this needs a human user")

    def ensure_machine(self) -> None:
        self.ensure_machine_for("client secrets")

    def ensure_machine_for(self, what: str) -> None:
        self.ensure_exists()
        if self.kind != "machine":
            raise FailedPrecondition(
                f"user {self.id} is a human user; only machine users have {what}",
                details=[{"field": "userId", "problem": "not a machine user"}],
            )

    def check_has_secret(self) -> None:
        self.ensure_machine()
        if self.secret_hash is None:
            raise FailedPrecondition(
                f"user {self.id} has no client secret; there is nothing to remove",
                details=[{"field": "userId", "problem": "user has no secret"}],
            )

    def check_lock(self) -> None:
        self.ensure_exists()
        if self.state is not UserState.ACTIVE:
            raise FailedPrecondition(f"user {self.id} cannot be locked: its state is {self.state}")

    def check_unlock(self) -> None:
        self.ensure_exists()
        if self.state is not UserState.LOCKED:
            raise FailedPrecondition(f"user {self.id} is not locked")

    def check_can_sign_in(self) -> None:
        """A session's checks need an existing user that is neither locked nor deactivated."""
        self.ensure_exists()
        if self.state is UserState.LOCKED:
            raise FailedPrecondition(
                f"user {self.user_name!r} is locked; an administrator must unlock it",
                details=[{"field": "checks.user", "problem": "user is locked"}],
            )
        if self.state is UserState.INACTIVE:
            raise FailedPrecondition(
                f"user {self.user_name!r} is deactivated; an administrator must reactivate it",
                details=[{"field": "checks.user", "problem": "user is deactivated"}],
            )

    def check_has_password(self) -> str:
        """The hash a password check compares with; a user without one cannot be checked."""
        self.ensure_human()
        if self.password_hash is None:
            raise FailedPrecondition(
                f"user {self.user_name!r} has no password; set one with SetPassword first",
                details=[{"field": "checks.password", "problem": "user has no password"}],
            )
        return self.password_hash

    def check_deactivate(self) -> None:
        self.ensure_exists()
        if self.state is not UserState.ACTIVE:
            raise FailedPrecondition(
                f"user {self.id} cannot be deactivated: its state is {self.state}"
            )

    def check_reactivate(self) -> None:
        self.ensure_exists()
        if self.state is not UserState.INACTIVE:
            raise FailedPrecondition(f"user {self.id} is not deactivated")


def validate_email(email: str, field_name: str = "user.email.email") -> str:
    email = email.strip()
    if not _EMAIL.match(email) or len(email) > 320:
        raise field_error(field_name, f"{email!r} is not an email address", "local@domain.tld")
    return email


def validate_user_name(name: str, field_name: str = "user.userName") -> str:
    name = name.strip()
    if not name or len(name) > 200 or any(c.isspace() for c in name):
        raise field_error(field_name, "must be 1-200 characters without spaces")
    return name


_CLIENT_ID_FORM = re.compile(r"^[0-9]+@")


def validate_machine_user_name(user_name: str, field_name: str = "userName") -> str:
    """A machine user's name is its OAuth client id: it must not pose as an application's."""
    user_name = validate_user_name(user_name, field_name)
    if _CLIENT_ID_FORM.match(user_name):
        raise field_error(
            field_name,
            "has the form of an application's client id (<digits>@…)",
            "a name that does not start with digits and '@'",
        )
    return user_name


def validate_machine_name(name: str, field_name: str = "name") -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise field_error(field_name, "must be 1-200 characters")
    return name


def validate_metadata_key(key: str, field_name: str) -> str:
    if not key or len(key) > 200:
        raise field_error(field_name, "must be 1-200 characters")
    return key


PASSWORD_MIN, PASSWORD_MAX = 8, 256
PASSWORD_RULES = f"{PASSWORD_MIN} to {PASSWORD_MAX} characters"


def validate_password(password: str, field_name: str) -> str:
    if len(password) < PASSWORD_MIN or len(password) > PASSWORD_MAX:
        raise field_error(field_name, f"must be {PASSWORD_RULES} long")
    return password
