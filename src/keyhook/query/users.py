"""Users as the API shows them: ZITADEL's v2 user shape, and one user's metadata and
sign-in methods."""

from __future__ import annotations

from typing import Any

from keyhook.clock import iso, now
from keyhook.domain.caller import Caller
from keyhook.domain.user import MACHINE_TOKEN_TYPES
from keyhook.errors import NotFound
from keyhook.eventstore.store import from_row
from keyhook.query.paging import Search, count_and_rows
from keyhook.query.user_search import SORTING, Query, where
from keyhook.storage.connection import Connection, Row
from keyhook.storage.database import Database

MAX_LIMIT = 1000
_TOKEN_TYPE_WIRE = {stored: wire for wire, stored in MACHINE_TOKEN_TYPES.items()}

_MACHINE_EVENTS = (
    "SELECT * FROM events WHERE instance_id = :instance_id AND aggregate_type = :aggregate_type "
    "AND aggregate_id IN (:user_ids) AND event_type IN (:event_types) ORDER BY sequence"
)
_USER = "SELECT * FROM users WHERE id = :id AND instance_id = :instance_id"
_METADATA = 'SELECT * FROM user_metadata WHERE user_id = :user_id ORDER BY "key"'
_TEXT_MATCHES = (
    "(lower(user_name) LIKE :text OR lower(email) LIKE :text OR lower(display_name) LIKE :text)"
)


async def machine_details(
    conn: Connection, instance_id: str, user_ids: list[str]
) -> dict[str, dict[str, str]]:
    """Description and access token type of machine users, from their
    ``user.machine.added`` and ``user.machine.changed`` events: the ``users`` table has
    no columns for them."""
    if not user_ids:
        return {}
    rows = await conn.execute(
        _MACHINE_EVENTS,
        {
            "instance_id": instance_id,
            "aggregate_type": "user",
            "user_ids": user_ids,
            "event_types": ["user.machine.added", "user.machine.changed"],
        },
    )
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        data = from_row(row).data
        if row.event_type == "user.machine.changed":
            changed = data.get("changed", {})
            if "description" in changed and row.aggregate_id in found:
                found[row.aggregate_id]["description"] = str(changed["description"])
            continue
        found[row.aggregate_id] = {
            "description": str(data.get("description", "")),
            "accessTokenType": _TOKEN_TYPE_WIRE.get(
                str(data.get("accessTokenType", "bearer")), "ACCESS_TOKEN_TYPE_BEARER"
            ),
        }
    return found


def user_to_wire(row: Row, machine: dict[str, str] | None = None) -> dict[str, Any]:
    """ZITADEL's ``zitadel.user.v2.User``, member for member (its metadata is
    ListUserMetadata's)."""
    user: dict[str, Any] = {
        "userId": row["id"],
        "details": {
            "sequence": str(row["sequence"]),
            "changeDate": iso(row["changed_at"]),
            "resourceOwner": row["org_id"],
            "creationDate": iso(row["created_at"]),
        },
        "state": row["state"],
        "username": row["user_name"],
        "loginNames": [row["user_name"]],
        "preferredLoginName": row["user_name"],
    }
    if row["kind"] == "human":
        user["human"] = {
            "profile": {
                "givenName": row["given_name"],
                "familyName": row["family_name"],
                "nickName": row["nick_name"],
                "displayName": row["display_name"],
                "preferredLanguage": row["preferred_language"],
            },
            "email": {"email": row["email"], "isVerified": row["email_verified"]},
            "phone": {"phone": row["phone"], "isVerified": row["phone_verified"]},
            "passwordChangeRequired": bool(row["password_change_required"]),
        }
    else:
        details = machine or {}
        user["machine"] = {
            "name": row["display_name"],
            "description": details.get("description", ""),
            "accessTokenType": details.get("accessTokenType", "ACCESS_TOKEN_TYPE_BEARER"),
            "hasSecret": row["secret_hash"] is not None,
        }
    return user


class UserQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, caller: Caller, user_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = (
                await conn.execute(_USER, {"id": user_id, "instance_id": caller.instance_id})
            ).first()
            if row is None or not caller.sees_org(row.org_id):
                raise NotFound(
                    f"user {user_id} does not exist",
                    details=[{"field": "userId", "problem": "unknown"}],
                )
            machine = (
                await machine_details(conn, caller.instance_id, [user_id])
                if row.kind == "machine"
                else {}
            )
        return {"user": user_to_wire(row, machine.get(user_id))}

    async def list(
        self,
        caller: Caller,
        offset: int,
        limit: int,
        text: str | None,
        org_id: str | None,
        asc: bool = True,
        search: Query | None = None,
        sorting: str = "USER_FIELD_NAME_UNSPECIFIED",
    ) -> dict[str, Any]:
        found = Search("SELECT * FROM users").where(
            "instance_id = :instance_id", instance_id=caller.instance_id
        )
        if search is not None:
            condition, params = where(search)
            found.where(f"({condition})", **params)
        if org_id:
            found.where("org_id = :org_id", org_id=org_id)
        if caller.orgs is not None:
            # An organization's administrator lists the users of its organizations only.
            found.where("org_id IN (:caller_orgs)", caller_orgs=sorted(caller.orgs))
        if text:
            found.where(_TEXT_MATCHES, text=f"%{text.lower()}%")
        column = SORTING[sorting]
        direction = "" if asc else " DESC"
        order = f"id{direction}" if column == "id" else f"{column}{direction}, id{direction}"
        async with self.db.read() as conn:
            total, rows = await count_and_rows(conn, found, order, offset, limit)
            machines = await machine_details(
                conn, caller.instance_id, [r.id for r in rows if r.kind == "machine"]
            )
            result = [user_to_wire(r, machines.get(r.id)) for r in rows]
        # ZITADEL's ListDetails: the total, and when it was counted.
        answer: dict[str, Any] = {
            "details": {"totalResult": str(total), "timestamp": iso(now())},
            "result": result,
        }
        if sorting != "USER_FIELD_NAME_UNSPECIFIED":
            answer["sortingColumn"] = sorting
        return answer


# --- one user's metadata and sign-in methods (ListUserMetadata,
# ListAuthenticationMethodTypes) ------------------------------------------------------

_SIGN_IN = (
    "SELECT org_id, kind, password_hash, secret_hash FROM users "
    "WHERE id = :id AND instance_id = :instance_id"
)


def text_matches(value: str, wanted: str, method: str) -> bool:
    """ZITADEL's TextFilterMethod (``…_EQUALS``, ``…_STARTS_WITH_IGNORE_CASE``, …)."""
    if method.endswith("_IGNORE_CASE"):
        value, wanted = value.casefold(), wanted.casefold()
        method = method.removesuffix("_IGNORE_CASE")
    test = method.rsplit("_METHOD_", 1)[-1]
    if test == "STARTS_WITH":
        return value.startswith(wanted)
    if test == "ENDS_WITH":
        return value.endswith(wanted)
    if test == "CONTAINS":
        return wanted in value
    return value == wanted


def _unknown_user(user_id: str) -> NotFound:
    return NotFound(
        f"user {user_id} does not exist", details=[{"field": "userId", "problem": "unknown"}]
    )


async def visible_user(conn: Connection, caller: Caller, user_id: str) -> Row:
    row = (await conn.execute(_SIGN_IN, {"id": user_id, "instance_id": caller.instance_id})).first()
    if row is None or not caller.sees_org(row.org_id):
        raise _unknown_user(user_id)
    return row


class UserDetailQueries:
    """What one user has, as lists: its metadata and its ways to sign in."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def metadata(
        self,
        caller: Caller,
        user_id: str,
        key_filters: list[tuple[str, str]],
        offset: int,
        limit: int,
        asc: bool,
    ) -> tuple[int, list[tuple[str, str]]]:
        """The user's metadata items matching every ``(key, method)`` filter, sorted by
        key: the number of them, and the page from ``offset``."""
        async with self.db.read() as conn:
            await visible_user(conn, caller, user_id)
            rows = await conn.execute(_METADATA, {"user_id": user_id})
            items = [(r.key, r.value) for r in rows]
        matching = [(k, v) for k, v in items if all(text_matches(k, w, m) for w, m in key_filters)]
        if not asc:
            matching.reverse()
        return len(matching), matching[offset : offset + limit]

    async def authentication_methods(self, caller: Caller, user_id: str) -> list[str]:
        """The ways the user can sign in that Keyhook has: a password (humans), a client
        secret (machines, which ZITADEL lists as no method type). Keyhook has no passkeys,
        identity providers, TOTP, U2F or one-time codes."""
        async with self.db.read() as conn:
            row = await visible_user(conn, caller, user_id)
        return ["AUTHENTICATION_METHOD_TYPE_PASSWORD"] if row.password_hash else []
