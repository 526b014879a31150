"""Who a bearer token belongs to."""

from __future__ import annotations

import time

from keyhook.clock import now
from keyhook.crypto.tokens import token_hash
from keyhook.domain.caller import Caller
from keyhook.errors import Unauthenticated
from keyhook.storage.database import Database

_QUERY = (
    "SELECT p.expires_at, u.id, u.org_id, u.state, i.id AS instance_id, i.default_org_id "
    "FROM personal_access_tokens AS p "
    "JOIN users AS u ON u.id = p.user_id "
    "JOIN instances AS i ON i.id = u.instance_id "
    "WHERE p.token_hash = :token_hash"
)


# How long a node remembers a token's user: a removed token, or a locked user's, works
# on a node that saw it for at most this long.
TOKEN_TTL = 0.5


class Authenticator:
    """Bearer tokens to callers, remembered for ``ttl`` seconds.

    The memory saves a database read on every API call; its price is that a
    user locked or deactivated keeps a working token for at most ``ttl``.
    """

    def __init__(self, db: Database, ttl: float = TOKEN_TTL, size: int = 1024) -> None:
        self._db = db
        self._ttl = ttl
        self._size = size
        self._known: dict[str, tuple[float, Caller]] = {}

    async def authenticate(self, token: str) -> Caller:
        key = token_hash(token)
        found = self._known.get(key)
        moment = time.monotonic()
        if found is not None and found[0] > moment:
            return found[1]
        caller = await authenticate(self._db, token)
        if len(self._known) >= self._size:
            self._known.clear()
        self._known[key] = (moment + self._ttl, caller)
        return caller


async def authenticate(db: Database, token: str) -> Caller:
    async with db.read() as conn:
        row = (await conn.execute(_QUERY, {"token_hash": token_hash(token)})).first()
    if row is None:
        raise Unauthenticated("the bearer token is not valid")
    if row.state != "USER_STATE_ACTIVE":
        raise Unauthenticated("the token's user is not active")
    if row.expires_at is not None and row.expires_at.replace(tzinfo=now().tzinfo) < now():
        raise Unauthenticated("the bearer token has expired")
    return Caller(
        instance_id=row.instance_id,
        user_id=row.id,
        org_id=row.org_id,
        default_org_id=row.default_org_id,
    )
