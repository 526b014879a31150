"""Organizations as commands see them: the owner a new object names must exist."""

from __future__ import annotations

from keyhook.domain.caller import Caller
from keyhook.errors import NotFound
from keyhook.storage.connection import Connection


async def ensure_org(conn: Connection, caller: Caller, org_id: str) -> None:
    """A :class:`NotFound` naming ``organizationId`` unless ``org_id`` is in the instance."""
    if org_id == caller.default_org_id:
        return
    found = await conn.execute(
        "SELECT id FROM orgs WHERE id = :id AND instance_id = :instance_id",
        {"id": org_id, "instance_id": caller.instance_id},
    )
    if found.first() is None:
        raise NotFound(
            f"organization {org_id} does not exist",
            details=[{"field": "organizationId", "problem": "unknown"}],
        )
