"""The instance keeps an active IAM_OWNER: LockUser, DeactivateUser and DeleteUser
refuse its last one, and so do UpdateAdministrator and DeleteAdministrator taking the
role away (issue 11). Set up on the write side, with a real database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from keyhook.command.administrators import AdministratorCommands
from keyhook.command.users import UserCommands
from keyhook.domain.caller import Caller
from keyhook.domain.roles import Resource
from keyhook.errors import FailedPrecondition
from tests.command.conftest import World

LAST_OWNER = {"field": "userId", "problem": "last active IAM_OWNER"}


async def second_owner(world: World, users: UserCommands) -> Caller:
    """A second machine IAM_OWNER; the human one first start made gives its role up, so
    the two machine users are the instance's only owners."""
    admin = world.admin
    await AdministratorCommands(world.writer).delete(
        admin, world.human_admin_id, Resource.instance()
    )
    user_id = (await users.add_machine_user(admin, admin.org_id, "second-admin", "Second"))[
        "userId"
    ]
    await AdministratorCommands(world.writer).create(
        admin, user_id, Resource.instance(), ["IAM_OWNER"]
    )
    return replace(admin, user_id=user_id)


async def test_the_last_owner_cannot_be_disabled(world: World) -> None:
    users = UserCommands(world.writer)
    first = world.admin
    second = await second_owner(world, users)
    # Two owners: either may lock the other.
    await users.lock(second, first.user_id)
    # Now the second is the last active one. The first (a token remembered from before
    # its lock, or a concurrent call) cannot take it out too, by any of the three changes.
    for change in (users.lock, users.deactivate, users.delete):
        with pytest.raises(FailedPrecondition) as refused:
            await change(first, second.user_id)
        assert "is the last active IAM_OWNER of this instance" in refused.value.message
        assert "Make another user IAM_OWNER first" in refused.value.message
        assert refused.value.details == [LAST_OWNER]
    # Back to two active owners: allowed again.
    await users.unlock(second, first.user_id)
    await users.deactivate(first, second.user_id)


async def test_the_last_owner_keeps_its_role(world: World) -> None:
    users = UserCommands(world.writer)
    admins = AdministratorCommands(world.writer)
    second = await second_owner(world, users)
    # With two owners, one may give up the role ...
    await admins.update(world.admin, second.user_id, Resource.instance(), ["IAM_OWNER_VIEWER"])
    # ... but the remaining one may neither be demoted nor removed.
    with pytest.raises(FailedPrecondition) as refused:
        await admins.update(second, world.admin.user_id, Resource.instance(), ["IAM_OWNER_VIEWER"])
    assert refused.value.details == [LAST_OWNER]
    with pytest.raises(FailedPrecondition) as refused:
        await admins.delete(second, world.admin.user_id, Resource.instance())
    assert refused.value.details == [LAST_OWNER]
    # Removing a non-owner is fine.
    await admins.delete(world.admin, second.user_id, Resource.instance())


async def test_a_user_who_is_no_owner_is_not_protected(world: World) -> None:
    users = UserCommands(world.writer)
    robot = (await users.add_machine_user(world.admin, world.admin.org_id, "robot", "Robot"))[
        "userId"
    ]
    await AdministratorCommands(world.writer).create(
        world.admin, robot, Resource.instance(), ["IAM_ACTIONS_MANAGER"]
    )
    await users.lock(world.admin, robot)
    await users.unlock(world.admin, robot)
    await users.delete(world.admin, robot)


async def test_failed_passwords_never_lock_out_the_last_owner(world: World) -> None:
    """Anyone can send wrong passwords for a known name; the last active owner is slowed
    down by the back-off, never locked by the lockout policy (others still are)."""
    from keyhook.command.sessions import SessionChecks, SessionCommands
    from keyhook.errors import InvalidArgument

    admins = AdministratorCommands(world.writer)
    # The human owner becomes the only one.
    await admins.delete(world.admin, world.admin.user_id, Resource.instance())
    sessions = SessionCommands(world.writer)
    human = world.human_admin_id
    for _ in range(7):  # more than the policy's 5
        with pytest.raises(InvalidArgument):
            await sessions.create(world.admin, SessionChecks(user_id=human, password="wrong!"))
    async with world.writer.db.read() as conn:
        row = (
            await conn.execute(
                "SELECT state, failed_attempts FROM users WHERE id = :id", {"id": human}
            )
        ).one()
    assert row.state == "USER_STATE_ACTIVE"
    assert row.failed_attempts == 7, "every failure is still counted"


async def test_the_last_owner_keeps_a_credential(world: World) -> None:
    from keyhook.command.pats import PatCommands

    admins = AdministratorCommands(world.writer)
    pats = PatCommands(world.writer)
    machine = world.admin.user_id
    await admins.delete(world.admin, world.human_admin_id, Resource.instance())
    async with world.writer.db.read() as conn:
        (first,) = [
            r.id
            for r in await conn.execute(
                "SELECT id FROM personal_access_tokens WHERE user_id = :u", {"u": machine}
            )
        ]
    with pytest.raises(FailedPrecondition) as refused:
        await pats.remove(world.admin, machine, first)
    assert refused.value.details == [
        {"field": "tokenId", "problem": "last credential of the last owner"}
    ]
    # With a second token, either may go.
    await pats.create(world.admin, machine, None)
    await pats.remove(world.admin, machine, first)
