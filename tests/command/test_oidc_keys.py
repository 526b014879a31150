"""Token signing keys: created once, rotated with the old key kept published."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from keyhook.clock import now
from keyhook.command.oidc_keys import (
    DEFAULT_PUBLISH_OLD_FOR,
    ensure_signing_key,
    rotate_signing_key,
)
from keyhook.config import from_environment
from keyhook.errors import InvalidArgument
from keyhook.query.oidc_keys import published_jwks, signing_key
from tests.command.conftest import World


async def test_ensure_creates_one_key_and_is_idempotent(world: World) -> None:
    kid = await ensure_signing_key(world.writer, world.admin)
    assert kid is not None
    assert await ensure_signing_key(world.writer, world.admin) is None
    jwks = await published_jwks(world.writer.db)
    assert [k["kid"] for k in jwks["keys"]] == [kid]
    key = jwks["keys"][0]
    assert key["kty"] == "EC" and key["crv"] == "P-256"
    assert key["alg"] == "ES256" and key["use"] == "sig"
    assert "d" not in key
    assert kid == ECKey.import_key(key).thumbprint()


async def test_private_key_is_sealed_in_the_event_and_the_table(world: World) -> None:
    await ensure_signing_key(world.writer, world.admin)
    kid, algorithm, key = await signing_key(world.writer.db, world.writer.box)
    private_d = key.as_dict(private=True)["d"]
    assert isinstance(private_d, str)
    async with world.writer.db.read() as conn:
        payload = (
            await conn.execute(
                "SELECT payload FROM events WHERE event_type = :event_type",
                {"event_type": "instance.web_key.added"},
            )
        ).scalar_one()
        sealed = (await conn.execute("SELECT private_key_sealed FROM oidc_signing_keys")).scalar()
    assert private_d not in payload
    assert orjson.loads(payload)["sealedPrivateKey"].startswith("v1:")
    assert isinstance(sealed, str) and private_d not in sealed
    assert algorithm == "ES256"
    token = jwt.encode({"alg": algorithm, "kid": kid}, {"sub": "1"}, key)
    public = ECKey.import_key((await published_jwks(world.writer.db))["keys"][0])
    assert jwt.decode(token, public).claims == {"sub": "1"}


async def test_rotation_retires_the_old_key_but_keeps_it_published(world: World) -> None:
    old = await ensure_signing_key(world.writer, world.admin)
    before = now()
    answer = await rotate_signing_key(world.writer, world.admin)
    new = answer["keyId"]
    assert new != old and answer["retiredKeyIds"] == [old]
    assert (await signing_key(world.writer.db, world.writer.box))[0] == new
    assert [k["kid"] for k in (await published_jwks(world.writer.db))["keys"]] == [new, old]
    async with world.writer.db.read() as conn:
        rows = {
            r.id: r
            for r in await conn.execute("SELECT id, active, retired_until FROM oidc_signing_keys")
        }
    assert rows[new].active and rows[new].retired_until is None
    assert not rows[old].active
    until = rows[old].retired_until
    assert until.tzinfo is not None  # aware UTC on both engines
    window = timedelta(seconds=DEFAULT_PUBLISH_OLD_FOR)
    assert before + window - timedelta(seconds=5) <= until <= now() + window
    # Rotating again retires only the active key; the first one keeps its own window.
    third = (await rotate_signing_key(world.writer, world.admin, 60))["keyId"]
    kids = [k["kid"] for k in (await published_jwks(world.writer.db))["keys"]]
    assert kids == [third, new, old]


async def test_a_key_retired_with_no_window_is_unpublished_at_once(world: World) -> None:
    old = await ensure_signing_key(world.writer, world.admin)
    new = (await rotate_signing_key(world.writer, world.admin, 0))["keyId"]
    kids = [k["kid"] for k in (await published_jwks(world.writer.db))["keys"]]
    assert kids == [new] and old not in kids


@pytest.mark.parametrize("seconds", [-1, 31 * 24 * 3600])
async def test_rotation_refuses_a_window_out_of_range(world: World, seconds: int) -> None:
    await ensure_signing_key(world.writer, world.admin)
    with pytest.raises(InvalidArgument, match="publishOldFor"):
        await rotate_signing_key(world.writer, world.admin, seconds)


async def test_default_window_follows_the_longest_configured_token_lifetime(
    world: World,
) -> None:
    world.writer.settings = from_environment(
        {"KEYHOOK_OIDC_ID_TOKEN_LIFETIME": "30h", "KEYHOOK_OIDC_ACCESS_TOKEN_LIFETIME": "1h"},
        data_dir=world.writer.settings.data_dir,
    )
    old = await ensure_signing_key(world.writer, world.admin)
    before = now()
    await rotate_signing_key(world.writer, world.admin)
    async with world.writer.db.read() as conn:
        until = (
            await conn.execute(
                "SELECT retired_until FROM oidc_signing_keys WHERE id = :id", {"id": old}
            )
        ).scalar_one()
    assert until.tzinfo is not None
    assert before + timedelta(hours=30) - timedelta(seconds=5) <= until
    assert until <= now() + timedelta(hours=30)
