"""Projects (``zitadel.project.v2beta.ProjectService``) and OIDC applications
(``zitadel.app.v2beta.AppService``)."""

from __future__ import annotations

from typing import Any

from keyhook.api import messages as m
from keyhook.api.registry import Operation, Registry
from keyhook.command.projects import ProjectCommands, checked_name
from keyhook.command.writer import Writer
from keyhook.domain.application import OidcSettings, oidc_settings
from keyhook.domain.caller import Caller
from keyhook.errors import NotFound
from keyhook.query.projects import ProjectQueries

PROJECTS = "/zitadel.project.v2beta.ProjectService/"
APPS = "/zitadel.app.v2beta.AppService/"


def _oidc_settings(req: m.CreateApplicationRequest) -> OidcSettings:
    o = req.oidc_request
    return oidc_settings(
        app_type=o.app_type,
        auth_method=o.auth_method_type,
        grant_types=o.grant_types,
        response_types=o.response_types,
        redirect_uris=o.redirect_uris,
        post_logout_redirect_uris=o.post_logout_redirect_uris,
        access_token_type=o.access_token_type,
        dev_mode=o.dev_mode,
        id_token_alg=o.id_token_signed_response_alg,
    )


# Field rules (api.registry: ``check``), run before any request target sees the message.


def _check_create_project(req: m.CreateProjectRequest) -> None:
    checked_name(req.name)


def _check_create_app(req: m.CreateApplicationRequest) -> None:
    checked_name(req.name)
    _oidc_settings(req)


def _in_project(req: m.ApplicationIdRequest, app: dict[str, Any]) -> None:
    """A ``projectId`` the caller named must be the application's (ZITADEL's
    DeleteApplication names both); another project's application is not found there."""
    if req.project_id is not None and app["projectId"] != req.project_id:
        raise NotFound(
            f"application {req.application_id} does not exist in project {req.project_id}",
            details=[{"field": "projectId", "problem": "not the application's project"}],
        )


def register(registry: Registry, writer: Writer) -> None:
    commands = ProjectCommands(writer)
    queries = ProjectQueries(writer.db)

    async def create_project(caller: Caller, req: m.CreateProjectRequest) -> dict[str, Any]:
        org_id = req.organization_id or caller.default_org_id
        return await commands.create_project(caller, req.name, org_id)

    async def get_project(caller: Caller, req: m.IdRequest) -> dict[str, Any]:
        return await queries.get_project(caller, req.id)

    async def list_projects(caller: Caller, req: m.ListProjectsRequest) -> dict[str, Any]:
        return await queries.list_projects(caller, req.query.offset, req.query.limit)

    async def delete_project(caller: Caller, req: m.IdRequest) -> dict[str, Any]:
        return await commands.delete_project(caller, req.id)

    async def create_app(caller: Caller, req: m.CreateApplicationRequest) -> dict[str, Any]:
        settings = _oidc_settings(req)
        return await commands.create_oidc_app(caller, req.project_id, req.name, settings)

    async def get_app(caller: Caller, req: m.ApplicationIdRequest) -> dict[str, Any]:
        found = await queries.get_app(caller, req.application_id)
        _in_project(req, found["app"])
        return found

    async def list_apps(caller: Caller, req: m.ListApplicationsRequest) -> dict[str, Any]:
        return await queries.list_apps(caller, req.project_id, req.query.offset, req.query.limit)

    async def delete_app(caller: Caller, req: m.ApplicationIdRequest) -> dict[str, Any]:
        if req.project_id is not None:
            _in_project(req, (await queries.get_app(caller, req.application_id))["app"])
        return await commands.delete_app(caller, req.application_id)

    for op in (
        Operation(
            PROJECTS + "CreateProject",
            (("POST", "/v2beta/projects"),),
            m.CreateProjectRequest,
            create_project,
            "Create a project",
            check=_check_create_project,
            permission="project.create",
        ),
        Operation(
            PROJECTS + "GetProject",
            (("GET", "/v2beta/projects/{id}"),),
            m.IdRequest,
            get_project,
            "Get a project",
            permission="project.read",
        ),
        Operation(
            PROJECTS + "ListProjects",
            (("POST", "/v2beta/projects/search"),),
            m.ListProjectsRequest,
            list_projects,
            "Search projects",
            permission="project.read",
        ),
        Operation(
            PROJECTS + "DeleteProject",
            (("DELETE", "/v2beta/projects/{id}"),),
            m.IdRequest,
            delete_project,
            "Delete a project and its applications",
            permission="project.delete",
        ),
        Operation(
            APPS + "CreateApplication",
            (("POST", "/v2beta/applications"),),
            m.CreateApplicationRequest,
            create_app,
            "Create an OIDC application (the client secret is shown once)",
            check=_check_create_app,
            permission="project.app.write",
        ),
        Operation(
            APPS + "GetApplication",
            (("GET", "/v2beta/applications/{applicationId}"),),
            m.ApplicationIdRequest,
            get_app,
            "Get an application",
            permission="project.read",
        ),
        Operation(
            APPS + "ListApplications",
            (("POST", "/v2beta/applications/search"),),
            m.ListApplicationsRequest,
            list_apps,
            "Search applications",
            permission="project.read",
        ),
        Operation(
            APPS + "DeleteApplication",
            (("DELETE", "/v2beta/applications/{applicationId}"),),
            m.ApplicationIdRequest,
            delete_app,
            "Delete an application",
            permission="project.app.delete",
        ),
    ):
        registry.add(op)
