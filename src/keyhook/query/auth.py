"""Who a bearer token belongs to."""

from __future__ import annotations

from sqlalchemy import select

from keyhook.clock import now
from keyhook.crypto.tokens import token_hash
from keyhook.domain.caller import Caller
from keyhook.errors import Unauthenticated
from keyhook.storage import schema as t
from keyhook.storage.database import Database

_QUERY = (
    select(
        t.personal_access_tokens.c.expires_at,
        t.users.c.id,
        t.users.c.org_id,
        t.users.c.state,
        t.instances.c.id.label("instance_id"),
        t.instances.c.default_org_id,
    )
    .join(t.users, t.users.c.id == t.personal_access_tokens.c.user_id)
    .join(t.instances, t.instances.c.id == t.users.c.instance_id)
)


async def authenticate(db: Database, token: str) -> Caller:
    async with db.read() as conn:
        row = (
            await conn.execute(
                _QUERY.where(t.personal_access_tokens.c.token_hash == token_hash(token))
            )
        ).first()
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
