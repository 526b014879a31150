"""Making tokens: claims, function executions, signatures; and client authentication.

:class:`TokenMaker` builds the access token and ID token of one grant. Before
anything is signed it runs the function executions (DESIGN.md §3.4):
``complement_token`` and ``preaccesstoken`` add claims to both tokens,
``preuserinfo`` to the ID token (and to userinfo). What they ask to store as
user metadata is returned, to be written as events with the grant.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

from keyhook.actions.engine import ActionsEngine, FunctionContext, run_function
from keyhook.clock import now
from keyhook.command.oidc import AccessTokenRecord
from keyhook.config import OidcLifetimes
from keyhook.crypto.passwords import Passwords
from keyhook.crypto.tokens import token_hash
from keyhook.domain.backoff import ADDRESS, CLIENT, Backoff, from_address
from keyhook.domain.claims import Complement
from keyhook.domain.durations import parse_duration
from keyhook.domain.oidc import (
    API_AUDIENCE_SCOPE,
    OPENID,
    at_hash,
    resource_owner_claims,
    standard_claims,
)
from keyhook.domain.target import Target
from keyhook.domain.web_keys import DEFAULT_ID_TOKEN_ALG
from keyhook.errors import OAuthError, TargetError, field_error
from keyhook.ids import IdGenerator
from keyhook.query.oidc import Client, OidcQueries, UserRecord
from keyhook.query.recent_clients import RecentClients
from keyhook.query.recent_users import RecentUsers
from keyhook.services.oidc_signer import TokenSigner

ACCESS_FUNCTIONS = ("complement_token", "preaccesstoken")
ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 -- a JWT header type (RFC 9068 §2.1)
ZITADEL_TYP = "JWT"  # ZITADEL's header type, for access and ID tokens alike
# KEYHOOK_OIDC_ACCESS_TOKEN_FORM: the header type of JWT access tokens.
ACCESS_TOKEN_FORMS = {"zitadel": ZITADEL_TYP, "rfc9068": ACCESS_TOKEN_TYP}
USERINFO_FUNCTION = "preuserinfo"
# A verified client secret is remembered (by a hash of what was presented and the
# stored hash, so a new secret invalidates it) to keep argon2 off every token request.
_SECRET_CACHE_SIZE = 1024


@dataclass(frozen=True)
class Lifetimes:
    auth_request: timedelta
    login: timedelta
    code: timedelta
    access_token: timedelta
    id_token: timedelta
    refresh_token: timedelta

    @classmethod
    def parse(cls, raw: OidcLifetimes) -> Lifetimes:
        def seconds(value: str, name: str) -> timedelta:
            parsed = parse_duration(value, name)
            if parsed <= 0:
                raise field_error(name, f"{value!r} is no lifetime", "a duration above 0s")
            return timedelta(seconds=parsed)

        return cls(
            auth_request=seconds(raw.auth_request, "KEYHOOK_OIDC_AUTH_REQUEST_LIFETIME"),
            login=seconds(raw.login, "KEYHOOK_OIDC_LOGIN_LIFETIME"),
            code=seconds(raw.code, "KEYHOOK_OIDC_CODE_LIFETIME"),
            access_token=seconds(raw.access_token, "KEYHOOK_OIDC_ACCESS_TOKEN_LIFETIME"),
            id_token=seconds(raw.id_token, "KEYHOOK_OIDC_ID_TOKEN_LIFETIME"),
            refresh_token=seconds(raw.refresh_token, "KEYHOOK_OIDC_REFRESH_TOKEN_LIFETIME"),
        )


@dataclass
class Minted:
    """One token response, made but not yet committed."""

    access_token: str
    access: AccessTokenRecord
    scopes: tuple[str, ...]
    metadata: list[tuple[str, str]]
    id_token: str | None = None
    refresh_token: str | None = None
    refresh_hash: str | None = None
    refresh_expires_at: datetime | None = None
    # restAsync function targets, queued once the token is committed (never for a refusal).
    deferred: list[tuple[Target, dict[str, Any]]] = field(default_factory=list)

    def response(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": max(0, int((self.access.expires_at - now()).total_seconds())),
            "scope": " ".join(self.scopes),
        }
        if self.id_token is not None:
            body["id_token"] = self.id_token
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        return body


def new_refresh_token() -> tuple[str, str]:
    token = "khr_" + secrets.token_urlsafe(32)
    return token, token_hash(token)


def target_refusal(error: TargetError) -> OAuthError:
    """A function execution's target refused (``interruptOnError``): a standard error.

    The target's message is the ``error_description``, verbatim. A 4xx from the
    target is ``access_denied``; a failing or silent target is ``server_error``.
    """
    if 400 <= error.status < 500:
        return OAuthError("access_denied", error.message, status=403)
    return OAuthError("server_error", error.message, status=error.status)


def function_context(
    user: UserRecord, client_id: str, scopes: tuple[str, ...], claims: dict[str, Any]
) -> FunctionContext:
    """What a function execution's targets are told of ``user`` (and what a test of one
    is told, from a real user's data)."""
    return FunctionContext(
        instance_id=user.instance_id,
        org_id=user.org_id,
        user_id=user.user_id,
        client_id=client_id,
        scopes=scopes,
        claims=claims,
        user=user.payload(),
        user_metadata=user.metadata_payload(),
        userinfo={"sub": user.user_id, **standard_claims(user.profile, scopes)},
        zitadel_metadata=user.zitadel_metadata(),
        org=user.org(),
    )


