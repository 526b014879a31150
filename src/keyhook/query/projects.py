"""Projects and OIDC applications as the API shows them (never a secret or its hash)."""

from __future__ import annotations

from typing import Any

import orjson

from keyhook.clock import iso
from keyhook.domain.application import (
    APP_TYPES,
    AUTH_METHODS,
    GRANT_TYPES,
    RESPONSE_TYPES,
    TOKEN_TYPES,
)
from keyhook.domain.caller import Caller
from keyhook.domain.web_keys import DEFAULT_ID_TOKEN_ALG
from keyhook.errors import NotFound
from keyhook.query.paging import Search, count_and_rows, pagination
from keyhook.storage.connection import Row
from keyhook.storage.database import Database

_PROJECT = "SELECT * FROM projects WHERE id = :id AND instance_id = :instance_id"
_APP = "SELECT * FROM applications WHERE id = :id AND instance_id = :instance_id"


def _wire(table: dict[str, str], value: str) -> str:
    return next(k for k, v in table.items() if v == value)


def project_to_wire(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "organizationId": row["org_id"],
        "creationDate": iso(row["created_at"]),
        "changeDate": iso(row["changed_at"]),
    }


def app_to_wire(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "projectId": row["project_id"],
        "name": row["name"],
        "creationDate": iso(row["created_at"]),
        "changeDate": iso(row["changed_at"]),
        "oidcConfig": {
            "clientId": row["client_id"],
            "appType": _wire(APP_TYPES, row["app_type"]),
            "authMethodType": _wire(AUTH_METHODS, row["auth_method"]),
            "redirectUris": orjson.loads(row["redirect_uris"]),
            "postLogoutRedirectUris": orjson.loads(row["post_logout_redirect_uris"]),
            "grantTypes": [_wire(GRANT_TYPES, g) for g in orjson.loads(row["grant_types"])],
            "responseTypes": [
                _wire(RESPONSE_TYPES, r) for r in orjson.loads(row["response_types"])
            ],
            "accessTokenType": _wire(TOKEN_TYPES, row["access_token_type"]),
            "idTokenSignedResponseAlg": row["id_token_alg"] or DEFAULT_ID_TOKEN_ALG,
            "pkceRequired": row["auth_method"] == "none",
        },
    }


class ProjectQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_project(self, caller: Caller, project_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = (
                await conn.execute(_PROJECT, {"id": project_id, "instance_id": caller.instance_id})
            ).first()
        if row is None:
            raise NotFound(
                f"project {project_id} does not exist",
                details=[{"field": "id", "problem": "unknown"}],
            )
        return {"project": project_to_wire(row)}

    async def list_projects(self, caller: Caller, offset: int, limit: int) -> dict[str, Any]:
        search = Search("SELECT * FROM projects").where(
            "instance_id = :instance_id", instance_id=caller.instance_id
        )
        async with self.db.read() as conn:
            total, rows = await count_and_rows(conn, search, "id", offset, limit)
            found = [project_to_wire(r) for r in rows]
        return {
            "pagination": pagination(total, limit),
            "projects": found,
        }

    async def get_app(self, caller: Caller, app_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = (
                await conn.execute(_APP, {"id": app_id, "instance_id": caller.instance_id})
            ).first()
        if row is None:
            raise NotFound(
                f"application {app_id} does not exist",
                details=[{"field": "applicationId", "problem": "unknown"}],
            )
        return {"app": app_to_wire(row)}  # GetApplicationResponse.app, as ZITADEL's v2beta

    async def list_apps(
        self, caller: Caller, project_id: str | None, offset: int, limit: int
    ) -> dict[str, Any]:
        search = Search("SELECT * FROM applications").where(
            "instance_id = :instance_id", instance_id=caller.instance_id
        )
        if project_id:
            search.where("project_id = :project_id", project_id=project_id)
        async with self.db.read() as conn:
            total, rows = await count_and_rows(conn, search, "id", offset, limit)
            found = [app_to_wire(r) for r in rows]
        return {
            "pagination": pagination(total, limit),
            "applications": found,
        }
