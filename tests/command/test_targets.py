"""Target commands: custom header values are write-only, so an update keeps a header
whose value it sends back as the mask, and refuses the mask for a header that is not
there."""

from __future__ import annotations

import orjson
import pytest

from keyhook.command.targets import TargetCommands, load_target
from keyhook.domain.target import HEADER_MASK
from keyhook.errors import InvalidArgument
from tests.command.conftest import World


async def _headers(world: World, target_id: str) -> dict[str, str]:
    async with world.writer.db.read() as conn:
        state = await load_target(conn, world.admin.instance_id, target_id)
    assert state.sealed_headers is not None
    stored: dict[str, str] = orjson.loads(world.writer.box.open(state.sealed_headers))
    return stored


async def _created(world: World) -> tuple[TargetCommands, str]:
    targets = TargetCommands(world.writer)
    created = await targets.create(
        world.admin,
        {
            "name": "crm",
            "endpoint": "https://crm.example.com/hook",
            "timeout": "5s",
            "restWebhook": {},
            "headers": {"X-Api-Key": "first secret", "X-Team": "blue"},
        },
    )
    return targets, created["id"]


async def test_the_mask_keeps_a_stored_value_while_others_change(world: World) -> None:
    targets, target_id = await _created(world)
    await targets.update(
        world.admin,
        target_id,
        {"headers": {"X-Api-Key": HEADER_MASK, "X-Team": "red", "X-New": "n"}},
    )
    assert await _headers(world, target_id) == {
        "X-Api-Key": "first secret",
        "X-Team": "red",
        "X-New": "n",
    }


async def test_a_header_left_out_is_removed(world: World) -> None:
    targets, target_id = await _created(world)
    await targets.update(world.admin, target_id, {"headers": {"X-Team": HEADER_MASK}})
    assert await _headers(world, target_id) == {"X-Team": "blue"}


async def test_the_mask_for_a_header_the_target_lacks_is_refused(world: World) -> None:
    targets, target_id = await _created(world)
    with pytest.raises(InvalidArgument) as caught:
        await targets.update(world.admin, target_id, {"headers": {"X-Other": HEADER_MASK}})
    assert caught.value.details[0]["field"] == "headers.X-Other"
    assert await _headers(world, target_id) == {"X-Api-Key": "first secret", "X-Team": "blue"}


async def test_headers_do_not_follow_the_endpoint_to_another_origin(world: World) -> None:
    """The attacker's review: whoever may change a target pointed it at a receiver of
    their own and read its secret headers there. Now a move to another origin needs
    the headers sent again in clear (or dropped); a new path on the same origin keeps
    them."""
    targets, target_id = await _created(world)
    same = "https://crm.example.com:443/other-path"
    await targets.update(world.admin, target_id, {"endpoint": same})
    assert (await _headers(world, target_id))["X-Api-Key"] == "first secret"
    for elsewhere in ("https://attacker.example.com/hook", "https://crm.example.com:8443/hook"):
        with pytest.raises(InvalidArgument) as caught:
            await targets.update(world.admin, target_id, {"endpoint": elsewhere})
        assert caught.value.details[0]["field"] == "headers"
        with pytest.raises(InvalidArgument) as caught:
            await targets.update(
                world.admin,
                target_id,
                {"endpoint": elsewhere, "headers": {"X-Api-Key": HEADER_MASK, "X-Team": "x"}},
            )
        assert caught.value.details[0]["field"] == "headers.X-Api-Key"
    assert (await _headers(world, target_id))["X-Api-Key"] == "first secret", "nothing moved"
    await targets.update(
        world.admin,
        target_id,
        {"endpoint": "https://new.example.com/hook", "headers": {"X-Api-Key": "new secret"}},
    )
    assert await _headers(world, target_id) == {"X-Api-Key": "new secret"}
    await targets.update(
        world.admin, target_id, {"endpoint": "https://third.example.com/h", "headers": {}}
    )
    async with world.writer.db.read() as conn:
        assert (await load_target(conn, world.admin.instance_id, target_id)).sealed_headers is None