def test_claims(
    function: str, user: UserRecord, scopes: tuple[str, ...], client_id: str
) -> dict[str, Any]:
    """The claims a function's targets would see first, for a test: the userinfo claims
    for ``preuserinfo``, an access token's (without ``iss`` and ``aud``) for the others."""
    if function == USERINFO_FUNCTION:
        return standard_claims(user.profile, scopes)
    issued = int(time.time())
    return {
        "sub": user.user_id,
        "client_id": client_id,
        "iat": issued,
        "nbf": issued,
        "exp": issued + 3600,
        "jti": "test",
        "scope": " ".join(scopes),
    }


class TokenMaker:
    def __init__(
        self,
        issuer: str,
        lifetimes: Lifetimes,
        engine: ActionsEngine,
        signer: TokenSigner,
        ids: IdGenerator,
        access_token_form: str = "zitadel",  # noqa: S107 -- a token form
    ) -> None:
        if access_token_form not in ACCESS_TOKEN_FORMS:
            raise field_error(
                "KEYHOOK_OIDC_ACCESS_TOKEN_FORM",
                f"{access_token_form!r} is not known",
                ", ".join(ACCESS_TOKEN_FORMS),
            )
        self.access_typ = ACCESS_TOKEN_FORMS[access_token_form]
        self.issuer = issuer
        self.lifetimes = lifetimes
        self.engine = engine
        self.signer = signer
        self.ids = ids

    async def functions(
        self,
        names: tuple[str, ...],
        user: UserRecord,
        client_id: str,
        scopes: tuple[str, ...],
        claims: dict[str, Any],
        deferred: list[tuple[Target, dict[str, Any]]],
    ) -> Complement:
        """Run the function executions ``names`` in order; what they added, together.

        ``restAsync`` targets are added to ``deferred``, for :meth:`enqueue` after the commit.
        """
        together = Complement()
        snapshot = await self.engine.catalog.current()
        called = [name for name in names if snapshot.for_function(name)]
        if not called:
            return together  # the common case: no payload to build
        for name in called:
            ctx = function_context(user, client_id, scopes, {**claims, **together.claims})
            try:
                together.merge(await run_function(self.engine, name, ctx, deferred))
            except TargetError as error:
                raise target_refusal(error) from None
        return together

    async def mint(
        self,
        user: UserRecord,
        client_id: str,
        audience: list[str],
        scopes: tuple[str, ...],
        *,
        jwt_access: bool,
        refresh: bool,
        auth_time: datetime | None = None,
        nonce: str | None = None,
        login_session_id: str | None = None,
        id_token_alg: str | None = None,
    ) -> Minted:
        """The tokens of one grant. ``audience`` already holds the projects of the
        project audience scopes; ``id_token_alg`` is the client's
        ``id_token_signed_response_alg`` (None: RS256, OpenID Connect's default)."""
        at = now()
        issued = int(at.timestamp())
        token_id = self.ids.new()
        if API_AUDIENCE_SCOPE in scopes and user.instance_id not in audience:
            audience = [*audience, user.instance_id]  # may call the API (services.api_tokens)
        expires = at + self.lifetimes.access_token
        access_claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user.user_id,
            "aud": audience,
            "client_id": client_id,
            "exp": int(expires.timestamp()),
            "iat": issued,
            "nbf": issued,
            "jti": token_id,
            "scope": " ".join(scopes),
            **resource_owner_claims(user.org(), scopes),
        }
        deferred: list[tuple[Target, dict[str, Any]]] = []
        added = await self.functions(
            ACCESS_FUNCTIONS, user, client_id, scopes, access_claims, deferred
        )
        userinfo_added = Complement()
        if OPENID in scopes:
            userinfo_added = await self.functions(
                (USERINFO_FUNCTION,),
                user,
                client_id,
                scopes,
                standard_claims(user.profile, scopes),
                deferred,
            )
        opaque_hash = None
        if jwt_access:
            access_token = await self.signer.sign(
                {**added.token_claims(), **access_claims}, typ=self.access_typ
            )
        else:
            access_token = f"kha_{token_id}.{secrets.token_urlsafe(32)}"
            opaque_hash = token_hash(access_token)
        minted = Minted(
            access_token=access_token,
            access=AccessTokenRecord(token_id, scopes, expires, opaque_hash),
            scopes=scopes,
            metadata=added.metadata + userinfo_added.metadata,
            deferred=deferred,
        )
        if OPENID in scopes:
            # Both executions' claims; a target in both keeps every line of its log claim.
            for_id_token = Complement()
            for_id_token.merge(added)
            for_id_token.merge(userinfo_added)
            id_claims: dict[str, Any] = {
                **standard_claims(user.profile, scopes),
                **for_id_token.token_claims(),
                "iss": self.issuer,
                "sub": user.user_id,
                "aud": client_id,
                "azp": client_id,
                "exp": int((at + self.lifetimes.id_token).timestamp()),
                "iat": issued,
                **resource_owner_claims(user.org(), scopes),
            }
            if auth_time is not None:
                id_claims["auth_time"] = int(auth_time.timestamp())
                id_claims["amr"] = ["pwd"]
            if nonce is not None:
                id_claims["nonce"] = nonce
            if login_session_id is not None:
                id_claims["sid"] = login_session_id
            key = await self.signer.key(id_token_alg or DEFAULT_ID_TOKEN_ALG)
            id_claims["at_hash"] = at_hash(access_token, key.algorithm)
            minted.id_token = self.signer.signed(key, id_claims, ZITADEL_TYP)
        if refresh:
            minted.refresh_token, minted.refresh_hash = new_refresh_token()
            minted.refresh_expires_at = at + self.lifetimes.refresh_token
        return minted

    async def enqueue(self, deferred: list[tuple[Target, dict[str, Any]]]) -> None:
        """Queue the restAsync function calls of an issued token (durable, retried)."""
        for target, payload in deferred:
            await self.engine.outbox.enqueue_call(
                target, payload, "function", str(payload["function"]), str(payload["instanceID"])
            )


