"""Commands of the OpenID Connect provider: authorization requests, grants, tokens.

Each step is one transaction of events on the ``auth_request`` and ``oidc_session``
aggregates (their read tables are projections, like every other). A step that
depends on a state checks it inside its transaction: a code is exchanged once,
a refresh token is used once, whatever the number of concurrent requests.
Codes and tokens are stored only as SHA-256 hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keyhook.clock import aware, iso, now
from keyhook.command.writer import Writer
from keyhook.domain.caller import Caller
from keyhook.errors import Conflict, FailedPrecondition, OAuthError
from keyhook.eventstore.store import PendingEvent
from keyhook.storage.connection import Connection

_AUTH_REQUEST = "SELECT * FROM oidc_auth_requests WHERE id = :id AND instance_id = :instance_id"
_GRANT_FOR_REVOCATION = "SELECT user_id, org_id, revoked FROM oidc_sessions WHERE id = :id"


@dataclass(frozen=True)
class Subject:
    """The user a grant is for."""

    user_id: str
    user_name: str
    org_id: str


@dataclass(frozen=True)
class AuthRequestInput:
    app_id: str
    client_id: str
    org_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str | None
    expires_at: datetime


@dataclass(frozen=True)
class AccessTokenRecord:
    token_id: str
    scopes: tuple[str, ...]
    expires_at: datetime
    token_hash: str | None = None  # opaque tokens only; a JWT is found by its jti


@dataclass(frozen=True)
class NewGrant:
    oidc_session_id: str
    subject: Subject
    client_id: str
    scopes: tuple[str, ...]
    grant_type: str
    access: AccessTokenRecord
    refresh_hash: str | None = None
    refresh_expires_at: datetime | None = None
    session_id: str | None = None
    auth_time: datetime | None = None
    metadata: Sequence[tuple[str, str]] = field(default_factory=tuple)


def _metadata_events(subject: Subject, items: Sequence[tuple[str, str]]) -> list[PendingEvent]:
    ref = {"userId": subject.user_id, "userName": subject.user_name}
    return [
        PendingEvent(
            "user.metadata.set",
            "user",
            subject.user_id,
            subject.org_id,
            {**ref, "key": key, "value": value},
        )
        for key, value in items
    ]


def _access_added(
    oidc_session_id: str, user_id: str, client_id: str, access: AccessTokenRecord
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "oidcSessionId": oidc_session_id,
        "tokenId": access.token_id,
        "userId": user_id,
        "clientId": client_id,
        "scopes": list(access.scopes),
        "expiresAt": iso(access.expires_at),
    }
    if access.token_hash is not None:
        data["tokenHash"] = access.token_hash
    return data


def _grant_events(grant: NewGrant) -> list[PendingEvent]:
    sid, owner = grant.oidc_session_id, grant.subject.org_id
    pending = [
        PendingEvent(
            "oidc_session.added",
            "oidc_session",
            sid,
            owner,
            {
                "oidcSessionId": sid,
                "userId": grant.subject.user_id,
                "userName": grant.subject.user_name,
                "clientId": grant.client_id,
                "scopes": list(grant.scopes),
                "grantType": grant.grant_type,
                "sessionId": grant.session_id,
                "authTime": iso(grant.auth_time) if grant.auth_time else None,
            },
        ),
        PendingEvent(
            "oidc_session.access_token.added",
            "oidc_session",
            sid,
            owner,
            _access_added(sid, grant.subject.user_id, grant.client_id, grant.access),
        ),
    ]
    if grant.refresh_hash is not None and grant.refresh_expires_at is not None:
        pending.append(
            PendingEvent(
                "oidc_session.refresh_token.added",
                "oidc_session",
                sid,
                owner,
                {
                    "oidcSessionId": sid,
                    "refreshTokenHash": grant.refresh_hash,
                    "expiresAt": iso(grant.refresh_expires_at),
                },
            )
        )
    return pending + _metadata_events(grant.subject, grant.metadata)


async def auth_request_row(conn: Connection, instance_id: str, request_id: str) -> Any:
    return (
        await conn.execute(_AUTH_REQUEST, {"id": request_id, "instance_id": instance_id})
    ).first()


class OidcCommands:
    def __init__(self, writer: Writer) -> None:
        self.w = writer

    async def add_auth_request(self, caller: Caller, request: AuthRequestInput) -> str:
        request_id = self.w.ids.new()
        async with self.w.db.write() as conn:
            await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "auth_request.added",
                        "auth_request",
                        request_id,
                        request.org_id,
                        {
                            "authRequestId": request_id,
                            "appId": request.app_id,
                            "clientId": request.client_id,
                            "redirectUri": request.redirect_uri,
                            "scopes": list(request.scopes),
                            "state": request.state,
                            "nonce": request.nonce,
                            "codeChallenge": request.code_challenge,
                            "codeChallengeMethod": "S256" if request.code_challenge else None,
                            "expiresAt": iso(request.expires_at),
                        },
                    )
                ],
                expected={("auth_request", request_id): 0},
            )
        return request_id

    async def link_session_and_add_code(
        self,
        caller: Caller,
        request_id: str,
        session_id: str,
        subject: Subject,
        code_hash: str,
        code_expires_at: datetime,
        auth_time: datetime | None = None,
    ) -> None:
        """The user signed in (now, or at ``auth_time`` for a reused sign-in): remember
        who, and hand out a code (stored as its hash)."""
        at = now()
        async with self.w.db.write() as conn:
            row = await auth_request_row(conn, caller.instance_id, request_id)
            if row is None or row.status != "pending" or aware(row.expires_at) <= at:
                raise FailedPrecondition(
                    "this sign-in request has expired or was already used; "
                    "start again from the application"
                )
            owner = subject.org_id
            await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "auth_request.session.linked",
                        "auth_request",
                        request_id,
                        owner,
                        {
                            "authRequestId": request_id,
                            "sessionId": session_id,
                            "userId": subject.user_id,
                            "userName": subject.user_name,
                            "authTime": iso(auth_time or at),
                        },
                    ),
                    PendingEvent(
                        "auth_request.code.added",
                        "auth_request",
                        request_id,
                        owner,
                        {
                            "authRequestId": request_id,
                            "codeHash": code_hash,
                            "expiresAt": iso(code_expires_at),
                        },
                    ),
                ],
                expected={("auth_request", request_id): row.sequence},
                at=at,
            )

    async def exchange_code(
        self, caller: Caller, request_id: str, sequence: int, grant: NewGrant
    ) -> None:
        """The code becomes a grant, once: a second exchange finds it used."""
        async with self.w.db.write() as conn:
            row = await auth_request_row(conn, caller.instance_id, request_id)
            if row is None or row.status != "code" or row.sequence != sequence:
                raise OAuthError("invalid_grant", "the code was already used")
            try:
                await self.w.commit(
                    conn,
                    caller,
                    [
                        PendingEvent(
                            "auth_request.code.exchanged",
                            "auth_request",
                            request_id,
                            grant.subject.org_id,
                            {"authRequestId": request_id, "oidcSessionId": grant.oidc_session_id},
                        ),
                        *_grant_events(grant),
                    ],
                    expected={
                        ("auth_request", request_id): sequence,
                        ("oidc_session", grant.oidc_session_id): 0,
                    },
                )
            except Conflict:
                raise OAuthError("invalid_grant", "the code was already used") from None

    async def grant_client_credentials(self, caller: Caller, grant: NewGrant) -> None:
        async with self.w.db.write(single=True) as conn:
            await self.w.commit(
                conn,
                caller,
                _grant_events(grant),
                expected={("oidc_session", grant.oidc_session_id): 0},
            )

    async def refresh(
        self,
        caller: Caller,
        oidc_session_id: str,
        seen_sequence: int,
        old_hash: str,
        subject: Subject,
        client_id: str,
        access: AccessTokenRecord,
        new_hash: str,
        refresh_expires_at: datetime,
        metadata: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Rotate: the old refresh token stops matching, the new one and an access token begin.

        ``seen_sequence`` is the grant's sequence where the caller found ``old_hash``
        current and the grant not revoked. Every change of the grant (a rotation, a
        revocation) appends an event of its own, so a change since then makes this
        command's events collide with it: the refresh token is then not valid."""
        async with self.w.db.write(single=True) as conn:
            owner = subject.org_id
            try:
                await self.w.commit(
                    conn,
                    caller,
                    [
                        PendingEvent(
                            "oidc_session.refresh_token.renewed",
                            "oidc_session",
                            oidc_session_id,
                            owner,
                            {
                                "oidcSessionId": oidc_session_id,
                                "refreshTokenHash": new_hash,
                                "previousRefreshTokenHash": old_hash,
                                "expiresAt": iso(refresh_expires_at),
                            },
                        ),
                        PendingEvent(
                            "oidc_session.access_token.added",
                            "oidc_session",
                            oidc_session_id,
                            owner,
                            _access_added(oidc_session_id, subject.user_id, client_id, access),
                        ),
                        *_metadata_events(subject, metadata),
                    ],
                    expected={("oidc_session", oidc_session_id): seen_sequence},
                )
            except Conflict:
                raise OAuthError(
                    "invalid_grant", "the refresh token is not valid any more"
                ) from None

    async def fail_auth_request(
        self, caller: Caller, request_id: str, reason: str, *, revoke_grant: bool = False
    ) -> None:
        """End a request without tokens; for a reused code, also end what the code granted.

        RFC 6749 §4.1.2: a code used twice should revoke the tokens issued from it.
        """
        async with self.w.db.write() as conn:
            row = await auth_request_row(conn, caller.instance_id, request_id)
            if row is None or row.status == "failed":
                return
            pending = [
                PendingEvent(
                    "auth_request.failed",
                    "auth_request",
                    request_id,
                    caller.org_id,
                    {"authRequestId": request_id, "reason": reason},
                )
            ]
            if revoke_grant and row.oidc_session_id:
                pending += await self._revocation(conn, row.oidc_session_id, reason)
            await self.w.commit(conn, caller, pending)

    async def _revocation(
        self, conn: Connection, oidc_session_id: str, reason: str
    ) -> list[PendingEvent]:
        grant = (await conn.execute(_GRANT_FOR_REVOCATION, {"id": oidc_session_id})).first()
        if grant is None or grant.revoked:
            return []
        return [
            PendingEvent(
                "oidc_session.revoked",
                "oidc_session",
                oidc_session_id,
                grant.org_id,
                {"oidcSessionId": oidc_session_id, "userId": grant.user_id, "reason": reason},
            )
        ]

    async def revoke_grant(self, caller: Caller, oidc_session_id: str, reason: str) -> None:
        async with self.w.db.write() as conn:
            pending = await self._revocation(conn, oidc_session_id, reason)
            if pending:
                await self.w.commit(conn, caller, pending)

    async def revoke_access_token(
        self, caller: Caller, oidc_session_id: str, token_id: str, user_id: str, org_id: str
    ) -> None:
        async with self.w.db.write() as conn:
            revoked = (
                await conn.execute(
                    "SELECT revoked FROM oidc_access_tokens WHERE id = :id", {"id": token_id}
                )
            ).scalar()
            if revoked is None or revoked:
                return
            await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "oidc_session.access_token.revoked",
                        "oidc_session",
                        oidc_session_id,
                        org_id,
                        {"oidcSessionId": oidc_session_id, "tokenId": token_id, "userId": user_id},
                    )
                ],
            )

    async def set_metadata(
        self, caller: Caller, subject: Subject, items: Sequence[tuple[str, str]]
    ) -> None:
        """Metadata a ``preuserinfo`` target asked for while userinfo was answered."""
        if not items:
            return
        async with self.w.db.write() as conn:
            await self.w.commit(conn, caller, _metadata_events(subject, items))

    async def end_login_session(self, caller: Caller, login_session_id: str) -> int:
        """Sign out: end every grant made from the login session, and the session itself."""
        async with self.w.db.write() as conn:
            grants = (
                await conn.execute(
                    "SELECT id FROM oidc_sessions WHERE login_session_id = :login_session_id "
                    "AND NOT revoked",
                    {"login_session_id": login_session_id},
                )
            ).all()
            pending: list[PendingEvent] = []
            for grant in grants:
                pending += await self._revocation(conn, grant.id, "the user signed out")
            session = (
                await conn.execute(
                    "SELECT user_id, org_id, login_name FROM sessions WHERE id = :id",
                    {"id": login_session_id},
                )
            ).first()
            if session is not None:
                pending.append(
                    PendingEvent(
                        "session.removed",
                        "session",
                        login_session_id,
                        session.org_id,
                        {
                            "sessionId": login_session_id,
                            "userId": session.user_id,
                            "userName": session.login_name,
                        },
                    )
                )
            if pending:
                await self.w.commit(conn, caller, pending)
        return len(grants)
