"""Targets and executions as the API shows them; secrets masked except the signing key."""

from __future__ import annotations

from typing import Any

import orjson

from keyhook.clock import iso, now
from keyhook.crypto.secretbox import SecretBox
from keyhook.domain.caller import Caller
from keyhook.domain.execution import Condition, Kind
from keyhook.domain.explain import candidates, explain
from keyhook.domain.target import (
    HEADER_MASK,
    Target,
    TargetType,
    format_timeout,
    target_from_record,
)
from keyhook.errors import NotFound
from keyhook.query.paging import Search, count_and_rows, pagination
from keyhook.storage.database import Database

_TARGET = "SELECT * FROM targets WHERE id = :id AND instance_id = :instance_id"


def target_to_wire(target: Target, created: Any, changed: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "id": target.id,
        "creationDate": iso(created),
        "changeDate": iso(changed),
        "name": target.name,
        "endpoint": target.endpoint,
        "timeout": format_timeout(target.timeout),
        "signingKey": next((k.key for k in target.signing_keys if k.expires_at is None), ""),
        # During a rotation's overlap the older keys still sign every call, until then
        # (their values were shown when they were current).
        "previousSigningKeys": [
            {"expirationDate": iso(ends)}
            for ends in sorted(k.expires_at for k in target.signing_keys if k.expires_at)
            if ends > now()
        ],
        "headers": {name: HEADER_MASK for name in target.headers},
        "paused": target.paused,
        "payloadType": target.payload_type.value,
    }
    if target.type is TargetType.REST_ASYNC:
        wire["restAsync"] = {}
    else:
        wire[target.type.value] = {"interruptOnError": target.interrupt_on_error}
    return wire


class TargetQueries:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    async def get(self, caller: Caller, target_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = (
                await conn.execute(_TARGET, {"id": target_id, "instance_id": caller.instance_id})
            ).first()
        if row is None:
            raise NotFound(
                f"target {target_id} does not exist",
                details=[{"field": "id", "problem": "unknown"}],
            )
        return {
            "target": target_to_wire(
                target_from_record(row, self.box), row["created_at"], row["changed_at"]
            )
        }

    async def search(
        self, caller: Caller, offset: int, limit: int, name: str | None
    ) -> dict[str, Any]:
        search = Search("SELECT * FROM targets").where(
            "instance_id = :instance_id", instance_id=caller.instance_id
        )
        if name:
            search.where("lower(name) LIKE :name", name=f"%{name.lower()}%")
        async with self.db.read() as conn:
            total, rows = await count_and_rows(conn, search, "id", offset, limit)
            targets = [
                target_to_wire(target_from_record(r, self.box), r.created_at, r.changed_at)
                for r in rows
            ]
        return {
            "pagination": pagination(total, limit),
            "targets": targets,
        }

    async def explain(
        self, caller: Caller, kind: Kind, value: str, *, unwrapped: bool
    ) -> dict[str, Any]:
        """ExplainExecution: which execution fires for ``value``, its targets in order,
        and the executions it shadows (:func:`keyhook.domain.explain.explain`)."""
        keys = [c.key for c in candidates(kind, value, unwrapped=unwrapped)]
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    "SELECT condition_key, target_ids FROM executions "
                    "WHERE instance_id = :instance_id AND condition_key IN (:keys)",
                    {"instance_id": caller.instance_id, "keys": keys or [""]},
                )
            ).all()
            names = {
                r.id: r.name
                for r in await conn.execute(
                    "SELECT id, name FROM targets WHERE instance_id = :instance_id",
                    {"instance_id": caller.instance_id},
                )
            }
        targets = {r.condition_key: list(orjson.loads(r.target_ids)) for r in rows}
        found = explain(set(targets), kind, value, unwrapped=unwrapped)

        def execution(condition: Condition) -> dict[str, Any]:
            ids = targets[condition.key]
            return {
                "condition": condition.to_wire(),
                "targets": ids,
                "targetNames": [names.get(t, "") for t in ids],
            }

        return {
            "fires": None if found.fires is None else execution(found.fires),
            "shadowed": [execution(c) for c in found.shadowed],
            "tried": [{"condition": c.to_wire(), "set": c.key in targets} for c in found.tried],
            "note": found.note,
        }

    async def search_executions(self, caller: Caller, offset: int, limit: int) -> dict[str, Any]:
        search = Search("SELECT * FROM executions").where(
            "instance_id = :instance_id", instance_id=caller.instance_id
        )
        async with self.db.read() as conn:
            total, rows = await count_and_rows(conn, search, "condition_key", offset, limit)
            names = {
                r.id: r.name
                for r in await conn.execute(
                    "SELECT id, name FROM targets WHERE instance_id = :instance_id",
                    {"instance_id": caller.instance_id},
                )
            }
            executions = []
            for r in rows:
                target_ids = orjson.loads(r.target_ids)
                executions.append(
                    {
                        "condition": Condition.from_key(r.condition_key).to_wire(),
                        "targets": target_ids,
                        # Keyhook's addition: which target each id is, in the same order.
                        "targetNames": [names.get(t, "") for t in target_ids],
                        "creationDate": iso(r.created_at),
                        "changeDate": iso(r.changed_at),
                    }
                )
        return {
            "pagination": pagination(total, limit),
            "executions": executions,
        }
