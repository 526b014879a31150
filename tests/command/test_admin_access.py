"""The last active user with a usable personal access token stays able to call the API.

Through the API only the first start makes a PAT, so the case of two holders is set
up here, on the write side, with a real database.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from keyhook.command.users import UserCommands
from keyhook.crypto.tokens import new_personal_access_token, token_hash
from keyhook.domain.caller import Caller
from keyhook.errors import FailedPrecondition
from tests.command.conftest import World


async def second_admin(world: World, users: UserCommands) -> Caller:
    admin = world.admin
    user_id = (await users.add_machine_user(admin, admin.org_id, "second-admin", "Second"))[
        "userId"
    ]
    async with world.writer.db.write() as conn:
        await users.add_personal_access_token(
            conn, admin, user_id, token_hash(new_personal_access_token())
        )
    return replace(admin, user_id=user_id)


async def test_the_last_token_holder_cannot_be_disabled(world: World) -> None:
    users = UserCommands(world.writer)
    first = world.admin
    second = await second_admin(world, users)
    # Two holders: either may lock the other.
    await users.lock(second, first.user_id)
    # Now the second is the last. The first (a token remembered from before its lock, or
    # a concurrent call) cannot take it out too, by any of the three changes.
    for change in (users.lock, users.deactivate, users.delete):
        with pytest.raises(FailedPrecondition) as refused:
            await change(first, second.user_id)
        assert "holds the last usable personal access token" in refused.value.message
        assert refused.value.details == [
            {"field": "userId", "problem": "last user with a usable access token"}
        ]
    # Back to two holders: allowed again.
    await users.unlock(second, first.user_id)
    await users.deactivate(first, second.user_id)


async def test_a_user_without_a_token_is_not_protected(world: World) -> None:
    users = UserCommands(world.writer)
    robot = (await users.add_machine_user(world.admin, world.admin.org_id, "robot", "Robot"))[
        "userId"
    ]
    await users.lock(world.admin, robot)
    await users.unlock(world.admin, robot)
    await users.delete(world.admin, robot)
