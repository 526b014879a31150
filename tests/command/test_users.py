"""The user write model read from its row equals the one folded from its events."""

from __future__ import annotations

import pytest

from keyhook.command.sessions import SessionChecks, SessionCommands
from keyhook.command.users import HumanUserInput, UserCommands, fold_user, load_user
from keyhook.errors import InvalidArgument
from tests.command.conftest import World


async def test_load_user_equals_the_fold_of_its_events(world: World) -> None:
    writer, admin, db = world.writer, world.admin, world.writer.db
    users = UserCommands(writer)
    sessions = SessionCommands(writer)
    user_id = (
        await users.add_human_user(
            admin,
            HumanUserInput(
                org_id=admin.org_id,
                user_name="fold",
                email="fold@example.com",
                password="first password",
            ),
        )
    )["userId"]

    machine_id = (await users.add_machine_user(admin, admin.org_id, "fold-robot", "Robot"))[
        "userId"
    ]

    async def same() -> None:
        async with db.read() as conn:
            for subject in (user_id, admin.user_id, machine_id):
                folded = await fold_user(conn, admin.instance_id, subject)
                loaded = await load_user(conn, admin, subject)
                assert (
                    loaded.org_id,
                    loaded.user_name,
                    loaded.kind,
                    loaded.state,
                    loaded.sequence,
                    loaded.exists,
                    loaded.failed_attempts,
                    loaded.password_hash,
                    loaded.secret_hash,
                ) == (
                    folded.org_id,
                    folded.user_name,
                    folded.kind,
                    folded.state,
                    folded.sequence,
                    folded.exists,
                    folded.failed_attempts,
                    folded.password_hash,
                    folded.secret_hash,
                )

    await same()
    await users.set_metadata(admin, user_id, [("a", "1"), ("b", "2")])
    await same()
    for _ in range(2):
        with pytest.raises(InvalidArgument, match="password is invalid"):
            await sessions.create(admin, SessionChecks(login_name="fold", password="wrong"))
    await same()
    await users.update_human_user(admin, user_id, {"userName": "fold2", "password": "second pw!"})
    await same()
    await users.lock(admin, user_id)
    await same()
    await users.unlock(admin, user_id)
    await users.deactivate(admin, user_id)
    await same()
    await users.reactivate(admin, user_id)
    await same()
    secret = (await users.add_secret(admin, machine_id))["clientSecret"]
    await same()
    async with db.read() as conn:
        loaded = await load_user(conn, admin, machine_id)
    assert loaded.secret_hash is not None
    assert writer.passwords.verify(loaded.secret_hash, secret)
    await users.add_secret(admin, machine_id)
    await same()
    await users.remove_secret(admin, machine_id)
    await same()
    async with db.read() as conn:
        assert (await load_user(conn, admin, machine_id)).secret_hash is None
    await users.delete(admin, user_id)
    async with db.read() as conn:
        assert not (await load_user(conn, admin, user_id)).exists
