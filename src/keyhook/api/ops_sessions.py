"""Session and lockout operations (``zitadel.session.v2.SessionService``,
``zitadel.settings.v2.SettingsService``)."""

from __future__ import annotations

from typing import Any

from keyhook.api import messages as m
from keyhook.api.registry import Operation, Registry
from keyhook.command.sessions import SessionChecks, SessionCommands
from keyhook.command.writer import Writer
from keyhook.domain.caller import Caller
from keyhook.query.sessions import SessionQueries

SESSIONS = "/zitadel.session.v2.SessionService/"
SETTINGS = "/zitadel.settings.v2.SettingsService/"


def register(registry: Registry, writer: Writer) -> None:
    commands = SessionCommands(writer)
    queries = SessionQueries(writer.db)

    async def create_session(caller: Caller, req: m.CreateSessionRequest) -> dict[str, Any]:
        checks = req.checks
        return await commands.create(
            caller,
            SessionChecks(
                login_name=checks.user.login_name,
                user_id=checks.user.user_id,
                password=checks.password.password if checks.password else None,
            ),
        )

    async def get_session(caller: Caller, req: m.SessionIdRequest) -> dict[str, Any]:
        return await queries.get(caller, req.session_id)

    async def delete_session(caller: Caller, req: m.SessionIdRequest) -> dict[str, Any]:
        return await commands.delete(caller, req.session_id)

    async def get_lockout(caller: Caller, req: m.Empty) -> dict[str, Any]:
        return await queries.lockout_settings(caller)

    async def set_lockout(caller: Caller, req: m.SetLockoutSettingsRequest) -> dict[str, Any]:
        return await commands.set_lockout(caller, req.max_password_attempts)

    for op in (
        Operation(
            SESSIONS + "CreateSession",
            (("POST", "/v2/sessions"),),
            m.CreateSessionRequest,
            create_session,
            "Create a session: check a user and optionally its password (lockout policy applies)",
            permission="session.write",
        ),
        Operation(
            SESSIONS + "GetSession",
            (("GET", "/v2/sessions/{sessionId}"),),
            m.SessionIdRequest,
            get_session,
            "Get a session",
            permission="session.read",
        ),
        Operation(
            SESSIONS + "DeleteSession",
            (("DELETE", "/v2/sessions/{sessionId}"),),
            m.SessionIdRequest,
            delete_session,
            "Delete a session",
            permission="session.delete",
        ),
        Operation(
            SETTINGS + "GetLockoutSettings",
            (("GET", "/v2/settings/lockout"),),
            m.Empty,
            get_lockout,
            "Get the lockout policy (failed password checks that lock a user)",
            permission="policy.read",
        ),
        Operation(
            SETTINGS + "SetLockoutSettings",
            (("PUT", "/v2/settings/lockout"),),
            m.SetLockoutSettingsRequest,
            set_lockout,
            "Set the lockout policy (0 never locks)",
            permission="policy.write",
        ),
    ):
        registry.add(op)
