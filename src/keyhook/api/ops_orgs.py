"""Organization operations (``zitadel.org.v2.OrganizationService``): create and search.

AddOrganization takes a name; ZITADEL's ``admins`` (users created or named with the
organization) are refused with what to do instead: create the organization's users,
then make them its administrators with CreateAdministrator.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from keyhook.api.messages import Message, Paging
from keyhook.api.registry import Operation, Registry
from keyhook.command.orgs import OrgCommands, checked_org_name
from keyhook.command.writer import Writer
from keyhook.domain.caller import Caller
from keyhook.errors import field_error
from keyhook.query.orgs import OrgQueries

SERVICE = "/zitadel.org.v2.OrganizationService/"


class AddOrganizationRequest(Message):
    name: str = Field(min_length=1, max_length=200)
    admins: list[dict[str, Any]] = Field(default_factory=list, max_length=100)


class ListOrganizationsRequest(Message):
    query: Paging = Field(default_factory=Paging)
    name: str | None = Field(None, max_length=200)


def _check_add(req: AddOrganizationRequest) -> None:
    checked_org_name(req.name)
    if req.admins:
        raise field_error(
            "admins",
            "is not supported",
            "none: create the organization's users, then CreateAdministrator",
        )


def register(registry: Registry, writer: Writer) -> None:
    commands = OrgCommands(writer)
    queries = OrgQueries(writer.db)

    async def add(caller: Caller, req: AddOrganizationRequest) -> dict[str, Any]:
        _check_add(req)
        return await commands.add(caller, req.name)

    async def search(caller: Caller, req: ListOrganizationsRequest) -> dict[str, Any]:
        q = req.query
        return await queries.list(caller, q.offset, q.limit, q.asc, req.name)

    registry.add(
        Operation(
            SERVICE + "AddOrganization",
            (("POST", "/v2/organizations"),),
            AddOrganizationRequest,
            add,
            "Create an organization",
            check=_check_add,
            permission="org.create",
        )
    )
    registry.add(
        Operation(
            SERVICE + "ListOrganizations",
            (("POST", "/v2/organizations/search"),),
            ListOrganizationsRequest,
            search,
            "Search organizations",
            permission="org.read",
            org_permission="org.read",
        )
    )