@dataclass(frozen=True)
class Credentials:
    client_id: str
    secret: str | None
    method: str  # basic, post or none
    address: str = ""  # where the request came from (for the back-off)


def credentials(form: dict[str, str], authorization: str | None, address: str = "") -> Credentials:
    """The client's credentials: HTTP Basic (RFC 6749 §2.3.1) or the form's members."""
    if authorization and authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            raw_id, raw_secret = decoded.split(":", 1)
        except (ValueError, UnicodeDecodeError):
            raise OAuthError(
                "invalid_client", "the Authorization header is not valid Basic", status=401
            ) from None
        if form.get("client_id") and form["client_id"] != unquote_plus(raw_id):
            raise OAuthError(
                "invalid_request", "client_id in the form differs from the Authorization header"
            )
        return Credentials(unquote_plus(raw_id), unquote_plus(raw_secret), "basic", address)
    client_id = form.get("client_id")
    if not client_id:
        raise OAuthError(
            "invalid_client",
            "the client is not identified: send HTTP Basic or client_id in the form",
            status=401,
        )
    secret = form.get("client_secret") or None
    return Credentials(client_id, secret, "post" if secret else "none", address)


class ClientAuthenticator:
    """Checks client secrets and finds applications and users (remembered for a moment,
    see :mod:`keyhook.query.recent`); a secret that matched once is remembered (as a hash of
    hash and secret, the 1024 most recently used), so the check costs argon2 only the
    first time. Wrong secrets back off per client id *and* address, and per address
    (:mod:`keyhook.domain.backoff`)."""

    def __init__(
        self,
        queries: OidcQueries,
        users: RecentUsers,
        applications: RecentClients,
        passwords: Passwords,
        backoff: Backoff | None = None,
    ) -> None:
        self.queries = queries
        self.users = users
        self.applications = applications
        self.passwords = passwords
        self.backoff = backoff or Backoff()
        self._verified: OrderedDict[str, None] = OrderedDict()  # least recently used first

    async def secret_matches(self, stored_hash: str, presented: str, creds: Credentials) -> bool:
        key = hashlib.sha256(f"{stored_hash}\0{presented}".encode()).hexdigest()
        if key in self._verified:
            self._verified.move_to_end(key)
            return True
        who = [(CLIENT, from_address(creds.client_id, creds.address)), (ADDRESS, creds.address)]
        self.backoff.check(who, time.monotonic())  # refused without a hash
        if not await self.passwords.averify(stored_hash, presented):
            self.backoff.failed(who, time.monotonic())
            return False
        self._verified[key] = None
        if len(self._verified) > _SECRET_CACHE_SIZE:
            self._verified.popitem(last=False)
        return True

    async def client(self, creds: Credentials, *, allow_public: bool = True) -> Client:
        """The application the credentials name, if they prove it; ``invalid_client`` if not."""
        client = await self.applications.client(creds.client_id)
        if client is None:
            raise OAuthError(
                "invalid_client", f"client {creds.client_id!r} is not known", status=401
            )
        if client.public:
            if not allow_public:
                raise OAuthError(
                    "invalid_client",
                    "a public client cannot use this endpoint; use a confidential client",
                    status=401,
                )
            return client
        if creds.secret is None:
            raise OAuthError(
                "invalid_client",
                "this client is confidential: authenticate with its secret "
                "(client_secret_basic or client_secret_post)",
                status=401,
            )
        if client.secret_hash is None or not await self.secret_matches(
            client.secret_hash, creds.secret, creds
        ):
            raise OAuthError("invalid_client", "the client secret is wrong", status=401)
        return client

    async def machine_user(self, creds: Credentials) -> UserRecord:
        """The machine user of a client credentials request (its user name and secret)."""
        user = await self.users.machine_user(creds.client_id)
        if (
            user is None
            or user.secret_hash is None
            or creds.secret is None
            or not await self.secret_matches(user.secret_hash, creds.secret, creds)
        ):
            raise OAuthError(
                "invalid_client",
                "no machine user with this client id and secret "
                "(client credentials need a machine user's user name and secret from AddSecret)",
                status=401,
            )
        return user
