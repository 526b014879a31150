"""The console's OIDC client follows the server's address, and keeps no other (the
attacker's review: an old address must not receive a sign-in's code)."""

from __future__ import annotations

import orjson

from keyhook.command.console_client import ensure_console_client
from keyhook.domain.caller import Caller
from tests.command.conftest import World


async def test_the_console_client_has_the_current_address_only(world: World) -> None:
    system = Caller(
        world.admin.instance_id, "system", world.admin.org_id, world.admin.default_org_id
    )
    first = await ensure_console_client(world.writer, system, "http://127.0.0.1:8080")
    assert first.redirect_uri == "http://127.0.0.1:8080/ui/console/callback"
    again = await ensure_console_client(world.writer, system, "http://127.0.0.1:8080")
    assert again.client_id == first.client_id
    moved = await ensure_console_client(world.writer, system, "https://id.example.com")
    assert moved.client_id == first.client_id
    async with world.writer.db.read() as conn:
        row = (
            await conn.execute(
                "SELECT redirect_uris, post_logout_redirect_uris FROM applications "
                "WHERE client_id = :c",
                {"c": first.client_id},
            )
        ).one()
    assert orjson.loads(row.redirect_uris) == ["https://id.example.com/ui/console/callback"]
    assert orjson.loads(row.post_logout_redirect_uris) == ["https://id.example.com/ui/console"]
