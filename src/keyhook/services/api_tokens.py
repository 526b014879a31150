"""OIDC access tokens as API credentials: who a JWT or opaque access token Keyhook
issued belongs to, when it may call the API.

ZITADEL's audience rule: a token calls the API only when it was issued with the
scope ``urn:zitadel:iam:org:project:id:zitadel:aud`` (its ``aud`` then holds the
instance's id); a token for an application's own audience alone is refused. Expired,
revoked and wrong-audience tokens are refused with a message saying which.

A JWT's signature is checked in memory (the signer remembers verified tokens); its
revocation, its user's state and its audience are remembered per token for
``TOKEN_TTL`` seconds, so an API call with a token seen in that time reads nothing
from the database, and a revoked token, or its locked user, is refused on every node
within that bound (docs/api.md).
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from keyhook.clock import aware, now
from keyhook.crypto.tokens import token_hash
from keyhook.domain.caller import Caller
from keyhook.domain.oidc import API_AUDIENCE_SCOPE
from keyhook.errors import Unauthenticated
from keyhook.query.auth import TOKEN_TTL
from keyhook.services.oidc import ACTIVE
from keyhook.services.oidc_access import OPAQUE_PREFIX, TokenAccess
from keyhook.services.oidc_signer import InvalidToken
from keyhook.services.oidc_tokens import ACCESS_TOKEN_TYP, ZITADEL_TYP
from keyhook.storage.database import Database

_DEFAULT_ORG = "SELECT default_org_id FROM instances WHERE id = :id"


class ApiTokens:
    def __init__(
        self, db: Database, access: TokenAccess, ttl: float = TOKEN_TTL, size: int = 4096
    ) -> None:
        self._db = db
        self._access = access
        self._ttl = ttl
        self._size = size
        # token → (remember until (monotonic), the token's expiry (epoch s), caller)
        self._known: dict[str, tuple[float, float, Caller]] = {}
        self._default_orgs: dict[str, str] = {}

    async def authenticate(self, token: str) -> Caller:
        found = self._known.get(token)
        if found is not None and found[0] > time.monotonic():
            if found[1] <= time.time():
                raise Unauthenticated("the access token has expired; get a new one")
            return found[2]
        caller, expires = await self._look_up(token)
        if len(self._known) >= self._size:
            self._known.clear()
        self._known[token] = (time.monotonic() + self._ttl, expires, caller)
        return caller

    async def _row(self, token: str) -> Any:
        queries = self._access.p.queries
        if token.startswith(OPAQUE_PREFIX):
            return await queries.access_token(token_hash=token_hash(token))
        try:
            # An access token only (ZITADEL's or RFC 9068's type; an ID token of this
            # issuer has no jti, so it matches no token row).
            claims = await self._access.signer.verify(
                token, check_expiry=False, typ=(ZITADEL_TYP, ACCESS_TOKEN_TYP)
            )
        except InvalidToken:
            return None
        if claims.get("iss") != self._access.p.issuer or not isinstance(claims.get("jti"), str):
            return None
        return await queries.access_token(token_id=claims["jti"])

    async def _look_up(self, token: str) -> tuple[Caller, float]:
        row = await self._row(token)
        if row is None:
            raise Unauthenticated(
                "the bearer token is not valid: neither a personal access token nor an "
                "access token this instance issued"
            )
        expires = aware(row.expires_at)
        if expires <= now():
            raise Unauthenticated("the access token has expired; get a new one")
        if row.revoked:
            raise Unauthenticated("the access token has been revoked")
        if API_AUDIENCE_SCOPE not in orjson.loads(row.scopes):
            raise Unauthenticated(
                "the access token was issued for another audience: to call the API, ask for "
                f"the scope {API_AUDIENCE_SCOPE} when getting it"
            )
        if not await self._access.owner_exists(row.grant_type, row.client_id):
            raise Unauthenticated(
                "the access token is no longer valid: the application or machine user it was "
                "issued to has been deleted"
            )
        # Read, not taken from the recent users' memory (1 s): the bound is TOKEN_TTL.
        user = await self._access.p.queries.user(row.user_id)
        if user is None or user.state != ACTIVE:
            raise Unauthenticated("the token's user is not active")
        caller = Caller(
            instance_id=user.instance_id,
            user_id=user.user_id,
            org_id=user.org_id,
            default_org_id=await self._default_org(user.instance_id),
        )
        return caller, expires.timestamp()

    async def _default_org(self, instance_id: str) -> str:
        known = self._default_orgs.get(instance_id)
        if known is None:  # an instance's default organization never changes
            async with self._db.read() as conn:
                known = str((await conn.execute(_DEFAULT_ORG, {"id": instance_id})).scalar_one())
            self._default_orgs[instance_id] = known
        return known
