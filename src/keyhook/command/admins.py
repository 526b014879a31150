"""Someone keeps access to the API: the rule behind LockUser, DeactivateUser and
DeleteUser refusing the caller itself and the last active holder of a usable PAT.

A locked, deactivated or deleted user's personal access tokens stop working, and
only the API issues new ones, so the last administrator disabling itself would
leave an instance nobody can manage short of editing the database. Until roles
exist every machine user with a usable PAT can call the whole API, so "an
administrator" is: an active user with a PAT that has not expired.
"""

from __future__ import annotations

from keyhook.clock import aware, now
from keyhook.domain import user as rules
from keyhook.domain.caller import Caller
from keyhook.errors import FailedPrecondition
from keyhook.storage.connection import Connection

_PAT_HOLDERS = (
    "SELECT users.id, personal_access_tokens.expires_at FROM users "
    "JOIN personal_access_tokens ON personal_access_tokens.user_id = users.id "
    "WHERE users.instance_id = :instance_id AND users.state = :state"
)
_INSTANCE = "SELECT id FROM instances WHERE id = :id"
# SQLite has no row locks (and one writer at a time anyway); PostgreSQL locks the row.
_LOCK_INSTANCE = "SELECT id FROM instances WHERE id = :id FOR UPDATE"


async def _pat_holders(conn: Connection, instance_id: str) -> set[str]:
    """Active users of the instance with a personal access token that has not expired."""
    rows = await conn.execute(
        _PAT_HOLDERS, {"instance_id": instance_id, "state": rules.UserState.ACTIVE.value}
    )
    moment = now()
    return {r.id for r in rows if r.expires_at is None or aware(r.expires_at) > moment}


async def ensure_access_remains(
    conn: Connection, caller: Caller, user: rules.User, verb: str
) -> None:
    """Refuse to ``verb`` (lock, deactivate, delete) ``user`` if that would leave the
    caller, or the instance, without a working personal access token."""
    if user.id == caller.user_id:
        raise FailedPrecondition(
            f"you cannot {verb} yourself: user {user.id} is the caller of this request, and "
            "a user who can no longer authenticate cannot undo it; ask another administrator",
            details=[{"field": "userId", "problem": "is the caller"}],
        )
    # One such check at a time per instance (PostgreSQL; SQLite has one writer anyway), so
    # two administrators cannot disable each other in concurrent transactions.
    await conn.execute(
        _INSTANCE if conn.is_sqlite else _LOCK_INSTANCE,
        {"id": caller.instance_id},
    )
    holders = await _pat_holders(conn, caller.instance_id)
    if user.id in holders and not holders - {user.id}:
        raise FailedPrecondition(
            f"user {user.id} holds the last usable personal access token of this instance; "
            f"to {verb} it would leave nobody able to call the API",
            details=[{"field": "userId", "problem": "last user with a usable access token"}],
        )
