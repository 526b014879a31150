"""Commands on executions: set (or remove with an empty target list)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from keyhook.clock import iso
from keyhook.command.writer import Writer
from keyhook.domain.caller import Caller
from keyhook.domain.events import EVENT_TYPES, event_groups
from keyhook.domain.execution import parse_condition
from keyhook.errors import NotFound, field_error
from keyhook.eventstore.store import PendingEvent
from keyhook.storage.connection import Connection

MAX_TARGETS = 20


class ExecutionCommands:
    def __init__(
        self,
        writer: Writer,
        methods: Collection[str],
        services: Collection[str],
        unwrappable: Collection[str] = (),
    ) -> None:
        self.w = writer
        self.methods = methods
        self.services = services
        self.unwrappable = unwrappable

    async def set(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        target_ids = body.get("targets", [])
        if not isinstance(target_ids, list) or not all(isinstance(i, str) for i in target_ids):
            raise field_error("targets", "must be a list of target ids (strings)")
        condition = parse_condition(
            body.get("condition"),
            methods=self.methods,
            services=self.services,
            events=EVENT_TYPES.keys(),
            groups=event_groups(),
            # Removing (no targets) is allowed, so an execution stored before an operation
            # joined the recovery set can be cleaned up; it never ran meanwhile.
            unwrappable=self.unwrappable if target_ids else (),
        )
        if len(target_ids) > MAX_TARGETS:
            raise field_error(
                "targets", f"lists {len(target_ids)} targets", f"at most {MAX_TARGETS}"
            )
        if len(set(target_ids)) != len(target_ids):
            raise field_error("targets", "lists a target more than once")
        async with self.w.db.write() as conn:
            await _check_targets(conn, caller.instance_id, target_ids)
            exists = await conn.execute(
                "SELECT condition_key FROM executions "
                "WHERE instance_id = :instance_id AND condition_key = :condition_key",
                {"instance_id": caller.instance_id, "condition_key": condition.key},
            )
            if not target_ids and exists.first() is None:
                raise NotFound(
                    "no execution exists for this condition",
                    details=[{"field": "condition", "problem": "unknown"}],
                )
            event_type = "execution.set" if target_ids else "execution.removed"
            stored = await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        event_type,
                        "execution",
                        caller.instance_id,
                        caller.instance_id,
                        {
                            "conditionKey": condition.key,
                            "condition": condition.to_wire(),
                            "targets": target_ids,
                        },
                    )
                ],
            )
        return {"setDate": iso(stored[-1].created_at)}


async def _check_targets(conn: Connection, instance_id: str, ids: list[str]) -> None:
    if not ids:
        return
    rows = await conn.execute(
        "SELECT id FROM targets WHERE instance_id = :instance_id AND id IN (:ids)",
        {"instance_id": instance_id, "ids": ids},
    )
    known = {r.id for r in rows}
    missing = [i for i in ids if i not in known]
    if missing:
        raise NotFound(
            f"target {missing[0]} does not exist; "
            "list targets with POST /v2/actions/targets/search",
            details=[{"field": "targets", "problem": f"unknown target id {i}"} for i in missing],
        )
