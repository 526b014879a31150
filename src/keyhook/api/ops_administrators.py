"""Administrator operations (``zitadel.internal_permission.v2.InternalPermissionService``)
and personal access tokens (``zitadel.user.v2.UserService``'s PAT calls).

ZITADEL serves InternalPermissionService over gRPC and Connect only (its proto has
no REST annotations); Keyhook adds REST paths of its own under ``/v2/administrators``
(docs/api.md). An administrator's permission depends on what it administers:
``iam.member.*`` for the instance, ``org.member.*`` for an organization
(``Operation.org_permission``); the command refuses an organization's administrator
acting on the instance.
"""

from __future__ import annotations

from typing import Any

from keyhook.api import admin_messages as am
from keyhook.api.registry import Operation, Registry
from keyhook.command.administrators import AdministratorCommands
from keyhook.command.pats import PatCommands, checked_expiration
from keyhook.command.writer import Writer
from keyhook.domain.caller import Caller
from keyhook.domain.roles import INSTANCE_ROLES, ORG_ROLES, Resource, checked_roles
from keyhook.errors import field_error
from keyhook.query.administrators import AdministratorFilter, AdministratorQueries
from keyhook.query.pats import PatFilter, PatQueries

SERVICE = "/zitadel.internal_permission.v2.InternalPermissionService/"
USERS = "/zitadel.user.v2.UserService/"


def _resource(given: am.ResourceType) -> Resource:
    if given.organization_id is not None:
        return Resource.organization(given.organization_id)
    return Resource.instance()


def _check_roles(req: am.CreateAdministratorRequest | am.UpdateAdministratorRequest) -> None:
    checked_roles(_resource(req.resource).level, req.roles)


def _check_pat(req: am.AddPersonalAccessTokenRequest) -> None:
    checked_expiration(req.expiration_date)


def _administrator_filter(i: int, f: am.AdministratorSearchFilter) -> AdministratorFilter:
    if f.in_user_ids_filter is not None:
        return AdministratorFilter(user_ids=list(f.in_user_ids_filter.ids))
    if f.user_organization_id is not None:
        return AdministratorFilter(user_org_id=f.user_organization_id.id)
    if f.resource is not None:
        if f.resource.organization_id is not None:
            return AdministratorFilter(org_id=f.resource.organization_id)
        return AdministratorFilter(instance=True)
    assert f.role is not None
    if f.role.role_key not in {**INSTANCE_ROLES, **ORG_ROLES}:
        raise field_error(
            f"filters[{i}].role.roleKey",
            f"{f.role.role_key!r} is not a role",
            ", ".join([*INSTANCE_ROLES, *ORG_ROLES]),
        )
    return AdministratorFilter(role=f.role.role_key)


def _pat_filter(f: am.PersonalAccessTokenSearchFilter) -> PatFilter:
    if f.token_id_filter is not None:
        return PatFilter(token_id=f.token_id_filter.id)
    if f.user_id_filter is not None:
        return PatFilter(user_id=f.user_id_filter.id)
    assert f.organization_id_filter is not None
    return PatFilter(org_id=f.organization_id_filter.id)


def register(registry: Registry, writer: Writer) -> None:
    commands = AdministratorCommands(writer)
    queries = AdministratorQueries(writer.db)
    pats = PatCommands(writer)
    pat_queries = PatQueries(writer.db)

    async def create(caller: Caller, req: am.CreateAdministratorRequest) -> dict[str, Any]:
        return await commands.create(caller, req.user_id, _resource(req.resource), req.roles)

    async def update(caller: Caller, req: am.UpdateAdministratorRequest) -> dict[str, Any]:
        return await commands.update(caller, req.user_id, _resource(req.resource), req.roles)

    async def delete(caller: Caller, req: am.DeleteAdministratorRequest) -> dict[str, Any]:
        return await commands.delete(caller, req.user_id, _resource(req.resource))

    async def list_administrators(
        caller: Caller, req: am.ListAdministratorsRequest
    ) -> dict[str, Any]:
        filters = [_administrator_filter(i, f) for i, f in enumerate(req.filters)]
        page = req.pagination
        return await queries.list(
            caller, filters, page.offset, page.limit, page.asc, req.sorting_column
        )

    async def add_pat(caller: Caller, req: am.AddPersonalAccessTokenRequest) -> dict[str, Any]:
        return await pats.create(caller, req.user_id, req.expiration_date)

    async def remove_pat(
        caller: Caller, req: am.RemovePersonalAccessTokenRequest
    ) -> dict[str, Any]:
        return await pats.remove(caller, req.user_id, req.token_id)

    async def list_pats(caller: Caller, req: am.ListPersonalAccessTokensRequest) -> dict[str, Any]:
        page = req.pagination
        return await pat_queries.list(
            caller,
            [_pat_filter(f) for f in req.filters],
            page.offset,
            page.limit,
            page.asc,
            req.sorting_column,
        )

    for op in (
        Operation(
            SERVICE + "CreateAdministrator",
            (("POST", "/v2/administrators"),),
            am.CreateAdministratorRequest,
            create,
            "Make a user an administrator of the instance or of an organization, with roles",
            subject_field="userId",
            check=_check_roles,
            pinned=("*",),
            permission="iam.member.write",
            org_permission="org.member.write",
        ),
        Operation(
            SERVICE + "UpdateAdministrator",
            (("PATCH", "/v2/administrators/{userId}"),),
            am.UpdateAdministratorRequest,
            update,
            "Replace an administrator's roles (the instance keeps an active IAM_OWNER)",
            subject_field="userId",
            check=_check_roles,
            pinned=("*",),
            permission="iam.member.write",
            org_permission="org.member.write",
        ),
        Operation(
            SERVICE + "DeleteAdministrator",
            (("DELETE", "/v2/administrators/{userId}"),),
            am.DeleteAdministratorRequest,
            delete,
            "Remove an administrator (not the instance's last active IAM_OWNER)",
            subject_field="userId",
            pinned=("*",),
            permission="iam.member.delete",
            org_permission="org.member.delete",
        ),
        Operation(
            SERVICE + "ListAdministrators",
            (("POST", "/v2/administrators/search"),),
            am.ListAdministratorsRequest,
            list_administrators,
            "Search administrators and their roles",
            permission="iam.member.read",
            org_permission="org.member.read",
        ),
        Operation(
            USERS + "AddPersonalAccessToken",
            (("POST", "/v2/users/{userId}/pats"),),
            am.AddPersonalAccessTokenRequest,
            add_pat,
            "Issue a personal access token to a machine user (shown in this answer only)",
            subject_field="userId",
            check=_check_pat,
            pinned=("*",),
            permission="user.write",
            org_permission="user.write",
        ),
        Operation(
            USERS + "RemovePersonalAccessToken",
            (("DELETE", "/v2/users/{userId}/pats/{tokenId}"),),
            am.RemovePersonalAccessTokenRequest,
            remove_pat,
            "Remove a personal access token; it stops working",
            subject_field="userId",
            pinned=("*",),
            permission="user.write",
            org_permission="user.write",
        ),
        Operation(
            USERS + "ListPersonalAccessTokens",
            (("POST", "/v2/users/pats/search"),),
            am.ListPersonalAccessTokensRequest,
            list_pats,
            "Search personal access tokens (never the tokens themselves)",
            permission="user.read",
            org_permission="user.read",
        ),
    ):
        registry.add(op)
