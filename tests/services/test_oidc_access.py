"""Who may introspect whose tokens: the rule of TokenAccess, on a real core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keyhook.bootstrap import Core, assemble
from keyhook.config import from_environment
from keyhook.services.oidc_access import Introspector


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    assembled = await assemble(from_environment({}, data_dir=tmp_path, dev=True))
    yield assembled
    await assembled.stop()


async def test_a_machine_users_token_is_seen_by_itself_and_its_organizations_apps(
    core: Core,
) -> None:
    access = core.token_access
    robot = Introspector("billing-robot", None, "org-1")
    same_org_app = Introspector("1@shop", "project-1", "org-1")
    other_org_app = Introspector("2@crm", "project-2", "org-2")
    other_robot = Introspector("other-robot", None, "org-1")

    async def seen(caller: Introspector) -> bool:
        visible, audience = await access._visible(
            caller, "client_credentials", "billing-robot", "org-1"
        )
        assert audience == ["billing-robot"]
        return visible

    assert await seen(robot)
    assert await seen(same_org_app)
    assert not await seen(other_org_app)
    assert not await seen(other_robot)


async def test_an_applications_token_of_a_deleted_application_is_seen_by_nobody(
    core: Core,
) -> None:
    visible, audience = await core.token_access._visible(
        Introspector("1@shop", "project-1", "org-1"), "authorization_code", "9@gone", "org-1"
    )
    assert (visible, audience) == (False, [])
