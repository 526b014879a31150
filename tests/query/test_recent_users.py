"""Remembered machine users: this process's changes apply at once, others' within the bound."""

from __future__ import annotations

import asyncio

from keyhook.bootstrap import Core
from keyhook.domain.caller import Caller
from keyhook.query.oidc import OidcQueries
from keyhook.query.recent_users import RecentUsers
from tests.query.conftest import admin_of


async def _robot(core: Core, admin: Caller, name: str = "billing-robot") -> str:
    added = await core.users.add_machine_user(admin, admin.org_id, name, "Billing")
    return str(added["userId"])


async def _changed_elsewhere(core: Core, user_id: str, state: str) -> None:
    """What another node's commit looks like from here: the row changes, no hook runs."""
    async with core.db.write() as conn:
        await conn.execute(
            "UPDATE users SET state = :s WHERE id = :id", {"s": state, "id": user_id}
        )


async def test_another_nodes_change_applies_once_the_bound_has_passed(core: Core) -> None:
    admin = await admin_of(core)
    robot = await _robot(core, admin)
    recent = RecentUsers(OidcQueries(core.db), core.db, ttl=0.3)
    first = await recent.machine_user("Billing-Robot")  # client ids match in any case
    assert first is not None and first.user_id == robot and first.state == "USER_STATE_ACTIVE"
    await _changed_elsewhere(core, robot, "USER_STATE_INACTIVE")
    remembered = await recent.machine_user("billing-robot")
    assert remembered is not None and remembered.state == "USER_STATE_ACTIVE", "within the bound"
    await asyncio.sleep(0.35)
    fresh = await recent.machine_user("billing-robot")
    assert fresh is not None and fresh.state == "USER_STATE_INACTIVE"


async def test_a_change_committed_here_applies_to_the_next_request(core: Core) -> None:
    admin = await admin_of(core)
    robot = await _robot(core, admin)
    recent = RecentUsers(OidcQueries(core.db), core.db, ttl=60)
    core.writer.after_append.append(recent.forget)
    before = await recent.machine_user("billing-robot")
    assert before is not None and before.metadata == ()
    await core.users.set_metadata(admin, robot, [("department", "billing")])
    after = await recent.machine_user("billing-robot")
    assert after is not None and after.metadata == (("department", "billing"),)
    await core.users.deactivate(admin, robot)
    deactivated = await recent.machine_user("billing-robot")
    assert deactivated is not None and deactivated.state == "USER_STATE_INACTIVE"


async def test_an_unknown_client_id_is_known_once_a_user_takes_it(core: Core) -> None:
    admin = await admin_of(core)
    recent = RecentUsers(OidcQueries(core.db), core.db, ttl=60)
    core.writer.after_append.append(recent.forget)
    assert await recent.machine_user("new-robot") is None
    robot = await _robot(core, admin, "new-robot")
    found = await recent.machine_user("new-robot")
    assert found is not None and found.user_id == robot


async def test_a_read_under_way_during_a_commit_is_not_kept(core: Core) -> None:
    admin = await admin_of(core)
    robot = await _robot(core, admin)
    queries = OidcQueries(core.db)
    recent = RecentUsers(queries, core.db, ttl=60)
    core.writer.after_append.append(recent.forget)
    started, release = asyncio.Event(), asyncio.Event()
    read = queries.machine_user

    async def slow_read(client_id: str) -> object:
        found = await read(client_id)  # the state before the commit below
        started.set()
        await release.wait()
        return found

    queries.machine_user = slow_read  # type: ignore[assignment,method-assign]
    racing = asyncio.create_task(recent.machine_user("billing-robot"))
    await started.wait()
    await core.users.deactivate(admin, robot)
    release.set()
    stale = await racing
    assert stale is not None and stale.state == "USER_STATE_ACTIVE", "the read saw the old state"
    queries.machine_user = read  # type: ignore[method-assign]
    again = await recent.machine_user("billing-robot")
    assert again is not None and again.state == "USER_STATE_INACTIVE", "the stale read was not kept"


async def test_users_by_id_follow_this_processs_commits_and_others_within_the_bound(
    core: Core,
) -> None:
    admin = await admin_of(core)
    robot = await _robot(core, admin)
    recent = RecentUsers(OidcQueries(core.db), core.db, ttl=0.3)
    core.writer.after_append.append(recent.forget)
    first = await recent.user(robot)
    assert first is not None and first.state == "USER_STATE_ACTIVE"
    await core.users.deactivate(admin, robot)  # here: applies to the next read
    here = await recent.user(robot)
    assert here is not None and here.state == "USER_STATE_INACTIVE"
    await _changed_elsewhere(core, robot, "USER_STATE_ACTIVE")  # elsewhere: within the bound
    remembered = await recent.user(robot)
    assert remembered is not None and remembered.state == "USER_STATE_INACTIVE"
    await asyncio.sleep(0.35)
    fresh = await recent.user(robot)
    assert fresh is not None and fresh.state == "USER_STATE_ACTIVE"


async def test_an_unknown_user_id_is_not_remembered_past_a_user_event(core: Core) -> None:
    admin = await admin_of(core)
    queries = OidcQueries(core.db)
    recent = RecentUsers(queries, core.db, ttl=60)
    core.writer.after_append.append(recent.forget)
    robot = await _robot(core, admin, "first-robot")
    loaded: list[str] = []
    read = queries.user

    async def counted(user_id: str) -> object:
        loaded.append(user_id)
        return await read(user_id)

    queries.user = counted  # type: ignore[assignment,method-assign]
    known = await recent.user(robot)
    assert known is not None
    assert await recent.user("not-yet") is None
    assert await recent.user("not-yet") is None
    assert loaded == [robot, "not-yet"], "both remembered, the absent one too"
    await _robot(core, admin, "second-robot")  # any user event drops what was absent
    assert await recent.user("not-yet") is None
    assert await recent.user(robot) is known, "an unrelated user's event keeps this one"
    assert loaded == [robot, "not-yet", "not-yet"]
