"""Reads of the OpenID Connect provider: clients, authorization requests, grants, tokens.

Plain lookups by key on the read tables that :mod:`keyhook.command.oidc_projections`
keeps; the provider (``keyhook.services.oidc``) decides what they mean.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from keyhook.clock import iso
from keyhook.domain.oidc import Profile
from keyhook.query.users import machine_details
from keyhook.storage.connection import Connection
from keyhook.storage.database import Database

_CLIENT = (
    "SELECT a.*, p.org_id FROM applications AS a JOIN projects AS p ON p.id = a.project_id "
    "WHERE a.client_id = :client_id"
)
_ACCESS_WITH_GRANT = (
    "SELECT k.*, g.grant_type, g.org_id FROM oidc_access_tokens AS k "
    "JOIN oidc_sessions AS g ON g.id = k.oidc_session_id WHERE "
)
_USER = (
    "SELECT u.*, o.name AS org_name FROM users AS u LEFT OUTER JOIN orgs AS o ON o.id = u.org_id "
    "WHERE "
)
_USER_METADATA = 'SELECT "key", value FROM user_metadata WHERE user_id = :user_id ORDER BY "key"'


@dataclass(frozen=True)
class Client:
    app_id: str
    instance_id: str
    project_id: str
    org_id: str
    client_id: str
    secret_hash: str | None
    app_type: str
    auth_method: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    access_token_type: str
    id_token_alg: str | None = None  # None: RS256 (OpenID Connect's default)

    @property
    def public(self) -> bool:
        return self.auth_method == "none"

    @property
    def jwt_access(self) -> bool:
        """Access tokens are JWTs (else opaque bearer tokens)."""
        return self.access_token_type == "jwt"  # noqa: S105 -- a token type, not a secret


# ZITADEL's numbers for user states, as its function payloads carry them.
_ZITADEL_STATES = {
    "USER_STATE_ACTIVE": 1,
    "USER_STATE_INACTIVE": 2,
    "USER_STATE_DELETED": 3,
    "USER_STATE_LOCKED": 4,
}


@dataclass(frozen=True)
class UserRecord:
    """A user as token issuance needs it: the claims' source and the function payload."""

    user_id: str
    instance_id: str
    org_id: str
    org_name: str
    user_name: str
    kind: str
    state: str
    profile: Profile
    secret_hash: str | None
    phone: str
    phone_verified: bool
    sequence: int
    created_at: datetime
    metadata: tuple[tuple[str, str], ...]
    # A machine user's client credentials tokens: JWT, or opaque (ACCESS_TOKEN_TYPE_BEARER).
    jwt_access: bool = True

    def payload(self) -> dict[str, Any]:
        """The ``user`` member of a function execution's payload.

        ZITADEL's shape (``id``, ``username``, ``human.first_name``, ``human.email``
        as a string, …), so receivers written for ZITADEL's function calls read it
        unchanged, plus the ids under the names the rest of Keyhook's payloads use.
        """
        p = self.profile
        user: dict[str, Any] = {
            "id": self.user_id,
            "userId": self.user_id,
            "creation_date": iso(self.created_at),
            "change_date": iso(p.updated_at),
            "resource_owner": self.org_id,
            "organizationId": self.org_id,
            "sequence": self.sequence,
            "state": _ZITADEL_STATES.get(self.state, 0),
            "username": self.user_name,
            "userName": self.user_name,
            "preferred_login_name": self.user_name,
        }
        if self.kind == "human":
            user["human"] = {
                "first_name": p.given_name,
                "last_name": p.family_name,
                "nick_name": p.nick_name,
                "display_name": p.display_name,
                "preferred_language": p.preferred_language,
                "email": p.email,
                "is_email_verified": p.email_verified,
                "phone": self.phone,
                "is_phone_verified": self.phone_verified,
            }
        else:
            user["machine"] = {"name": p.display_name}
        return user

    def metadata_payload(self) -> list[dict[str, str]]:
        """``userMetadata``: the values as stored (text)."""
        return [{"key": k, "value": v} for k, v in self.metadata]

    def zitadel_metadata(self) -> list[dict[str, str]]:
        """``user_metadata``: ZITADEL's form, values base64 (its metadata are bytes)."""
        return [
            {"key": k, "value": base64.b64encode(v.encode()).decode()} for k, v in self.metadata
        ]

    def org(self) -> dict[str, str]:
        """``org``: the user's organization, as ZITADEL's function payloads name it."""
        return {"id": self.org_id, "name": self.org_name, "primary_domain": ""}


def _json(text: str) -> tuple[str, ...]:
    return tuple(orjson.loads(text))


def _client(row: Any) -> Client:
    return Client(
        app_id=row.id,
        instance_id=row.instance_id,
        project_id=row.project_id,
        org_id=row.org_id,
        client_id=row.client_id,
        secret_hash=row.client_secret_hash,
        app_type=row.app_type,
        auth_method=row.auth_method,
        redirect_uris=_json(row.redirect_uris),
        post_logout_redirect_uris=_json(row.post_logout_redirect_uris),
        grant_types=_json(row.grant_types),
        access_token_type=row.access_token_type,
        id_token_alg=row.id_token_alg,
    )


class OidcQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def existing_projects(self, instance_id: str, project_ids: list[str]) -> set[str]:
        """Which of ``project_ids`` are projects of the instance."""
        if not project_ids:
            return set()
        names = {f"p{i}": pid for i, pid in enumerate(project_ids[:50])}
        async with self.db.read() as conn:
            rows = await conn.execute(
                "SELECT id FROM projects WHERE instance_id = :instance_id AND id IN ("  # noqa: S608 -- placeholders only
                + ", ".join(f":{n}" for n in names)
                + ")",
                {"instance_id": instance_id, **names},
            )
            return {str(pid) for pid in rows.scalars()}

    async def client(self, client_id: str) -> Client | None:
        async with self.db.read() as conn:
            row = (await conn.execute(_CLIENT, {"client_id": client_id})).first()
        return None if row is None else _client(row)

    async def auth_request(self, request_id: str) -> Any:
        async with self.db.read() as conn:
            return (
                await conn.execute(
                    "SELECT * FROM oidc_auth_requests WHERE id = :id", {"id": request_id}
                )
            ).first()

    async def auth_request_by_code(self, code_hash: str) -> Any:
        async with self.db.read() as conn:
            return (
                await conn.execute(
                    "SELECT * FROM oidc_auth_requests WHERE code_hash = :code_hash",
                    {"code_hash": code_hash},
                )
            ).first()

    async def grant(self, oidc_session_id: str) -> Any:
        async with self.db.read() as conn:
            return (
                await conn.execute(
                    "SELECT * FROM oidc_sessions WHERE id = :id", {"id": oidc_session_id}
                )
            ).first()

    async def grant_by_refresh(self, refresh_hash: str) -> Any:
        async with self.db.read() as conn:
            return (
                await conn.execute(
                    "SELECT * FROM oidc_sessions WHERE refresh_token_hash = :refresh_hash",
                    {"refresh_hash": refresh_hash},
                )
            ).first()

    async def access_token(self, token_id: str | None = None, token_hash: str | None = None) -> Any:
        """The access token's row, with its grant's ``grant_type`` and ``org_id``."""
        if token_id is not None:
            where, params = "k.id = :token_id", {"token_id": token_id}
        elif token_hash is not None:
            where, params = "k.token_hash = :token_hash", {"token_hash": token_hash}
        else:  # as before: neither given compares the hash with NULL
            where, params = "k.token_hash IS NULL", {}
        async with self.db.read() as conn:
            return (await conn.execute(_ACCESS_WITH_GRANT + where, params)).first()

    async def rotated_refresh(self, refresh_hash: str) -> str | None:
        """The grant whose refresh token, now replaced, had this hash."""
        async with self.db.read() as conn:
            found = (
                await conn.execute(
                    "SELECT oidc_session_id FROM oidc_rotated_refresh_tokens "
                    "WHERE token_hash = :refresh_hash",
                    {"refresh_hash": refresh_hash},
                )
            ).scalar()
        return None if found is None else str(found)

    async def login_session(self, token_hash: str) -> Any:
        """The session (from the login page) whose token has this hash, if it still exists."""
        async with self.db.read() as conn:
            return (
                await conn.execute(
                    "SELECT * FROM sessions WHERE token_hash = :token_hash",
                    {"token_hash": token_hash},
                )
            ).first()

    async def password_change_required(self, user_id: str) -> bool:
        async with self.db.read() as conn:
            found = (
                await conn.execute(
                    "SELECT password_change_required FROM users WHERE id = :id", {"id": user_id}
                )
            ).scalar()
        return bool(found)

    async def password_hash(self, login_name: str) -> str | None:
        """The stored password hash of the one user with this login name, if any."""
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    "SELECT password_hash FROM users WHERE lower(user_name) = :login_name LIMIT 2",
                    {"login_name": login_name.lower()},
                )
            ).all()
        return rows[0]["password_hash"] if len(rows) == 1 else None

    async def user(self, user_id: str) -> UserRecord | None:
        async with self.db.read() as conn:
            return await _user(conn, "u.id = :user_id", {"user_id": user_id})

    async def machine_user(self, user_name: str) -> UserRecord | None:
        """The machine user whose user name is ``user_name`` (its OAuth client id)."""
        async with self.db.read() as conn:
            return await _user(
                conn,
                "u.kind = :kind AND lower(u.user_name) = :user_name",
                {"kind": "machine", "user_name": user_name.lower()},
            )


async def _user(conn: Connection, where: str, params: dict[str, Any]) -> UserRecord | None:
    """The one user matching ``where`` (constant text on ``users AS u``), or None."""
    row = (await conn.execute(f"{_USER}{where} LIMIT 2", params)).all()
    if len(row) != 1:
        return None
    u = row[0]
    metadata = (await conn.execute(_USER_METADATA, {"user_id": u.id})).all()
    changed: datetime = u.changed_at
    jwt_access = True
    if u.kind == "machine":  # its client credentials tokens are of the type it was made with
        machine = (await machine_details(conn, u.instance_id, [u.id])).get(u.id, {})
        jwt_access = machine.get("accessTokenType") == "ACCESS_TOKEN_TYPE_JWT"
    return UserRecord(
        user_id=u.id,
        instance_id=u.instance_id,
        org_id=u.org_id,
        org_name=u.org_name or "",
        user_name=u.user_name,
        kind=u.kind,
        state=u.state,
        profile=Profile(
            user_id=u.id,
            user_name=u.user_name,
            given_name=u.given_name,
            family_name=u.family_name,
            display_name=u.display_name,
            nick_name=u.nick_name,
            preferred_language=u.preferred_language,
            email=u.email,
            email_verified=bool(u.email_verified),
            updated_at=changed,
        ),
        secret_hash=u.secret_hash,
        phone=u.phone,
        phone_verified=bool(u.phone_verified),
        sequence=u.sequence,
        created_at=u.created_at,
        metadata=tuple((m.key, m.value) for m in metadata),
        jwt_access=jwt_access,
    )
