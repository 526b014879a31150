"""Read tables of the OpenID Connect provider as functions of its events.

Authorization requests, grants (``oidc_sessions``) and access tokens; applied in
the transaction that appends the events, like every projection in
:mod:`keyhook.command.projections`, which includes this table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import orjson

from keyhook.command.row_touch import Touch
from keyhook.eventstore.store import StoredEvent
from keyhook.storage.connection import Connection

_A = "oidc_auth_requests"
_S = "oidc_sessions"


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _scopes(values: list[str]) -> str:
    return orjson.dumps(values).decode()


_INSERT_AUTH_REQUEST = (
    "INSERT INTO oidc_auth_requests (id, instance_id, app_id, client_id, redirect_uri, scopes, "
    "state, nonce, code_challenge, status, expires_at, sequence, created_at, changed_at) "
    "VALUES (:id, :instance_id, :app_id, :client_id, :redirect_uri, :scopes, :state, :nonce, "
    ":code_challenge, :status, :expires_at, :sequence, :created_at, :changed_at)"
)


async def _auth_request_added(conn: Connection, e: StoredEvent) -> None:
    d = e.data
    await conn.later(
        _INSERT_AUTH_REQUEST,
        {
            "id": e.aggregate_id,
            "instance_id": e.instance_id,
            "app_id": d["appId"],
            "client_id": d["clientId"],
            "redirect_uri": d["redirectUri"],
            "scopes": _scopes(d["scopes"]),
            "state": d["state"],
            "nonce": d["nonce"],
            "code_challenge": d["codeChallenge"],
            "status": "pending",
            "expires_at": _time(d["expiresAt"]),
            "sequence": e.sequence,
            "created_at": e.created_at,
            "changed_at": e.created_at,
        },
    )


def _touch(table: str, e: StoredEvent, **values: object) -> Touch:
    """The aggregate's row took the event: its sequence and change time, and ``values``
    (run by the caller of the projector, merged with the command's other touches)."""
    return Touch(
        table, e.aggregate_id, {"sequence": e.sequence, "changed_at": e.created_at, **values}
    )


async def _auth_request_linked(conn: Connection, e: StoredEvent) -> Touch:
    return _touch(
        _A,
        e,
        user_id=e.data["userId"],
        session_id=e.data["sessionId"],
        auth_time=_time(e.data["authTime"]),
    )


async def _auth_request_code(conn: Connection, e: StoredEvent) -> Touch:
    return _touch(
        _A,
        e,
        status="code",
        code_hash=e.data["codeHash"],
        code_expires_at=_time(e.data["expiresAt"]),
    )


async def _auth_request_exchanged(conn: Connection, e: StoredEvent) -> Touch:
    return _touch(_A, e, status="exchanged", oidc_session_id=e.data["oidcSessionId"])


async def _auth_request_failed(conn: Connection, e: StoredEvent) -> Touch:
    return _touch(_A, e, status="failed")


async def _grant_added(conn: Connection, e: StoredEvent) -> Touch:
    d = e.data
    return Touch(
        _S,
        e.aggregate_id,
        {
            "id": e.aggregate_id,
            "instance_id": e.instance_id,
            "user_id": d["userId"],
            "org_id": e.resource_owner,
            "client_id": d["clientId"],
            "scopes": _scopes(d["scopes"]),
            "auth_time": _time(d["authTime"]),
            "login_session_id": d["sessionId"],
            "grant_type": d["grantType"],
            "revoked": False,
            "sequence": e.sequence,
            "created_at": e.created_at,
            "changed_at": e.created_at,
        },
        insert=True,
    )


_INSERT_ACCESS = (  # one access token
    "INSERT INTO oidc_access_tokens (id, instance_id, oidc_session_id, user_id, client_id, "
    "scopes, token_hash, expires_at, revoked, created_at) VALUES (:id, :instance_id, "
    ":oidc_session_id, :user_id, :client_id, :scopes, :token_hash, :expires_at, :revoked, "
    ":created_at)"
)


async def _access_token_added(conn: Connection, e: StoredEvent) -> Touch:
    d = e.data
    await conn.later(
        _INSERT_ACCESS,
        {
            "id": d["tokenId"],
            "instance_id": e.instance_id,
            "oidc_session_id": e.aggregate_id,
            "user_id": d["userId"],
            "client_id": d["clientId"],
            "scopes": _scopes(d["scopes"]),
            "token_hash": d.get("tokenHash"),
            "expires_at": _time(d["expiresAt"]),
            "revoked": False,
            "created_at": e.created_at,
        },
    )
    return _touch(_S, e)


async def _refresh_token_set(conn: Connection, e: StoredEvent) -> Touch:
    return _touch(
        _S,
        e,
        refresh_token_hash=e.data["refreshTokenHash"],
        refresh_expires_at=_time(e.data["expiresAt"]),
    )


async def _refresh_token_renewed(conn: Connection, e: StoredEvent) -> Touch:
    previous = e.data.get("previousRefreshTokenHash")
    if previous:
        await conn.later(
            "INSERT INTO oidc_rotated_refresh_tokens (token_hash, oidc_session_id, rotated_at) "
            "VALUES (:token_hash, :oidc_session_id, :rotated_at)",
            {
                "token_hash": previous,
                "oidc_session_id": e.aggregate_id,
                "rotated_at": e.created_at,
            },
        )
    return await _refresh_token_set(conn, e)


async def _access_token_revoked(conn: Connection, e: StoredEvent) -> Touch:
    await conn.later(
        "UPDATE oidc_access_tokens SET revoked = TRUE WHERE id = :id", {"id": e.data["tokenId"]}
    )
    return _touch(_S, e)


async def _grant_revoked(conn: Connection, e: StoredEvent) -> Touch:
    await conn.later(
        "UPDATE oidc_access_tokens SET revoked = TRUE WHERE oidc_session_id = :oidc_session_id",
        {"oidc_session_id": e.aggregate_id},
    )
    return _touch(_S, e, revoked=True, refresh_token_hash=None)


OIDC_PROJECTORS: dict[str, Callable[[Connection, StoredEvent], Awaitable[Touch | None]]] = {
    "auth_request.added": _auth_request_added,
    "auth_request.session.linked": _auth_request_linked,
    "auth_request.code.added": _auth_request_code,
    "auth_request.code.exchanged": _auth_request_exchanged,
    "auth_request.failed": _auth_request_failed,
    "oidc_session.added": _grant_added,
    "oidc_session.access_token.added": _access_token_added,
    "oidc_session.refresh_token.added": _refresh_token_set,
    "oidc_session.refresh_token.renewed": _refresh_token_renewed,
    "oidc_session.access_token.revoked": _access_token_revoked,
    "oidc_session.revoked": _grant_revoked,
}
