"""Someone keeps managing the instance: LockUser, DeactivateUser and DeleteUser refuse
the caller itself and the instance's last active ``IAM_OWNER``, and so do
UpdateAdministrator and DeleteAdministrator taking that role away.

A locked, deactivated or deleted user can no longer authenticate, so the last owner
disabling itself, or being disabled, would leave an instance nobody can manage short
of editing the database. Changes that could do so run one at a time per instance
(:func:`lock_administrators`), so two administrators cannot disable each other in
concurrent transactions.
"""

from __future__ import annotations

import orjson

from keyhook.domain import user as rules
from keyhook.domain.caller import Caller
from keyhook.domain.roles import OWNER, Grants, covers, permissions_of
from keyhook.errors import FailedPrecondition, PermissionDenied
from keyhook.storage.connection import Connection

_INSTANCE = "SELECT id FROM instances WHERE id = :id"
# SQLite has no row locks (and one writer at a time anyway); PostgreSQL locks the row.
_LOCK_INSTANCE = "SELECT id FROM instances WHERE id = :id FOR UPDATE"
# The instance's administrators whose user is active, with their roles.
_ACTIVE_ADMINISTRATORS = (
    "SELECT a.user_id, a.roles FROM administrators AS a JOIN users AS u ON u.id = a.user_id "
    "WHERE a.instance_id = :instance_id AND a.resource_type = 'instance' AND u.state = :state"
)


_GRANTS_OF = (
    "SELECT resource_type, resource_id, roles FROM administrators "
    "WHERE user_id = :user_id AND instance_id = :instance_id"
)


async def grants_of_user(conn: Connection, instance_id: str, user_id: str) -> Grants:
    rows = await conn.execute(_GRANTS_OF, {"user_id": user_id, "instance_id": instance_id})
    return Grants.of(
        (r.resource_type, r.resource_id, frozenset(orjson.loads(r.roles))) for r in rows
    )


def ensure_covers(caller: Caller, other: Grants, user_id: str, doing: str) -> None:
    """Refuse ``doing`` unless the caller holds every permission ``other`` holds (where
    it holds it): nobody raises a user above themselves, or takes over one above them."""
    mine = caller.grants
    if mine is None or covers(mine, other):
        return
    beyond = sorted(
        (other.instance - mine.instance)
        | {
            p
            for org, granted in other.orgs.items()
            for p in granted - mine.instance - mine.orgs.get(org, frozenset())
        }
    )
    raise PermissionDenied(
        f"{doing} needs every permission that user {user_id} holds or would hold, and the "
        f"caller's roles lack {', '.join(beyond)}; ask an administrator who has them",
        details=[{"field": "userId", "problem": "holds permissions the caller lacks"}],
    )


async def ensure_may_manage(conn: Connection, caller: Caller, user_id: str) -> None:
    """A user's credentials, profile and state are changed only by a caller holding at
    least the user's own permissions (an organization's administrator cannot issue a
    token to, or set the password of, an instance owner of its organization)."""
    if caller.grants is None:
        return
    other = await grants_of_user(conn, caller.instance_id, user_id)
    ensure_covers(caller, other, user_id, "changing this user")


def granted(level: str, org_id: str, roles: frozenset[str]) -> Grants:
    """The grants that ``roles`` on the instance (``level`` "instance") or on ``org_id``
    make."""
    if level == "instance":
        return Grants(permissions_of(roles))
    return Grants(frozenset(), {org_id: permissions_of(roles)})


async def lock_administrators(conn: Connection, instance_id: str) -> None:
    """Serialise changes of the instance's administrators and of its users' states."""
    await conn.execute(_INSTANCE if conn.is_sqlite else _LOCK_INSTANCE, {"id": instance_id})


async def active_owners(conn: Connection, instance_id: str) -> set[str]:
    """Active users holding ``IAM_OWNER`` of the instance."""
    rows = await conn.execute(
        _ACTIVE_ADMINISTRATORS,
        {"instance_id": instance_id, "state": rules.UserState.ACTIVE.value},
    )
    return {r.user_id for r in rows if OWNER in orjson.loads(r.roles)}


async def is_last_active_owner(conn: Connection, instance_id: str, user_id: str) -> bool:
    owners = await active_owners(conn, instance_id)
    return user_id in owners and not owners - {user_id}


async def ensure_an_owner_remains(
    conn: Connection, instance_id: str, user_id: str, doing: str
) -> None:
    """Refuse ``doing`` when ``user_id`` is the instance's last active IAM_OWNER."""
    if await is_last_active_owner(conn, instance_id, user_id):
        raise FailedPrecondition(
            f"user {user_id} is the last active {OWNER} of this instance; {doing} would "
            f"leave nobody able to manage it. Make another user {OWNER} first",
            details=[{"field": "userId", "problem": f"last active {OWNER}"}],
        )


async def ensure_access_remains(
    conn: Connection, caller: Caller, user: rules.User, verb: str
) -> None:
    """Refuse to ``verb`` (lock, deactivate, delete) ``user`` if it is the caller, or the
    instance's last active IAM_OWNER."""
    if user.id == caller.user_id:
        raise FailedPrecondition(
            f"you cannot {verb} yourself: user {user.id} is the caller of this request, and "
            "a user who can no longer authenticate cannot undo it; ask another administrator",
            details=[{"field": "userId", "problem": "is the caller"}],
        )
    await lock_administrators(conn, caller.instance_id)
    await ensure_an_owner_remains(conn, caller.instance_id, user.id, f"to {verb} it")
