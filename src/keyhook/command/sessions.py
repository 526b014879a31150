"""Commands on sessions and the lockout policy: create and delete a session (with its
password check), set the instance's maximum of failed password attempts.

A password is verified outside any write transaction (argon2 is slow on purpose);
after too many failures for a user of late it is not verified at all for a while
(:mod:`keyhook.domain.backoff`);
the write transaction then reloads the user, checks again that nothing changed,
and appends the outcome. A failed check is committed before the caller sees
``password is invalid``, so the count and a lockout are never rolled back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from keyhook.clock import iso, now
from keyhook.command.admins import is_last_active_owner, lock_administrators
from keyhook.command.users import load_user
from keyhook.command.writer import Writer, details
from keyhook.crypto.tokens import new_session_token, token_hash
from keyhook.domain import lockout
from keyhook.domain import user as rules
from keyhook.domain.backoff import LOGIN, from_address
from keyhook.domain.caller import Caller
from keyhook.domain.session import Session
from keyhook.errors import Conflict, InvalidArgument, NotFound
from keyhook.eventstore.store import PendingEvent, aggregate_events
from keyhook.storage.connection import Connection

# A concurrent change to the user between verifying and writing: verify again, this often.
_ATTEMPTS = 5


@dataclass(frozen=True)
class SessionChecks:
    """The checks of CreateSession: the user (by login name or id), optionally a password."""

    login_name: str | None = None
    user_id: str | None = None
    password: str | None = None
    # Where the password was typed, when Keyhook's own login page knows it: the user's
    # back-off then counts per address, so a guesser elsewhere cannot shut the user out.
    source_address: str | None = None


@dataclass(frozen=True)
class _Verified:
    user: rules.User
    password_ok: bool | None  # None: no password check was asked for
    new_hash: str | None  # the password hashed with the current parameters, if they changed


async def load_session(conn: Connection, instance_id: str, session_id: str) -> Session:
    session = Session(id=session_id)
    for e in await aggregate_events(conn, instance_id, "session", session_id):
        session.apply(e.type, e.data, e.sequence, e.resource_owner)
    return session


async def max_password_attempts(conn: Connection, instance_id: str) -> int:
    found = (
        await conn.execute(
            "SELECT lockout_max_attempts FROM instances WHERE id = :id", {"id": instance_id}
        )
    ).scalar()
    return lockout.DEFAULT_MAX_PASSWORD_ATTEMPTS if found is None else int(found)


async def find_user_id(conn: Connection, instance_id: str, login_name: str) -> str:
    """The user whose user name is ``login_name``, ignoring case, in any organization."""
    rows = (
        await conn.execute(
            "SELECT id FROM users WHERE instance_id = :instance_id "
            "AND (lower(user_name) = :lowered OR user_name = :login_name) LIMIT 2",
            {"instance_id": instance_id, "lowered": login_name.lower(), "login_name": login_name},
        )
    ).all()
    if not rows:
        raise NotFound(
            f"no user has the login name {login_name!r}",
            details=[{"field": "checks.user.loginName", "problem": "unknown"}],
        )
    if len(rows) > 1:
        raise InvalidArgument(
            f"the login name {login_name!r} belongs to users in several organizations; "
            "check the user by checks.user.userId instead",
            details=[
                {
                    "field": "checks.user.loginName",
                    "problem": "ambiguous",
                    "allowed": "checks.user.userId",
                }
            ],
        )
    return str(rows[0].id)


class SessionCommands:
    def __init__(self, writer: Writer) -> None:
        self.w = writer

    async def create(self, caller: Caller, checks: SessionChecks) -> dict[str, Any]:
        for attempt in range(_ATTEMPTS):
            try:
                result = await self._create_once(caller, checks)
            except Conflict:
                if attempt == _ATTEMPTS - 1:
                    raise
                continue
            if result is not None:
                return result
        raise Conflict("the user changed while its password was checked; try again")

    async def _verify(self, caller: Caller, checks: SessionChecks) -> _Verified:
        async with self.w.db.read() as conn:
            user_id = checks.user_id or await find_user_id(
                conn, caller.instance_id, checks.login_name or ""
            )
            user = await load_user(conn, caller, user_id)
        # A locked or deactivated user is refused before the password is looked at:
        # the refusal does not count as a failed attempt.
        user.check_can_sign_in()
        if checks.password is None:
            return _Verified(user, None, None)
        stored = user.check_has_password()
        # Backed off: refused before the check, so it costs no hash and is not counted as
        # a failed attempt by the lockout policy (it checked nothing).
        who = f"user:{user.id}"
        keys = [
            (
                LOGIN,
                who if checks.source_address is None else from_address(who, checks.source_address),
            )
        ]
        self.w.backoff.check(keys, time.monotonic())
        ok = await self.w.passwords.averify(stored, checks.password)
        if not ok:
            self.w.backoff.failed(keys, time.monotonic())
        new_hash = None
        if ok and self.w.passwords.needs_rehash(stored):
            new_hash = await self.w.passwords.ahash(checks.password)
        return _Verified(user, ok, new_hash)

    async def _create_once(self, caller: Caller, checks: SessionChecks) -> dict[str, Any] | None:
        """One try; ``None`` when the user changed since the password was verified."""
        verified = await self._verify(caller, checks)  # outside the write transaction
        at = now()
        async with self.w.db.write() as conn:
            user = await load_user(conn, caller, verified.user.id)
            user.check_can_sign_in()  # locked meanwhile: refused, not counted
            if user.password_hash != verified.user.password_hash:
                return None  # the password changed meanwhile: verify against the new one
            ref = {"userId": user.id, "userName": user.user_name}
            expected = {("user", user.id): user.sequence}
            if verified.password_ok is False:
                limit = await max_password_attempts(conn, caller.instance_id)
                outcome = lockout.after_failed_check(user.failed_attempts, limit)
                pending = [
                    PendingEvent(
                        "user.human.password.check.failed",
                        "user",
                        user.id,
                        user.org_id,
                        {**ref, "failedAttempts": outcome.failed_attempts},
                    )
                ]
                # Failed guesses never lock the instance's last active owner out (anyone
                # can send them): the back-off (services.oidc) slows them down instead.
                if outcome.locks and not await self._spares(conn, caller, user.id):
                    pending.append(
                        PendingEvent(
                            "user.locked",
                            "user",
                            user.id,
                            user.org_id,
                            {**ref, "lockedAt": iso(at), "reason": lockout.LOCKOUT_REASON},
                        )
                    )
                await self.w.commit(conn, caller, pending, expected=expected, at=at)
                failed = True
            else:
                failed = False
                pending = []
                if verified.password_ok:
                    pending.append(
                        PendingEvent(
                            "user.human.password.check.succeeded", "user", user.id, user.org_id, ref
                        )
                    )
                    if verified.new_hash is not None:
                        pending.append(
                            PendingEvent(
                                "user.human.password.hash.updated",
                                "user",
                                user.id,
                                user.org_id,
                                {**ref, "hashedPassword": verified.new_hash},
                            )
                        )
                session_id = self.w.ids.new()
                session_token = new_session_token()
                pending.append(
                    PendingEvent(
                        "session.added",
                        "session",
                        session_id,
                        user.org_id,
                        {
                            "sessionId": session_id,
                            **ref,
                            "passwordCheckedAt": iso(at) if verified.password_ok else None,
                            "tokenHash": token_hash(session_token),
                        },
                    )
                )
                stored = await self.w.commit(
                    conn,
                    caller,
                    pending,
                    expected={**expected, ("session", session_id): 0},
                    at=at,
                )
        if failed:
            # After the commit: the failed check (and a lockout) stays written.
            raise InvalidArgument(
                "password is invalid",
                details=[{"field": "checks.password.password", "problem": "does not match"}],
            )
        return {"sessionId": session_id, "sessionToken": session_token, "details": details(stored)}

    async def _spares(self, conn: Connection, caller: Caller, user_id: str) -> bool:
        await lock_administrators(conn, caller.instance_id)
        return await is_last_active_owner(conn, caller.instance_id, user_id)

    async def delete(self, caller: Caller, session_id: str) -> dict[str, Any]:
        async with self.w.db.write() as conn:
            session = await load_session(conn, caller.instance_id, session_id)
            session.ensure_exists()
            stored = await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "session.removed",
                        "session",
                        session_id,
                        session.org_id,
                        {
                            "sessionId": session_id,
                            "userId": session.user_id,
                            "userName": session.user_name,
                        },
                    )
                ],
                expected={("session", session_id): session.sequence},
            )
        return {"details": details(stored)}

    async def set_lockout(self, caller: Caller, max_attempts: int) -> dict[str, Any]:
        lockout.validate_max_attempts(max_attempts)
        async with self.w.db.write() as conn:
            stored = await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "instance.lockout.policy.changed",
                        "instance",
                        caller.instance_id,
                        caller.instance_id,
                        {"maxPasswordAttempts": max_attempts},
                    )
                ],
            )
        return {"details": details(stored)}
