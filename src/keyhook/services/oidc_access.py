"""What happens to tokens after they are issued: userinfo, introspection (RFC 7662),
revocation (RFC 7009) and RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

A presented access token is valid when its signature (JWT, ``typ`` ``JWT`` or
``at+jwt``) or
hash (opaque) matches, it is not expired, its row is not revoked, and the
application or machine user it was issued to still exists: revocation takes
effect at once, also for JWTs, wherever the token is checked through this
provider. Introspection also answers ``active: false`` for a user who is no
longer active.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from keyhook.clock import aware, now
from keyhook.command.oidc import Subject
from keyhook.crypto.tokens import token_hash
from keyhook.domain import oidc as rules
from keyhook.domain.target import Target
from keyhook.errors import OAuthError
from keyhook.query.oidc import UserRecord
from keyhook.services.oidc import ACTIVE, AuthorizePageError, OidcProvider, Redirect, with_query
from keyhook.services.oidc_signer import InvalidToken, TokenSigner
from keyhook.services.oidc_tokens import USERINFO_FUNCTION, credentials

OPAQUE_PREFIX = "kha_"


def bearer(authorization: str | None) -> str:
    if not authorization or authorization[:7].lower() != "bearer " or not authorization[7:].strip():
        raise OAuthError(
            "invalid_token", "send the access token as 'Authorization: Bearer <token>'", status=401
        )
    return authorization[7:].strip()


class TokenAccess:
    def __init__(self, provider: OidcProvider, signer: TokenSigner) -> None:
        self.p = provider
        self.signer = signer

    async def access_token(self, presented: str) -> Any:
        """The row of a valid access token, or None."""
        if presented.startswith(OPAQUE_PREFIX):
            row = await self.p.queries.access_token(token_hash=token_hash(presented))
        else:
            try:
                claims = await self.signer.verify(presented)
            except InvalidToken:
                return None
            if claims.get("iss") != self.p.issuer or not isinstance(claims.get("jti"), str):
                return None
            row = await self.p.queries.access_token(token_id=claims["jti"])
        if row is None or row.revoked or aware(row.expires_at) <= now():
            return None
        if not await self.owner_exists(row.grant_type, row.client_id):
            return None  # the application (or machine user) it was issued to is gone
        return row

    async def owner_exists(self, grant_type: str, client_id: str) -> bool:
        if grant_type == "client_credentials":
            return await self.p.clients.users.machine_user(client_id) is not None
        return await self.p.clients.applications.client(client_id) is not None

    async def userinfo(self, authorization: str | None) -> dict[str, Any]:
        row = await self.access_token(bearer(authorization))
        if row is None:
            raise OAuthError(
                "invalid_token", "the access token is expired, revoked or not valid", status=401
            )
        scopes = tuple(orjson.loads(row.scopes))
        if rules.OPENID not in scopes:
            raise OAuthError(
                "insufficient_scope", "userinfo needs a token with the openid scope", status=403
            )
        user = await self.p.clients.users.user(row.user_id)
        if user is None or user.state != ACTIVE:
            raise OAuthError("invalid_token", "the user is no longer active", status=401)
        claims = {
            "sub": user.user_id,
            **rules.standard_claims(user.profile, scopes),
            **rules.resource_owner_claims(user.org(), scopes),
        }
        deferred: list[tuple[Target, dict[str, Any]]] = []
        added = await self.p.tokens.functions(
            (USERINFO_FUNCTION,), user, row.client_id, scopes, claims, deferred
        )
        if added.metadata:
            await self.p.commands.set_metadata(
                await self.p.system_caller(user.user_id, user.org_id),
                Subject(user.user_id, user.user_name, user.org_id),
                added.metadata,
            )
        await self.p.tokens.enqueue(deferred)
        return {**claims, **added.token_claims(), "sub": user.user_id}

    async def _token_user(self, grant_type: str, client_id: str, user_id: str) -> UserRecord | None:
        if grant_type == "client_credentials":  # the machine user just looked at
            user = await self.p.clients.users.machine_user(client_id)
            if user is not None and user.user_id == user_id:
                return user
        return await self.p.clients.users.user(user_id)

    async def _caller(
        self, form: dict[str, str], authorization: str | None, address: str, *, allow_public: bool
    ) -> Introspector:
        """Who calls introspection or revocation: an application, or a machine user with
        its secret, which may then see and revoke only its own client credentials tokens.
        """
        creds = credentials(form, authorization, address)
        if (
            creds.secret is not None
            and await self.p.clients.applications.client(creds.client_id) is None
        ):
            user = await self.p.clients.machine_user(creds)
            return Introspector(user.user_name, None, user.org_id)
        client = await self.p.clients.client(creds, allow_public=allow_public)
        return Introspector(client.client_id, client.project_id, client.org_id)

    async def _visible(
        self, caller: Introspector, grant_type: str, token_client_id: str, token_org_id: str
    ) -> tuple[bool, list[str]]:
        """Whether ``caller`` may learn about a token issued to ``token_client_id`` by a
        grant of ``grant_type``, and the token's audience.

        An application's token: to the applications of its project. A machine user's:
        to itself and to the applications of its organization.
        """
        if grant_type == "client_credentials":
            mine = caller.client_id == token_client_id
            same_org = caller.project_id is not None and caller.org_id == token_org_id
            return mine or same_org, [token_client_id]
        app = await self.p.clients.applications.client(token_client_id)
        if app is None:
            return False, []
        return caller.project_id == app.project_id, [app.client_id, app.project_id]

    async def introspect(
        self, form: dict[str, str], authorization: str | None, address: str = ""
    ) -> dict[str, Any]:
        caller = await self._caller(form, authorization, address, allow_public=False)
        presented = rules.form_value(form, "token")
        if presented is None:
            raise OAuthError("invalid_request", "token is required")
        row = await self.access_token(presented)
        if row is not None:
            visible, audience = await self._visible(
                caller, row.grant_type, row.client_id, row.org_id
            )
            user = (
                await self._token_user(row.grant_type, row.client_id, row.user_id)
                if visible
                else None
            )
            if user is not None and user.state == ACTIVE:
                return {
                    "active": True,
                    "token_type": "Bearer",
                    "scope": " ".join(orjson.loads(row.scopes)),
                    "client_id": row.client_id,
                    "username": user.user_name,
                    "sub": row.user_id,
                    "aud": audience,
                    "iss": self.p.issuer,
                    "jti": row.id,
                    "iat": int(aware(row.created_at).timestamp()),
                    "exp": int(aware(row.expires_at).timestamp()),
                }
        grant = await self.p.queries.grant_by_refresh(token_hash(presented))
        if (
            grant is not None
            and not grant.revoked
            and grant.refresh_expires_at is not None
            and aware(grant.refresh_expires_at) > now()
            and (await self._visible(caller, grant.grant_type, grant.client_id, grant.org_id))[0]
            and await self._active(grant.user_id)
        ):
            return {
                "active": True,
                "token_type": "refresh_token",
                "scope": " ".join(orjson.loads(grant.scopes)),
                "client_id": grant.client_id,
                "sub": grant.user_id,
                "iss": self.p.issuer,
                "exp": int(aware(grant.refresh_expires_at).timestamp()),
            }
        return {"active": False}

    async def _active(self, user_id: str) -> bool:
        user = await self.p.clients.users.user(user_id)
        return user is not None and user.state == ACTIVE

    async def revoke(
        self, form: dict[str, str], authorization: str | None, address: str = ""
    ) -> None:
        client_id = (await self._caller(form, authorization, address, allow_public=True)).client_id
        presented = rules.form_value(form, "token")
        if presented is None:
            raise OAuthError("invalid_request", "token is required")
        grant = await self.p.queries.grant_by_refresh(token_hash(presented))
        if grant is not None:
            self._owned(grant.client_id, client_id)
            await self.p.commands.revoke_grant(
                await self.p.system_caller(grant.user_id, grant.org_id),
                grant.id,
                "the client revoked its refresh token",
            )
            return
        row = await self.access_token(presented)
        if row is None:
            return  # RFC 7009 §2.2: an unknown or already invalid token is not an error
        self._owned(row.client_id, client_id)
        await self.p.commands.revoke_access_token(
            await self.p.system_caller(row.user_id, row.org_id),
            row.oidc_session_id,
            row.id,
            row.user_id,
            row.org_id,
        )

    @staticmethod
    def _owned(token_client: str, client_id: str) -> None:
        if token_client != client_id:
            raise OAuthError("invalid_request", "the token was issued to another client")

    async def sign_out_request(self, params: dict[str, str]) -> SignOutRequest:
        """Check an end-session request: its ID token hint and where to go afterwards.

        Only an ID token this issuer signed counts as a hint (an access token does not,
        however it is signed); expired ones count, as RP-Initiated Logout allows.
        """
        hint = rules.form_value(params, "id_token_hint")
        claims: dict[str, Any] = {}
        if hint is not None:
            try:
                claims = await self.signer.verify(hint, check_expiry=False, typ="JWT")
            except InvalidToken:
                claims = {}
            if (
                claims.get("iss") != self.p.issuer
                or "jti" in claims  # an access token of ZITADEL's form (typ JWT too)
                or not isinstance(claims.get("aud"), str)
                or not isinstance(claims.get("sid"), str)
            ):
                raise AuthorizePageError("id_token_hint is not an ID token of this issuer")
        client_id = rules.form_value(params, "client_id") or claims.get("aud")
        if claims and client_id != claims.get("aud"):
            raise AuthorizePageError("client_id does not match the id_token_hint's audience")
        uri = rules.form_value(params, "post_logout_redirect_uri")
        if uri is not None:
            client = (
                await self.p.clients.applications.client(client_id)
                if isinstance(client_id, str)
                else None
            )
            if client is None:
                raise AuthorizePageError(
                    "post_logout_redirect_uri needs client_id or id_token_hint to be checked"
                )
            if uri not in client.post_logout_redirect_uris:
                raise AuthorizePageError(
                    f"post_logout_redirect_uri {uri!r} is not registered for this client "
                    f"(allowed: {', '.join(client.post_logout_redirect_uris) or 'none'})"
                )
        redirect = (
            None
            if uri is None
            else Redirect(with_query(uri, {"state": rules.form_value(params, "state")}))
        )
        sid = claims.get("sid")
        return SignOutRequest(sid if isinstance(sid, str) else None, redirect)

    async def own_session(self, session_token: str | None) -> str | None:
        """The login session of the browser's ``keyhook_session`` cookie, if it exists."""
        if not session_token:
            return None
        row = await self.p.queries.login_session(token_hash(session_token))
        return None if row is None else str(row.id)

    async def sign_out(self, session_ids: set[str]) -> None:
        """End the login sessions and every grant made from them."""
        caller = await self.p.system_caller()
        for session_id in sorted(session_ids):
            await self.p.commands.end_login_session(caller, session_id)


@dataclass(frozen=True)
class Introspector:
    client_id: str
    project_id: str | None  # None: a machine user
    org_id: str


@dataclass(frozen=True)
class SignOutRequest:
    hint_session_id: str | None  # the ID token hint's sid
    redirect: Redirect | None  # to the client's post-logout URI; None: Keyhook's page
