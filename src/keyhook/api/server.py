"""Serving the API: the registry built on a :class:`Core`, run by uvicorn."""

from __future__ import annotations

from starlette.types import ASGIApp

from keyhook.api import (
    oidc_discovery,
    oidc_endpoints,
    oidc_login,
    ops_actions,
    ops_actions_v2beta,
    ops_administrators,
    ops_deliveries,
    ops_events,
    ops_orgs,
    ops_projects,
    ops_sessions,
    ops_target_keys,
    ops_users,
    ops_users_v2,
    ops_web_keys,
    relay_ws,
)
from keyhook.api.access_log import AccessLog
from keyhook.api.app import build_app
from keyhook.api.pipeline import Pipeline
from keyhook.api.protojson import zitadel_schema
from keyhook.api.registry import Registry
from keyhook.bootstrap import Core
from keyhook.command.deliveries import DeliveryCommands
from keyhook.domain.caller import Caller
from keyhook.query.events import EventQueries
from keyhook.services.api_tokens import ApiTokens


def build_registry(core: Core) -> Registry:
    registry = Registry()
    ops_users.register(registry, core.users, core.user_queries)
    ops_users_v2.register(registry, core.users, core.user_queries)
    ops_actions.register(registry, core.writer, core.target_queries, core.engine)
    ops_actions_v2beta.register(registry, core.target_queries, zitadel_schema())
    ops_target_keys.register(registry, core.writer)
    ops_deliveries.register(registry, core.writer, core.outbox.wake_worker)
    ops_events.register(registry, EventQueries(core.db))
    ops_sessions.register(registry, core.writer)
    ops_web_keys.register(registry, core.writer)
    ops_projects.register(registry, core.writer)
    ops_administrators.register(registry, core.writer)
    ops_orgs.register(registry, core.writer)
    return registry


def application(core: Core) -> ASGIApp:
    from keyhook.console.app import Console

    registry = build_registry(core)
    pipeline = Pipeline(core.db, core.engine, ApiTokens(core.db, core.token_access))
    secure = core.settings.base_url.startswith("https://")

    async def deliver_waiting(caller: Caller, target_id: str) -> None:
        if await DeliveryCommands(core.db).due_now(caller, target_id):
            core.outbox.wake_worker()

    console = Console(
        registry,
        pipeline,
        core.oidc,
        core.console,
        core.box,
        core.token_access,
        secure_cookies=secure,
    )
    app = build_app(
        registry,
        pipeline,
        core.db,
        on_start=core.start,
        on_stop=core.stop,
        extra_routes=[
            *oidc_discovery.routes(core.settings, core.db, core.cli_client_id),
            *oidc_login.routes(
                core.oidc,
                core.token_access,
                core.login_csrf_key,
                secure_cookies=core.settings.base_url.startswith("https://"),
            ),
            *oidc_endpoints.routes(core.oidc, core.token_access),
            *console.routes(),
            *relay_ws.routes(registry, pipeline, core.target_queries, core.relay, deliver_waiting),
        ],
    )
    return AccessLog(app) if core.settings.http.access_log else app
