"""Organizations: creating one, and the rule that the owner a new object names exists
within the caller's reach."""

from __future__ import annotations

from typing import Any

from keyhook.command.writer import Writer, details
from keyhook.domain.caller import Caller
from keyhook.errors import NotFound, field_error
from keyhook.eventstore.store import PendingEvent, UniqueClaim
from keyhook.storage.connection import Connection


async def ensure_org(conn: Connection, caller: Caller, org_id: str) -> None:
    """A :class:`NotFound` naming ``organizationId`` unless ``org_id`` is in the instance
    and within the caller's reach."""
    if org_id == caller.default_org_id and caller.sees_org(org_id):
        return
    found = await conn.execute(
        "SELECT id FROM orgs WHERE id = :id AND instance_id = :instance_id",
        {"id": org_id, "instance_id": caller.instance_id},
    )
    if found.first() is None or not caller.sees_org(org_id):
        raise NotFound(
            f"organization {org_id} does not exist",
            details=[{"field": "organizationId", "problem": "unknown"}],
        )


ORG_NAME = "org_name"


def checked_org_name(name: str) -> str:
    stripped = name.strip()
    if not stripped:
        raise field_error("name", "is empty", "1 to 200 characters")
    return stripped


class OrgCommands:
    def __init__(self, writer: Writer) -> None:
        self.w = writer

    async def add(self, caller: Caller, name: str) -> dict[str, Any]:
        """A new organization, named uniquely in the instance (as ZITADEL's are)."""
        name = checked_org_name(name)
        org_id = self.w.ids.new()
        async with self.w.db.write() as conn:
            stored = await self.w.commit(
                conn,
                caller,
                [PendingEvent("org.added", "org", org_id, org_id, {"orgId": org_id, "name": name})],
                expected={("org", org_id): 0},
                claims=[
                    UniqueClaim(
                        ORG_NAME,
                        name.lower(),
                        error=f"an organization named {name!r} already exists",
                    )
                ],
            )
        return {"organizationId": org_id, "details": details(stored), "createdAdmins": []}
