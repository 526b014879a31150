"""The OpenID Connect provider's flows: authorize, sign in, token grants, userinfo,
introspection, revocation and end session.

Reads through :class:`OidcQueries`, writes through :class:`OidcCommands` (events),
signs through :class:`TokenMaker`. The HTTP shapes (forms, redirects, the login
page) live in ``keyhook.api.oidc_*``; this module speaks in parameters and results.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

from keyhook.clock import aware, now
from keyhook.command.oidc import (
    AuthRequestInput,
    NewGrant,
    OidcCommands,
    Subject,
)
from keyhook.command.sessions import SessionChecks, SessionCommands
from keyhook.command.users import UserCommands
from keyhook.crypto.passwords import Passwords
from keyhook.crypto.tokens import token_hash
from keyhook.domain import oidc as rules
from keyhook.domain.backoff import ADDRESS, LOGIN, Key, from_address
from keyhook.domain.caller import Caller
from keyhook.errors import (
    FailedPrecondition,
    InvalidArgument,
    KeyhookError,
    NotFound,
    OAuthError,
    PasswordChangeRequired,
)
from keyhook.query.oidc import Client, OidcQueries, UserRecord
from keyhook.services.oidc_tokens import ClientAuthenticator, Minted, TokenMaker, credentials
from keyhook.storage.database import Database

ACTIVE = "USER_STATE_ACTIVE"


class AuthorizePageError(Exception):
    """An authorize request that cannot be sent back to the client (RFC 6749 §4.1.2.1):
    the client or redirect URI is wrong. Shown to the user, never redirected."""


@dataclass(frozen=True)
class LoginPage:
    auth_request_id: str


@dataclass(frozen=True)
class Redirect:
    location: str


@dataclass(frozen=True)
class SignedIn:
    """A sign-in the browser already has: its session, who, and when the password was checked."""

    session_id: str
    subject: Subject
    auth_time: datetime


def _max_age(params: Mapping[str, str]) -> int | None:
    raw = rules.form_value(params, "max_age")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise OAuthError("invalid_request", "max_age must be a whole number of seconds")
    return int(raw)


def with_query(uri: str, params: Mapping[str, str | None]) -> str:
    present = {k: v for k, v in params.items() if v is not None}
    return uri + ("&" if urlsplit(uri).query else "?") + urlencode(present)


class OidcProvider:
    def __init__(
        self,
        db: Database,
        commands: OidcCommands,
        sessions: SessionCommands,
        queries: OidcQueries,
        tokens: TokenMaker,
        clients: ClientAuthenticator,
        passwords: Passwords,
    ) -> None:
        self.db = db
        self.commands = commands
        self.sessions = sessions
        self.queries = queries
        self.tokens = tokens
        self.clients = clients
        self.passwords = passwords
        self._instance: tuple[str, str] | None = None
        self._stand_in: str | None = None

    @property
    def issuer(self) -> str:
        return self.tokens.issuer

    async def system_caller(self, user_id: str = "system", org_id: str | None = None) -> Caller:
        if self._instance is None:
            async with self.db.read() as conn:
                row = (await conn.execute("SELECT id, default_org_id FROM instances")).one()
            self._instance = (row.id, row.default_org_id)
        instance_id, default_org = self._instance
        return Caller(instance_id, user_id, org_id or default_org, default_org)

    # -- /oauth/v2/authorize and the login page --------------------------------

    async def authorize(
        self, params: Mapping[str, str], session_token: str | None = None
    ) -> LoginPage | Redirect:
        client_id = params.get("client_id")
        client = await self.clients.applications.client(client_id) if client_id else None
        if client is None:
            raise AuthorizePageError(
                f"the application {client_id!r} is not known"
                if client_id
                else "client_id is missing"
            )
        try:
            redirect_uri = rules.check_redirect_uri(
                params.get("redirect_uri"), client.redirect_uris, client.app_type == "native"
            )
        except OAuthError as error:
            raise AuthorizePageError(error.message) from None
        state = rules.form_value(params, "state")
        try:
            request = self._authorization_request(client, redirect_uri, params)
            prompt = set((params.get("prompt") or "").split())
            if "none" in prompt and len(prompt) > 1:
                raise OAuthError(
                    "invalid_request", "prompt=none cannot be combined with other values"
                )
            reused = None
            if "login" not in prompt:
                reused = await self.signed_in(session_token, _max_age(params))
            if "none" in prompt and reused is None:
                raise OAuthError(
                    "login_required",
                    "the user must sign in (prompt=none, and no sign-in of this browser "
                    "can be reused)",
                )
        except OAuthError as error:
            return Redirect(
                with_query(
                    redirect_uri,
                    {"error": error.error, "error_description": error.message, "state": state},
                )
            )
        caller = await self.system_caller(org_id=client.org_id)
        request_id = await self.commands.add_auth_request(caller, request)
        if reused is None:
            return LoginPage(request_id)
        # Single sign-on: the browser's sign-in is reused; no page is shown.
        return await self._hand_out_code(
            caller,
            request_id,
            redirect_uri,
            state,
            reused.session_id,
            reused.subject,
            reused.auth_time,
        )

    async def signed_in(self, session_token: str | None, max_age: int | None) -> SignedIn | None:
        """The browser's earlier sign-in (its ``keyhook_session`` cookie), if it may be reused:
        the session still exists, its password check is younger than the login lifetime
        (and than ``max_age``), and the user is still active."""
        if not session_token:
            return None
        row = await self.queries.login_session(token_hash(session_token))
        if row is None or row.password_checked_at is None:
            return None
        checked = aware(row.password_checked_at)
        moment = now()
        if checked + self.tokens.lifetimes.login <= moment:
            return None
        if max_age is not None and checked + timedelta(seconds=max_age) < moment:
            return None
        user = await self.clients.users.user(row.user_id)
        if user is None or user.state != ACTIVE:
            return None
        if await self.queries.password_change_required(user.user_id):
            return None  # the login page first: it asks for a new password
        return SignedIn(row.id, Subject(user.user_id, user.user_name, user.org_id), checked)

    async def _hand_out_code(
        self,
        caller: Caller,
        request_id: str,
        redirect_uri: str,
        state: str | None,
        session_id: str,
        subject: Subject,
        auth_time: datetime | None,
    ) -> Redirect:
        code = secrets.token_urlsafe(32)
        await self.commands.link_session_and_add_code(
            caller,
            request_id,
            session_id,
            subject,
            token_hash(code),
            now() + self.tokens.lifetimes.code,
            auth_time,
        )
        return Redirect(with_query(redirect_uri, {"code": code, "state": state}))

    def _authorization_request(
        self, client: Client, redirect_uri: str, params: Mapping[str, str]
    ) -> AuthRequestInput:
        response_type = params.get("response_type")
        if response_type != "code":
            raise OAuthError(
                "unsupported_response_type",
                f"response_type {response_type!r} is not supported (allowed: code)",
            )
        if "authorization_code" not in client.grant_types:
            raise OAuthError(
                "unauthorized_client", "this client may not use the authorization code flow"
            )
        if params.get("response_mode", "query") != "query":
            raise OAuthError("invalid_request", "response_mode must be query (allowed: query)")
        if params.get("request") or params.get("request_uri"):
            raise OAuthError("request_not_supported", "request objects are not supported")
        scopes = rules.parse_scopes(params.get("scope"), require_openid=True)
        rules.check_code_challenge(
            rules.form_value(params, "code_challenge"),
            rules.form_value(params, "code_challenge_method"),
            required=client.public,
        )
        return AuthRequestInput(
            app_id=client.app_id,
            client_id=client.client_id,
            org_id=client.org_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=rules.form_value(params, "state"),
            nonce=rules.form_value(params, "nonce"),
            code_challenge=rules.form_value(params, "code_challenge"),
            expires_at=now() + self.tokens.lifetimes.auth_request,
        )

    async def pending_request(self, auth_request_id: str) -> Any:
        """The authorization request a login page is for, if it can still be completed."""
        row = await self.queries.auth_request(auth_request_id)
        if row is None or row.status != "pending" or aware(row.expires_at) <= now():
            return None
        return row

    async def sign_in(
        self,
        auth_request_id: str,
        login_name: str,
        password: str,
        address: str = "",
        new_password: str | None = None,
    ) -> tuple[Redirect, str]:
        """Check the password through a session (so the lockout policy applies) and
        send the browser back to the client with a code; also the session's token, for
        the browser to keep (single sign-on). Errors are Keyhook errors, for the login
        page to show.

        A user whose password must change (an initial password) is refused with
        :class:`PasswordChangeRequired` once the password is found right, and signs in
        by sending it again with ``new_password`` (checked by the password rules), which
        replaces it first."""
        row = await self.pending_request(auth_request_id)
        if row is None:
            raise FailedPrecondition(
                "this sign-in request has expired or was already used; "
                "start again from the application"
            )
        caller = await self.system_caller()
        # By the name as typed (known or not, so a back-off tells nothing about which
        # names exist) from this address; by address, for guesses over many names.
        keys: list[Key] = [
            (ADDRESS, address),
            (LOGIN, from_address("name:" + login_name.lower(), address)),
        ]
        self.sessions.w.backoff.check(keys, time.monotonic())
        try:
            created = await self.sessions.create(
                caller,
                SessionChecks(login_name=login_name, password=password, source_address=address),
            )
        except (NotFound, InvalidArgument, FailedPrecondition) as refusal:
            refused = await self._sign_in_refusal(refusal, login_name, password)
            if refused is not refusal or not _told_state(refusal):
                self.sessions.w.backoff.failed(keys, time.monotonic())  # a hash said no
            raise refused from None
        session = await self.queries.login_session(token_hash(created["sessionToken"]))
        if await self.queries.password_change_required(session.user_id):
            if new_password is None:
                await self.sessions.delete(caller, session.id)  # no sign-in came of it
                raise PasswordChangeRequired(
                    "the password is right, and must be changed before signing in",
                    details=[{"field": "newPassword", "problem": "required"}],
                )
            await UserCommands(self.sessions.w).set_password(caller, session.user_id, new_password)
        redirect = await self._hand_out_code(
            caller,
            auth_request_id,
            row.redirect_uri,
            row.state,
            session.id,
            Subject(session.user_id, session.login_name, session.org_id),
            # When the password was checked, as a reused sign-in says too (not when the
            # code was handed out, a moment later and possibly in the next second).
            aware(session.password_checked_at) if session.password_checked_at else None,
        )
        return redirect, str(created["sessionToken"])

    async def _sign_in_refusal(
        self, refusal: KeyhookError, login_name: str, password: str
    ) -> KeyhookError:
        """What the login page may say about a refused sign-in.

        Whether a user name exists must not show, in the words or in the time taken: an
        unknown name, a machine user or a user without a password costs one argon2
        check like a wrong password, and reads like one. That an account is locked or
        deactivated is told only to someone who knows its password.
        """
        problems = {str(detail.get("problem")) for detail in refusal.details}
        if isinstance(refusal, InvalidArgument) and "does not match" in problems:
            return refusal  # a wrong password: argon2 ran already
        if isinstance(refusal, FailedPrecondition) and problems & {
            "user is locked",
            "user is deactivated",
        }:
            stored = await self.queries.password_hash(login_name)
            if stored is not None and await self.passwords.averify(stored, password):
                return refusal
        else:
            await self.passwords.averify(await self._stand_in_hash(), password)
        return InvalidArgument("password is invalid")

    async def _stand_in_hash(self) -> str:
        """A hash of nothing, with the current parameters: checking against it costs
        what checking a real password costs."""
        if self._stand_in is None:
            self._stand_in = await self.passwords.ahash(secrets.token_urlsafe(32))
        return self._stand_in

    # -- /oauth/v2/token -------------------------------------------------------

    async def token(
        self, form: dict[str, str], authorization: str | None, address: str = ""
    ) -> dict[str, Any]:
        grant_type = form.get("grant_type")
        creds = credentials(form, authorization, address)
        if grant_type == "authorization_code":
            return await self._code_grant(await self.clients.client(creds), form)
        if grant_type == "refresh_token":
            return await self._refresh_grant(await self.clients.client(creds), form)
        if grant_type == "client_credentials":
            return await self._client_credentials(await self.clients.machine_user(creds), form)
        raise OAuthError(
            "unsupported_grant_type",
            f"grant_type {grant_type!r} is not supported "
            "(allowed: authorization_code, refresh_token, client_credentials)",
        )

    async def _active_user(self, user_id: str) -> UserRecord:
        user = await self.clients.users.user(user_id)
        if user is None or user.state != ACTIVE:
            raise OAuthError("invalid_grant", "the user is no longer active")
        return user

    async def _audience(
        self, user: UserRecord, audience: list[str], scopes: tuple[str, ...]
    ) -> tuple[list[str], tuple[str, ...]]:
        """``audience`` with the projects the project audience scopes name
        (``urn:zitadel:iam:org:project:id:{projectId}:aud``), as ZITADEL adds them; a
        project the instance does not have is left out, and so is its scope (ZITADEL
        adds any id; Keyhook grants no audience that names nothing)."""
        asked = rules.project_audiences(scopes)
        if not asked:
            return audience, scopes
        known = await self.queries.existing_projects(user.instance_id, asked)
        unknown = {rules.PROJECT_SCOPE_PREFIX + p + rules.AUD_SUFFIX for p in asked} - {
            rules.PROJECT_SCOPE_PREFIX + p + rules.AUD_SUFFIX for p in known
        }
        extended = [*audience, *(p for p in asked if p in known and p not in audience)]
        return extended, tuple(s for s in scopes if s not in unknown)

    def _refresh_allowed(self, client: Client, scopes: tuple[str, ...]) -> bool:
        return rules.OFFLINE_ACCESS in scopes and "refresh_token" in client.grant_types

    async def _code_grant(self, client: Client, form: dict[str, str]) -> dict[str, Any]:
        code = rules.form_value(form, "code")
        if code is None:
            raise OAuthError("invalid_request", "code is required")
        row = await self.queries.auth_request_by_code(token_hash(code))
        if row is None or row.client_id != client.client_id:
            raise OAuthError("invalid_grant", "the code is not valid")
        caller = await self.system_caller(org_id=client.org_id)
        if row.status == "exchanged":
            await self.commands.fail_auth_request(
                caller, row.id, "the code was used twice", revoke_grant=True
            )
            raise OAuthError(
                "invalid_grant", "the code was already used; the tokens issued for it are revoked"
            )
        if row.status != "code":
            raise OAuthError("invalid_grant", "the code is not valid")
        if aware(row.code_expires_at) <= now():
            raise OAuthError("invalid_grant", "the code has expired; sign in again")
        if rules.form_value(form, "redirect_uri") != row.redirect_uri:
            raise OAuthError(
                "invalid_grant",
                "redirect_uri does not match the one of the authorization request",
            )
        rules.check_code_verifier(rules.form_value(form, "code_verifier"), row.code_challenge)
        user = await self._active_user(row.user_id)
        scopes = tuple(orjson.loads(row.scopes))
        audience, scopes = await self._audience(user, [client.client_id, client.project_id], scopes)
        minted = await self.tokens.mint(
            user,
            client.client_id,
            audience,
            scopes,
            jwt_access=client.jwt_access,
            refresh=self._refresh_allowed(client, scopes),
            auth_time=aware(row.auth_time) if row.auth_time else None,
            nonce=row.nonce,
            login_session_id=row.session_id,
            id_token_alg=client.id_token_alg,
        )
        grant = replace(
            self._grant(minted, user, client.client_id, "authorization_code"),
            session_id=row.session_id,
            auth_time=aware(row.auth_time) if row.auth_time else None,
        )
        try:
            await self.commands.exchange_code(
                await self.system_caller(user.user_id, user.org_id), row.id, row.sequence, grant
            )
        except OAuthError:
            # Another exchange of the same code won the race: a reuse like any other,
            # so what that exchange was given is revoked too.
            await self.commands.fail_auth_request(
                caller, row.id, "the code was used twice", revoke_grant=True
            )
            raise OAuthError(
                "invalid_grant", "the code was already used; the tokens issued for it are revoked"
            ) from None
        await self.tokens.enqueue(minted.deferred)
        return minted.response()

    def _grant(self, minted: Minted, user: UserRecord, client_id: str, kind: str) -> NewGrant:
        return NewGrant(
            oidc_session_id=self.tokens.ids.new(),
            subject=Subject(user.user_id, user.user_name, user.org_id),
            client_id=client_id,
            scopes=minted.scopes,
            grant_type=kind,
            access=minted.access,
            refresh_hash=minted.refresh_hash,
            refresh_expires_at=minted.refresh_expires_at,
            metadata=tuple(minted.metadata),
        )

    async def _refresh_grant(self, client: Client, form: dict[str, str]) -> dict[str, Any]:
        if "refresh_token" not in client.grant_types:
            raise OAuthError("unauthorized_client", "this client may not use refresh tokens")
        presented = rules.form_value(form, "refresh_token")
        if presented is None:
            raise OAuthError("invalid_request", "refresh_token is required")
        old_hash = token_hash(presented)
        grant = await self.queries.grant_by_refresh(old_hash)
        if grant is None:
            reused = await self.queries.rotated_refresh(old_hash)
            if reused is not None:
                # A replaced refresh token came back: it was copied. Whoever holds the
                # current one may be the thief, so the whole grant ends (RFC 9700 §4.14.2).
                await self.commands.revoke_grant(
                    await self.system_caller(), reused, "a replaced refresh token was used again"
                )
                raise OAuthError(
                    "invalid_grant",
                    "the refresh token was already used; the grant is revoked, sign in again",
                )
        if (
            grant is None
            or grant.revoked
            or grant.client_id != client.client_id
            or grant.refresh_expires_at is None
            or aware(grant.refresh_expires_at) <= now()
        ):
            raise OAuthError("invalid_grant", "the refresh token is not valid any more")
        scopes = rules.narrowed_scopes(orjson.loads(grant.scopes), form.get("scope"))
        user = await self._active_user(grant.user_id)
        audience, scopes = await self._audience(user, [client.client_id, client.project_id], scopes)
        minted = await self.tokens.mint(
            user,
            client.client_id,
            audience,
            scopes,
            jwt_access=client.jwt_access,
            refresh=True,
            auth_time=aware(grant.auth_time) if grant.auth_time else None,
            login_session_id=grant.login_session_id,
            id_token_alg=client.id_token_alg,
        )
        assert minted.refresh_hash is not None and minted.refresh_expires_at is not None
        await self.commands.refresh(
            await self.system_caller(user.user_id, user.org_id),
            grant.id,
            grant.sequence,
            old_hash,
            Subject(user.user_id, user.user_name, user.org_id),
            client.client_id,
            minted.access,
            minted.refresh_hash,
            minted.refresh_expires_at,
            minted.metadata,
        )
        await self.tokens.enqueue(minted.deferred)
        return minted.response()

    async def _client_credentials(self, user: UserRecord, form: dict[str, str]) -> dict[str, Any]:
        if user.state != ACTIVE:
            raise OAuthError("invalid_client", "the machine user is not active", status=401)
        scopes = rules.parse_scopes(form.get("scope"), require_openid=False)
        # An ID token needs a sign-in; client credentials have none (OpenID Connect Core §2).
        scopes = tuple(s for s in scopes if s not in (rules.OPENID, rules.OFFLINE_ACCESS))
        audience, scopes = await self._audience(user, [user.user_name], scopes)
        minted = await self.tokens.mint(
            user,
            user.user_name,
            audience,
            scopes,
            jwt_access=user.jwt_access,
            refresh=False,
        )
        await self.commands.grant_client_credentials(
            await self.system_caller(user.user_id, user.org_id),
            self._grant(minted, user, user.user_name, "client_credentials"),
        )
        await self.tokens.enqueue(minted.deferred)
        return minted.response()


def _told_state(refusal: KeyhookError) -> bool:
    """Whether a refusal tells a locked or deactivated state (only with the right password)."""
    problems = {str(detail.get("problem")) for detail in refusal.details}
    return isinstance(refusal, FailedPrecondition) and bool(
        problems & {"user is locked", "user is deactivated"}
    )
