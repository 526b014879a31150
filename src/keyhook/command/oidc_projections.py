"""Read tables of the OpenID Connect provider as functions of its events.

Authorization requests, grants (``oidc_sessions``) and access tokens; applied in
the transaction that appends the events, like every projection in
:mod:`keyhook.command.projections`, which includes this table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import orjson
from sqlalchemy import Table, insert, update
from keyhook.storage.connection import Connection

from keyhook.eventstore.store import StoredEvent
from keyhook.storage import schema as t

_A = t.oidc_auth_requests
_S = t.oidc_sessions
_T = t.oidc_access_tokens


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _scopes(values: list[str]) -> str:
    return orjson.dumps(values).decode()


async def _auth_request_added(conn: Connection, e: StoredEvent) -> None:
    d = e.data
    await conn.execute(
        insert(_A).values(
            id=e.aggregate_id,
            instance_id=e.instance_id,
            app_id=d["appId"],
            client_id=d["clientId"],
            redirect_uri=d["redirectUri"],
            scopes=_scopes(d["scopes"]),
            state=d["state"],
            nonce=d["nonce"],
            code_challenge=d["codeChallenge"],
            status="pending",
            expires_at=_time(d["expiresAt"]),
            sequence=e.sequence,
            created_at=e.created_at,
            changed_at=e.created_at,
        )
    )


async def _touch(conn: Connection, table: Table, e: StoredEvent, **values: object) -> None:
    """The aggregate's row took the event: its sequence and change time, and ``values``."""
    await conn.execute(
        update(table)
        .where(table.c.id == e.aggregate_id)
        .values(sequence=e.sequence, changed_at=e.created_at, **values)
    )


async def _auth_request_linked(conn: Connection, e: StoredEvent) -> None:
    await _touch(
        conn,
        _A,
        e,
        user_id=e.data["userId"],
        session_id=e.data["sessionId"],
        auth_time=_time(e.data["authTime"]),
    )


async def _auth_request_code(conn: Connection, e: StoredEvent) -> None:
    await _touch(
        conn,
        _A,
        e,
        status="code",
        code_hash=e.data["codeHash"],
        code_expires_at=_time(e.data["expiresAt"]),
    )


async def _auth_request_exchanged(conn: Connection, e: StoredEvent) -> None:
    await _touch(conn, _A, e, status="exchanged", oidc_session_id=e.data["oidcSessionId"])


async def _auth_request_failed(conn: Connection, e: StoredEvent) -> None:
    await _touch(conn, _A, e, status="failed")


async def _grant_added(conn: Connection, e: StoredEvent) -> None:
    d = e.data
    await conn.execute(
        insert(_S).values(
            id=e.aggregate_id,
            instance_id=e.instance_id,
            user_id=d["userId"],
            org_id=e.resource_owner,
            client_id=d["clientId"],
            scopes=_scopes(d["scopes"]),
            auth_time=_time(d["authTime"]),
            login_session_id=d["sessionId"],
            grant_type=d["grantType"],
            revoked=False,
            sequence=e.sequence,
            created_at=e.created_at,
            changed_at=e.created_at,
        )
    )


async def _access_token_added(conn: Connection, e: StoredEvent) -> None:
    d = e.data
    await conn.execute(
        insert(_T).values(
            id=d["tokenId"],
            instance_id=e.instance_id,
            oidc_session_id=e.aggregate_id,
            user_id=d["userId"],
            client_id=d["clientId"],
            scopes=_scopes(d["scopes"]),
            token_hash=d.get("tokenHash"),
            expires_at=_time(d["expiresAt"]),
            revoked=False,
            created_at=e.created_at,
        )
    )
    await _touch(conn, _S, e)


async def _refresh_token_set(conn: Connection, e: StoredEvent) -> None:
    await _touch(
        conn,
        _S,
        e,
        refresh_token_hash=e.data["refreshTokenHash"],
        refresh_expires_at=_time(e.data["expiresAt"]),
    )


async def _refresh_token_renewed(conn: Connection, e: StoredEvent) -> None:
    previous = e.data.get("previousRefreshTokenHash")
    if previous:
        await conn.execute(
            insert(t.oidc_rotated_refresh_tokens).values(
                token_hash=previous, oidc_session_id=e.aggregate_id, rotated_at=e.created_at
            )
        )
    await _refresh_token_set(conn, e)


async def _access_token_revoked(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(update(_T).where(_T.c.id == e.data["tokenId"]).values(revoked=True))
    await _touch(conn, _S, e)


async def _grant_revoked(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(
        update(_T).where(_T.c.oidc_session_id == e.aggregate_id).values(revoked=True)
    )
    await _touch(conn, _S, e, revoked=True, refresh_token_hash=None)


OIDC_PROJECTORS: dict[str, Callable[[Connection, StoredEvent], Awaitable[None]]] = {
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
