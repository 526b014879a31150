"""Session commands against a real SQLite database, for what the API cannot reach:
a login name shared by two organizations (data from before names were unique in
the instance), and rehashing on login."""

from __future__ import annotations

import pytest

from keyhook.command.sessions import SessionChecks, SessionCommands
from keyhook.command.users import HumanUserInput, UserCommands, load_user
from keyhook.config import PasswordHashing
from keyhook.crypto.passwords import Passwords
from keyhook.errors import AlreadyExists, InvalidArgument
from keyhook.eventstore.store import PendingEvent, aggregate_events
from tests.command.conftest import World

PASSWORD = "correct horse battery"


async def add_user(world: World, org_id: str, user_name: str) -> str:
    created = await UserCommands(world.writer).add_human_user(
        world.admin,
        HumanUserInput(
            org_id=org_id,
            user_name=user_name,
            email=f"{user_name}@example.com",
            password=PASSWORD,
        ),
    )
    return str(created["userId"])


async def test_a_login_name_in_two_organizations_asks_for_the_user_id(world: World) -> None:
    other_org = world.writer.ids.new()
    async with world.writer.db.write() as conn:
        await world.writer.commit(
            conn,
            world.admin,
            [
                PendingEvent(
                    "org.added", "org", other_org, other_org, {"orgId": other_org, "name": "Other"}
                )
            ],
        )
    first = await add_user(world, world.admin.default_org_id, "twin")
    # A user name is unique in the instance now: another organization cannot take it.
    with pytest.raises(AlreadyExists, match="user name 'Twin' is already taken"):
        await add_user(world, other_org, "Twin")
    # A database from before that rule may still hold such a pair (migration 0012 keeps
    # one claim between them): written here as it was then, without the instance claim.
    async with world.writer.db.write() as conn:
        await conn.execute(
            "DELETE FROM unique_constraints WHERE unique_type = 'login_name' "
            "AND unique_field = 'twin'"
        )
    await add_user(world, other_org, "Twin")
    commands = SessionCommands(world.writer)
    with pytest.raises(InvalidArgument, match=r"checks\.user\.userId") as caught:
        await commands.create(world.admin, SessionChecks(login_name="TWIN", password=PASSWORD))
    assert caught.value.details[0]["problem"] == "ambiguous"
    created = await commands.create(world.admin, SessionChecks(user_id=first, password=PASSWORD))
    assert created["sessionId"]


async def test_a_login_with_changed_argon2_parameters_rehashes(world: World) -> None:
    user_id = await add_user(world, world.admin.default_org_id, "john")
    stronger = PasswordHashing(memory_kib=2048, time_cost=2, parallelism=1)
    world.writer.passwords = Passwords(stronger)
    commands = SessionCommands(world.writer)
    await commands.create(world.admin, SessionChecks(login_name="john", password=PASSWORD))
    async with world.writer.db.read() as conn:
        found = await aggregate_events(conn, world.admin.instance_id, "user", user_id)
        user = await load_user(conn, world.admin, user_id)
    assert [e.type for e in found][-2:] == [
        "user.human.password.check.succeeded",
        "user.human.password.hash.updated",
    ]
    assert user.password_hash is not None
    assert not world.writer.passwords.needs_rehash(user.password_hash)
    # The new hash still verifies, and an unchanged setting does not rehash again.
    await commands.create(world.admin, SessionChecks(login_name="john", password=PASSWORD))
    async with world.writer.db.read() as conn:
        again = await aggregate_events(conn, world.admin.instance_id, "user", user_id)
    assert [e.type for e in again][-1] == "user.human.password.check.succeeded"
    assert [e.type for e in again].count("user.human.password.hash.updated") == 1
