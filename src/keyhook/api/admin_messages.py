"""Messages of administrators and personal access tokens:
``zitadel.internal_permission.v2.InternalPermissionService`` and UserService's PATs.

Their shapes are ZITADEL's; what Keyhook does not have (project and project-grant
administrators, and/or/not filters) is refused naming the field and what is allowed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from keyhook.api.messages import Bool, Id, Int, Int64, Message, Moment
from keyhook.errors import field_error

_RESOURCES = "instance (true) or organizationId"


class ResourceType(Message):
    """What an administrator administers: exactly one of the members."""

    instance: Bool | None = None
    organization_id: Id | None = None
    # ZITADEL's, which Keyhook has no administrators of: named so the error says so.
    project_id: str | None = Field(None, max_length=200)
    project_grant: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_resource(self) -> ResourceType:
        if self.project_id is not None or self.project_grant is not None:
            name = "resource.projectId" if self.project_id is not None else "resource.projectGrant"
            raise field_error(name, "Keyhook has no project administrators", _RESOURCES)
        given = [
            n
            for n, v in (("instance", self.instance), ("organizationId", self.organization_id))
            if v not in (None, False)
        ]
        if len(given) != 1:
            problem = "names no resource" if not given else "names more than one resource"
            raise field_error("resource", problem, _RESOURCES)
        return self


class CreateAdministratorRequest(Message):
    user_id: Id
    resource: ResourceType
    roles: list[str] = Field(default_factory=list, max_length=20)


class UpdateAdministratorRequest(Message):
    user_id: Id
    resource: ResourceType
    roles: list[str] = Field(default_factory=list, max_length=20)


class DeleteAdministratorRequest(Message):
    user_id: Id
    resource: ResourceType


class PaginationRequest(Message):
    offset: Int64 = Field(0, ge=0, le=10_000_000)
    limit: Int = Field(100, ge=1, le=1000)
    asc: Bool = False


class IdsFilter(Message):
    ids: list[Id] = Field(default_factory=list, max_length=1000)


class IdFilter(Message):
    id: Id


class RoleFilter(Message):
    role_key: str = Field(min_length=1, max_length=200)


class AdministratorSearchFilter(Message):
    """One filter (exactly one member); the filters of a search are ANDed."""

    in_user_ids_filter: IdsFilter | None = None
    user_organization_id: IdFilter | None = None
    resource: ResourceType | None = None
    role: RoleFilter | None = None

    @model_validator(mode="after")
    def _one_filter(self) -> AdministratorSearchFilter:
        given = [
            v
            for v in (self.in_user_ids_filter, self.user_organization_id, self.resource, self.role)
            if v is not None
        ]
        if len(given) != 1:
            raise field_error(
                "filters[]",
                "a filter has exactly one member",
                "inUserIdsFilter, userOrganizationId, resource, role",
            )
        return self


class ListAdministratorsRequest(Message):
    pagination: PaginationRequest = Field(default_factory=PaginationRequest)
    sorting_column: Literal[
        "ADMINISTRATOR_FIELD_NAME_UNSPECIFIED",
        "ADMINISTRATOR_FIELD_NAME_USER_ID",
        "ADMINISTRATOR_FIELD_NAME_CREATION_DATE",
        "ADMINISTRATOR_FIELD_NAME_CHANGE_DATE",
    ] = "ADMINISTRATOR_FIELD_NAME_UNSPECIFIED"
    filters: list[AdministratorSearchFilter] = Field(default_factory=list, max_length=20)


# --- personal access tokens ------------------------------------------------------


class AddPersonalAccessTokenRequest(Message):
    user_id: Id
    # None: the token does not expire (ZITADEL's console allows that too).
    expiration_date: Moment | None = None


class RemovePersonalAccessTokenRequest(Message):
    user_id: Id
    token_id: Id


class PersonalAccessTokenSearchFilter(Message):
    token_id_filter: IdFilter | None = None
    user_id_filter: IdFilter | None = None
    organization_id_filter: IdFilter | None = None

    @model_validator(mode="after")
    def _one_filter(self) -> PersonalAccessTokenSearchFilter:
        given = [
            v
            for v in (self.token_id_filter, self.user_id_filter, self.organization_id_filter)
            if v is not None
        ]
        if len(given) != 1:
            raise field_error(
                "filters[]",
                "a filter has exactly one member",
                "tokenIdFilter, userIdFilter, organizationIdFilter",
            )
        return self


class ListPersonalAccessTokensRequest(Message):
    pagination: PaginationRequest = Field(default_factory=PaginationRequest)
    sorting_column: Literal[
        "PERSONAL_ACCESS_TOKEN_FIELD_NAME_UNSPECIFIED",
        "PERSONAL_ACCESS_TOKEN_FIELD_NAME_CREATED_DATE",
        "PERSONAL_ACCESS_TOKEN_FIELD_NAME_ID",
        "PERSONAL_ACCESS_TOKEN_FIELD_NAME_USER_ID",
        "PERSONAL_ACCESS_TOKEN_FIELD_NAME_EXPIRATION_DATE",
    ] = "PERSONAL_ACCESS_TOKEN_FIELD_NAME_UNSPECIFIED"
    filters: list[PersonalAccessTokenSearchFilter] = Field(default_factory=list, max_length=20)
