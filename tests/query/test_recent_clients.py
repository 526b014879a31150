"""Remembered applications: this process's changes apply at once, others' within the bound."""

from __future__ import annotations

import asyncio

from keyhook.bootstrap import Core
from keyhook.command.projects import ProjectCommands
from keyhook.domain.application import oidc_settings
from keyhook.domain.caller import Caller
from keyhook.query.oidc import OidcQueries
from keyhook.query.recent_clients import RecentClients
from tests.query.conftest import admin_of


async def _project_and_app(core: Core, admin: Caller) -> tuple[str, str, str]:
    projects = ProjectCommands(core.writer)
    project = await projects.create_project(admin, "Shop", admin.org_id)
    settings = oidc_settings(
        app_type="OIDC_APP_TYPE_WEB",
        auth_method="OIDC_AUTH_METHOD_TYPE_BASIC",
        grant_types=["OIDC_GRANT_TYPE_AUTHORIZATION_CODE"],
        response_types=["OIDC_RESPONSE_TYPE_CODE"],
        redirect_uris=["http://localhost:3000/callback"],
        post_logout_redirect_uris=[],
        access_token_type="OIDC_TOKEN_TYPE_BEARER",
        dev_mode=True,
    )
    app = await projects.create_oidc_app(admin, project["id"], "web", settings)
    return project["id"], app["appId"], app["oidcResponse"]["clientId"]


async def test_an_application_removed_here_is_gone_for_the_next_request(core: Core) -> None:
    admin = await admin_of(core)
    recent = RecentClients(OidcQueries(core.db), core.db, ttl=60)
    core.writer.after_append.append(recent.forget)
    _, app_id, client_id = await _project_and_app(core, admin)
    found = await recent.client(client_id)
    assert found is not None and found.app_id == app_id
    await ProjectCommands(core.writer).delete_app(admin, app_id)
    assert await recent.client(client_id) is None


async def test_an_unknown_client_id_is_known_once_an_application_takes_it(core: Core) -> None:
    admin = await admin_of(core)
    queries = OidcQueries(core.db)
    recent = RecentClients(queries, core.db, ttl=60)
    core.writer.after_append.append(recent.forget)
    loaded: list[str] = []
    read = queries.client

    async def counted(client_id: str) -> object:
        loaded.append(client_id)
        return await read(client_id)

    queries.client = counted  # type: ignore[assignment,method-assign]
    assert await recent.client("robot") is None
    assert await recent.client("robot") is None
    assert loaded == ["robot"], "an absent client is remembered too"
    _, _, client_id = await _project_and_app(core, admin)
    found = await recent.client(client_id)
    assert found is not None
    assert await recent.client("robot") is None
    assert loaded == ["robot", client_id, "robot"], "the application event dropped every entry"


async def test_another_nodes_change_applies_once_the_bound_has_passed(core: Core) -> None:
    admin = await admin_of(core)
    recent = RecentClients(OidcQueries(core.db), core.db, ttl=0.3)
    _, app_id, client_id = await _project_and_app(core, admin)
    assert await recent.client(client_id) is not None
    async with core.db.write() as conn:  # another node's commit: the row goes, no hook runs
        await conn.execute("DELETE FROM applications WHERE id = :id", {"id": app_id})
    assert await recent.client(client_id) is not None, "within the bound"
    await asyncio.sleep(0.35)
    assert await recent.client(client_id) is None
