"""Commands on projects and their OpenID Connect applications."""

from __future__ import annotations

import re
import secrets
from typing import Any

from keyhook.clock import iso
from keyhook.command.orgs import ensure_org
from keyhook.command.writer import Writer
from keyhook.domain.application import OidcSettings
from keyhook.domain.caller import Caller
from keyhook.errors import NotFound, field_error
from keyhook.eventstore.store import PendingEvent, UniqueClaim
from keyhook.storage.connection import Connection

PROJECT_NAME = "project_name"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "project"


async def _project(conn: Connection, caller: Caller, project_id: str) -> Any:
    row = (
        await conn.execute(
            "SELECT * FROM projects WHERE id = :id AND instance_id = :instance_id",
            {"id": project_id, "instance_id": caller.instance_id},
        )
    ).first()
    if row is None:
        raise NotFound(
            f"project {project_id} does not exist",
            details=[{"field": "projectId", "problem": "unknown"}],
        )
    return row


def checked_name(name: str) -> str:
    """A project's or an application's name as stored (field rules, no I/O)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise field_error("name", "must be 1-200 characters")
    return name


class ProjectCommands:
    def __init__(self, writer: Writer) -> None:
        self.w = writer

    async def create_project(self, caller: Caller, name: str, org_id: str) -> dict[str, Any]:
        name = checked_name(name)
        project_id = self.w.ids.new()
        async with self.w.db.write() as conn:
            await ensure_org(conn, caller, org_id)
            stored = await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "project.added",
                        "project",
                        project_id,
                        org_id,
                        {"projectId": project_id, "name": name},
                    )
                ],
                expected={("project", project_id): 0},
                claims=[
                    UniqueClaim(
                        PROJECT_NAME,
                        f"{org_id}:{name.lower()}",
                        error=f"a project named {name!r} already exists",
                    )
                ],
            )
        return {"id": project_id, "creationDate": iso(stored[-1].created_at)}

    async def delete_project(self, caller: Caller, project_id: str) -> dict[str, Any]:
        async with self.w.db.write() as conn:
            project = await _project(conn, caller, project_id)
            apps = await conn.execute(
                "SELECT id, client_id FROM applications WHERE project_id = :project_id",
                {"project_id": project_id},
            )
            pending = [
                PendingEvent(
                    "application.removed",
                    "application",
                    app.id,
                    project.org_id,
                    {"appId": app.id, "projectId": project_id, "clientId": app.client_id},
                )
                for app in apps
            ]
            pending.append(
                PendingEvent(
                    "project.removed",
                    "project",
                    project_id,
                    project.org_id,
                    {"projectId": project_id, "name": project.name},
                )
            )
            stored = await self.w.commit(
                conn,
                caller,
                pending,
                claims=[
                    UniqueClaim(PROJECT_NAME, f"{project.org_id}:{project.name.lower()}", add=False)
                ],
            )
        return {"deletionDate": iso(stored[-1].created_at)}

    async def create_oidc_app(
        self, caller: Caller, project_id: str, name: str, settings: OidcSettings
    ) -> dict[str, Any]:
        name = checked_name(name)
        app_id = self.w.ids.new()
        secret = None if settings.public else secrets.token_urlsafe(48)
        # argon2 on purpose (a leaked table must not reveal usable secrets), and outside
        # the transaction, as it is slow on purpose.
        secret_hash = None if secret is None else await self.w.passwords.ahash(secret)
        async with self.w.db.write() as conn:
            project = await _project(conn, caller, project_id)
            client_id = f"{app_id}@{_slug(project.name)}"
            data: dict[str, Any] = {
                "appId": app_id,
                "projectId": project_id,
                "name": name,
                "clientId": client_id,
                "appType": settings.app_type,
                "authMethod": settings.auth_method,
                "redirectUris": list(settings.redirect_uris),
                "postLogoutRedirectUris": list(settings.post_logout_redirect_uris),
                "grantTypes": list(settings.grant_types),
                "responseTypes": list(settings.response_types),
                "accessTokenType": settings.access_token_type,
            }
            if settings.id_token_alg is not None:
                data["idTokenSignedResponseAlg"] = settings.id_token_alg
            if secret_hash is not None:
                data["clientSecretHash"] = secret_hash
            stored = await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "application.oidc.added", "application", app_id, project.org_id, data
                    )
                ],
                expected={("application", app_id): 0},
            )
        response: dict[str, Any] = {"clientId": client_id}
        if secret is not None:
            response["clientSecret"] = secret  # shown once: only its hash is kept
        return {
            "appId": app_id,
            "creationDate": iso(stored[-1].created_at),
            "oidcResponse": response,
        }

    async def delete_app(self, caller: Caller, app_id: str) -> dict[str, Any]:
        async with self.w.db.write() as conn:
            app = (
                await conn.execute(
                    "SELECT id, project_id, client_id FROM applications "
                    "WHERE id = :id AND instance_id = :instance_id",
                    {"id": app_id, "instance_id": caller.instance_id},
                )
            ).first()
            if app is None:
                raise NotFound(
                    f"application {app_id} does not exist",
                    details=[{"field": "applicationId", "problem": "unknown"}],
                )
            project = await _project(conn, caller, app.project_id)
            stored = await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "application.removed",
                        "application",
                        app_id,
                        project.org_id,
                        {"appId": app_id, "projectId": app.project_id, "clientId": app.client_id},
                    )
                ],
            )
        return {"deletionDate": iso(stored[-1].created_at)}
