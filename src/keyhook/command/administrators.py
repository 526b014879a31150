"""Commands on administrators: make a user an administrator of the instance or of an
organization with roles, change the roles, remove the administrator.

Each change is an event on the administered aggregate, with ZITADEL's names
(``instance.member.added``/``changed``/``removed`` on the instance,
``org.member.*`` on the organization), so event executions see it; the
``administrators`` read table follows in the same transaction. Changes of one
instance's administrators run one at a time (the instance row is locked on
PostgreSQL; SQLite has one writer), so the rule that the instance keeps an active
``IAM_OWNER`` (:mod:`keyhook.command.admins`) holds against concurrent removals.
"""

from __future__ import annotations

from typing import Any

import orjson

from keyhook.clock import iso
from keyhook.command.admins import (
    ensure_an_owner_remains,
    ensure_covers,
    granted,
    lock_administrators,
)
from keyhook.command.orgs import ensure_org
from keyhook.command.users import load_user
from keyhook.command.writer import Writer
from keyhook.domain.caller import Caller
from keyhook.domain.roles import OWNER, Resource, checked_roles
from keyhook.errors import AlreadyExists, FailedPrecondition, NotFound, PermissionDenied
from keyhook.eventstore.store import PendingEvent, StoredEvent
from keyhook.storage.connection import Connection

_MEMBERSHIP = (
    "SELECT roles FROM administrators WHERE user_id = :user_id AND resource_id = :resource_id "
    "AND instance_id = :instance_id"
)


def _event_names(resource: Resource) -> tuple[str, str]:
    """(event type prefix, aggregate type) of changes to administrators of ``resource``."""
    return ("instance.member", "instance") if resource.is_instance else ("org.member", "org")


class AdministratorCommands:
    def __init__(self, writer: Writer) -> None:
        self.w = writer

    async def _prepare(
        self,
        conn: Connection,
        caller: Caller,
        user_id: str,
        resource: Resource,
        creating: bool = False,
    ) -> tuple[str, list[str] | None]:
        """The administered resource's id, and the user's roles there now (None: none).

        The caller may act on the resource (its organization is within reach; the
        instance only with an instance role) and the user exists within the caller's
        reach and, to become an organization's administrator, belongs to it.
        """
        if resource.is_instance:
            if caller.orgs is not None:
                raise PermissionDenied(
                    "administrators of the instance are managed with an instance role "
                    "(IAM_OWNER); an organization's administrator may manage its own "
                    "organization's only",
                    details=[{"field": "resource", "problem": "needs an instance role"}],
                )
            resource_id = caller.instance_id
        else:
            resource_id = resource.org_id
            await ensure_org(conn, caller, resource_id)
        user = await load_user(conn, caller, user_id)
        user.ensure_exists()
        if creating and not resource.is_instance and user.org_id != resource_id:
            raise FailedPrecondition(
                f"user {user_id} belongs to organization {user.org_id}, not to "
                f"{resource_id}: an organization's administrators are its own users",
                details=[{"field": "userId", "problem": "a user of another organization"}],
            )
        await lock_administrators(conn, caller.instance_id)
        row = (
            await conn.execute(
                _MEMBERSHIP,
                {"user_id": user_id, "resource_id": resource_id, "instance_id": caller.instance_id},
            )
        ).first()
        return resource_id, (None if row is None else list(orjson.loads(row.roles)))

    async def _commit(
        self,
        conn: Connection,
        caller: Caller,
        resource: Resource,
        resource_id: str,
        verb: str,
        data: dict[str, Any],
    ) -> StoredEvent:
        prefix, aggregate = _event_names(resource)
        stored = await self.w.commit(
            conn,
            caller,
            [PendingEvent(f"{prefix}.{verb}", aggregate, resource_id, resource_id, data)],
        )
        return stored[-1]

    async def create(
        self, caller: Caller, user_id: str, resource: Resource, roles: list[str]
    ) -> dict[str, Any]:
        granted_roles = sorted(checked_roles(resource.level, roles))
        async with self.w.db.write() as conn:
            resource_id, current = await self._prepare(
                conn, caller, user_id, resource, creating=True
            )
            ensure_covers(
                caller,
                granted(resource.level, resource_id, frozenset(granted_roles)),
                user_id,
                "granting these roles",
            )
            if current is not None:
                raise AlreadyExists(
                    f"user {user_id} is already an administrator of {resource.describe()} "
                    f"(roles {', '.join(current)}); change its roles with UpdateAdministrator",
                    details=[{"field": "userId", "problem": "already an administrator"}],
                )
            event = await self._commit(
                conn,
                caller,
                resource,
                resource_id,
                "added",
                {"userId": user_id, "roles": granted_roles},
            )
        return {"creationDate": iso(event.created_at)}

    async def update(
        self, caller: Caller, user_id: str, resource: Resource, roles: list[str]
    ) -> dict[str, Any]:
        granted_roles = sorted(checked_roles(resource.level, roles))
        async with self.w.db.write() as conn:
            resource_id, current = await self._prepare(conn, caller, user_id, resource)
            if current is None:
                raise _not_an_administrator(user_id, resource)
            for roles_there, doing in (
                (current, "changing its roles"),
                (granted_roles, "granting these roles"),
            ):
                ensure_covers(
                    caller,
                    granted(resource.level, resource_id, frozenset(roles_there)),
                    user_id,
                    doing,
                )
            if resource.is_instance and OWNER in current and OWNER not in granted_roles:
                await ensure_an_owner_remains(
                    conn, caller.instance_id, user_id, f"taking {OWNER} away"
                )
            event = await self._commit(
                conn,
                caller,
                resource,
                resource_id,
                "changed",
                {"userId": user_id, "roles": granted_roles},
            )
        return {"changeDate": iso(event.created_at)}

    async def delete(self, caller: Caller, user_id: str, resource: Resource) -> dict[str, Any]:
        async with self.w.db.write() as conn:
            resource_id, current = await self._prepare(conn, caller, user_id, resource)
            if current is None:
                raise _not_an_administrator(user_id, resource)
            ensure_covers(
                caller,
                granted(resource.level, resource_id, frozenset(current)),
                user_id,
                "removing this administrator",
            )
            if resource.is_instance and OWNER in current:
                await ensure_an_owner_remains(
                    conn, caller.instance_id, user_id, "removing this administrator"
                )
            event = await self._commit(
                conn, caller, resource, resource_id, "removed", {"userId": user_id}
            )
        return {"deletionDate": iso(event.created_at)}

    async def grant_owner(self, conn: Connection, caller: Caller, user_id: str) -> None:
        """Make ``user_id`` IAM_OWNER (first start's administrators)."""
        await self._commit(
            conn,
            caller,
            Resource.instance(),
            caller.instance_id,
            "added",
            {"userId": user_id, "roles": [OWNER]},
        )


def _not_an_administrator(user_id: str, resource: Resource) -> NotFound:
    return NotFound(
        f"user {user_id} is not an administrator of {resource.describe()}",
        details=[{"field": "userId", "problem": "not an administrator"}],
    )
