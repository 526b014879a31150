"""Commands on targets: create, update (with signing key rotation), delete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from keyhook.clock import iso, now
from keyhook.command.writer import Writer, details
from keyhook.crypto.tokens import new_signing_key
from keyhook.domain import target as rules
from keyhook.domain.caller import Caller
from keyhook.domain.durations import parse_duration
from keyhook.domain.execution import Condition
from keyhook.errors import NotFound, field_error
from keyhook.eventstore.store import PendingEvent, UniqueClaim, aggregate_events
from keyhook.storage.connection import Connection

TARGET_NAME = "target_name"


@dataclass
class TargetState:
    id: str
    exists: bool = False
    name: str = ""
    sequence: int = 0
    sealed_keys: str = ""
    endpoint: str = ""
    sealed_headers: str | None = None
    paused: bool = False


def _name_claim(name: str, add: bool = True) -> UniqueClaim:
    return UniqueClaim(TARGET_NAME, name, add=add, error=f"a target named {name!r} already exists")


async def load_target(conn: Connection, instance_id: str, target_id: str) -> TargetState:
    state = TargetState(id=target_id)
    for e in await aggregate_events(conn, instance_id, "target", target_id):
        state.sequence = e.sequence
        if e.type == "target.added":
            state.exists = True
        if e.type == "target.removed":
            state.exists = False
        if e.type in ("target.paused", "target.resumed"):
            state.paused = e.type == "target.paused"
        state.name = e.data.get("name", state.name)
        state.sealed_keys = e.data.get("sealedSigningKeys", state.sealed_keys)
        state.sealed_headers = e.data.get("sealedHeaders", state.sealed_headers)
        state.endpoint = e.data.get("endpoint", state.endpoint)
    if not state.exists:
        raise NotFound(
            f"target {target_id} does not exist", details=[{"field": "id", "problem": "unknown"}]
        )
    return state


class TargetCommands:
    def __init__(self, writer: Writer) -> None:
        self.w = writer

    def _seal_keys(self, keys: list[dict[str, Any]]) -> str:
        return self.w.box.seal(orjson.dumps(keys).decode())

    def checked_new(
        self, body: dict[str, Any]
    ) -> tuple[str, str, float, rules.TargetType, bool, dict[str, str], rules.PayloadType]:
        """CreateTarget's field rules, without I/O: name, endpoint, timeout, type,
        interruptOnError, headers and payload type as they are stored."""
        name = rules.validate_name(body.get("name"))
        endpoint = self.w.policy.check_endpoint(body.get("endpoint"))  # type: ignore[arg-type]
        timeout = rules.validate_timeout(body.get("timeout"))
        kind, interrupt = rules.parse_target_type(body)
        headers = rules.validate_headers(body.get("headers"))
        payload_type = rules.parse_payload_type(body.get("payloadType")) or rules.PayloadType.JSON
        return name, endpoint, timeout, kind, interrupt, headers, payload_type

    async def create(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        name, endpoint, timeout, kind, interrupt, headers, payload_type = self.checked_new(body)
        key = new_signing_key()
        target_id = self.w.ids.new()
        data: dict[str, Any] = {
            "targetId": target_id,
            "name": name,
            "endpoint": endpoint,
            "timeoutSeconds": timeout,
            "targetType": kind.value,
            "interruptOnError": interrupt,
            "sealedSigningKeys": self._seal_keys([{"key": key, "expiresAt": None}]),
            "sealedHeaders": self.w.box.seal(orjson.dumps(headers).decode()) if headers else None,
            "payloadType": payload_type.value,  # older events have none: JSON
        }
        async with self.w.db.write() as conn:
            stored = await self.w.commit(
                conn,
                caller,
                [PendingEvent("target.added", "target", target_id, caller.instance_id, data)],
                expected={("target", target_id): 0},
                claims=[_name_claim(name)],
            )
        return {"id": target_id, "creationDate": iso(stored[-1].created_at), "signingKey": key}

    async def update(self, caller: Caller, target_id: str, body: dict[str, Any]) -> dict[str, Any]:
        changed: dict[str, Any] = {}
        if body.get("name") is not None:
            changed["name"] = rules.validate_name(body["name"])
        if body.get("endpoint") is not None:
            changed["endpoint"] = self.w.policy.check_endpoint(body["endpoint"])
        if body.get("timeout") is not None:
            changed["timeoutSeconds"] = rules.validate_timeout(body["timeout"])
        if any(body.get(k.value) is not None for k in rules.TargetType):
            kind, interrupt = rules.parse_target_type(body)
            changed.update(targetType=kind.value, interruptOnError=interrupt)
        payload_type = rules.parse_payload_type(body.get("payloadType"))
        if payload_type is not None:
            changed["payloadType"] = payload_type.value
        headers: dict[str, str] | None = None
        if "headers" in body and body["headers"] is not None:
            headers = rules.validate_headers(body["headers"])
            changed["sealedHeaders"] = None
        rotate = body.get("expirationSigningKey")
        overlap = None if rotate is None else parse_duration(rotate, "expirationSigningKey")
        if overlap is not None and overlap > 30 * 24 * 3600:
            raise field_error("expirationSigningKey", "is longer than 30 days", "0s to 720h")
        if not changed and overlap is None:
            raise field_error(
                "target",
                "names nothing to change",
                "name, endpoint, timeout, restWebhook/restCall/restAsync, headers, "
                "payloadType, expirationSigningKey",
            )
        new_key = None
        async with self.w.db.write() as conn:
            state = await load_target(conn, caller.instance_id, target_id)
            claims = []
            if "name" in changed and changed["name"] != state.name:
                claims = [_name_claim(state.name, add=False), _name_claim(changed["name"])]
            moves = "endpoint" in changed and not rules.same_origin(
                changed["endpoint"], state.endpoint
            )
            if moves and state.sealed_headers and headers is None:
                raise field_error(
                    "headers",
                    "must be sent again with their values when the endpoint moves to another "
                    "origin (scheme, host or port): they are the receiver's secrets, and do not "
                    "follow the target to another receiver",
                    "the headers with their values, or {} to drop them",
                )
            if headers is not None:
                headers = self._kept_headers(headers, state, moves)
                changed["sealedHeaders"] = (
                    self.w.box.seal(orjson.dumps(headers).decode()) if headers else None
                )
            if overlap is not None:
                new_key = new_signing_key()
                changed["sealedSigningKeys"] = self._seal_keys(
                    _rotated(self.w.box.open(state.sealed_keys), new_key, overlap, now())
                )
            stored = await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "target.changed",
                        "target",
                        target_id,
                        caller.instance_id,
                        {"targetId": target_id, "changed": sorted(changed), **changed},
                    )
                ],
                expected={("target", target_id): state.sequence},
                claims=claims,
            )
        answer: dict[str, Any] = {"changeDate": details(stored)["changeDate"]}
        if new_key is not None:
            answer["signingKey"] = new_key
        return answer

    def _kept_headers(
        self, headers: dict[str, str], state: TargetState, moves: bool
    ) -> dict[str, str]:
        """``headers`` with every masked value replaced by the stored one: values are
        write-only, so an update that keeps a header sends its mask back — unless the
        endpoint ``moves`` to another origin, where no stored value may follow it
        (whoever may change a target would otherwise read its secrets at a receiver of
        their own)."""
        if rules.HEADER_MASK not in headers.values():
            return headers
        if moves:
            name = next(n for n, v in headers.items() if v == rules.HEADER_MASK)
            raise field_error(
                f"headers.{name}",
                "cannot keep its stored value: the endpoint moves to another origin (scheme, "
                "host or port)",
                "its value typed again, or the header left out",
            )
        stored: dict[str, str] = (
            orjson.loads(self.w.box.open(state.sealed_headers)) if state.sealed_headers else {}
        )
        kept = {}
        for name, value in headers.items():
            if value == rules.HEADER_MASK:
                if name not in stored:
                    raise field_error(
                        f"headers.{name}",
                        f"is the mask {rules.HEADER_MASK} (keep the stored value), but the "
                        "target has no such header",
                        "a new value, or the mask for a header the target has",
                    )
                value = stored[name]
            kept[name] = value
        return kept

    async def ensure_exists(self, caller: Caller, target_id: str) -> None:
        async with self.w.db.read() as conn:
            await load_target(conn, caller.instance_id, target_id)

    async def set_paused(
        self, caller: Caller, target_id: str, paused: bool, reason: str = "paused by an operator"
    ) -> dict[str, Any]:
        """Pause or resume deliveries; a no-op (no event) when already in that state."""
        async with self.w.db.write() as conn:
            state = await load_target(conn, caller.instance_id, target_id)
            if state.paused == paused:
                return {"changeDate": None, "paused": paused}
            data: dict[str, Any] = {"targetId": target_id, "name": state.name}
            if paused:
                data["reason"] = reason
            stored = await self.w.commit(
                conn,
                caller,
                [
                    PendingEvent(
                        "target.paused" if paused else "target.resumed",
                        "target",
                        target_id,
                        caller.instance_id,
                        data,
                    )
                ],
                expected={("target", target_id): state.sequence},
            )
        return {"changeDate": details(stored)["changeDate"], "paused": paused}

    async def delete(self, caller: Caller, target_id: str) -> dict[str, Any]:
        async with self.w.db.write() as conn:
            state = await load_target(conn, caller.instance_id, target_id)
            pending = [
                PendingEvent(
                    "target.removed",
                    "target",
                    target_id,
                    caller.instance_id,
                    {"targetId": target_id, "name": state.name},
                )
            ]
            pending += await _executions_without(conn, caller.instance_id, target_id)
            stored = await self.w.commit(
                conn, caller, pending, claims=[_name_claim(state.name, add=False)]
            )
        return {"deletionDate": iso(stored[0].created_at)}


def _rotated(sealed_plain: str, new_key: str, overlap: float, at: datetime) -> list[dict[str, Any]]:
    """The key list after a rotation.

    ``overlap`` 0 replaces every key at once (the answer to a leaked key);
    otherwise the current key expires after ``overlap`` and older keys keep
    their own, earlier expiry.
    """
    keys: list[dict[str, Any]] = []
    if overlap > 0:
        for item in orjson.loads(sealed_plain):
            expires = item["expiresAt"]
            if expires is None:
                expires = iso(at + timedelta(seconds=overlap))
            elif datetime.fromisoformat(expires) <= at:
                continue
            keys.append({"key": item["key"], "expiresAt": expires})
    keys.append({"key": new_key, "expiresAt": None})
    return keys


async def _executions_without(
    conn: Connection, instance_id: str, target_id: str
) -> list[PendingEvent]:
    """Events that take a deleted target out of every execution that lists it."""
    rows = await conn.execute(
        "SELECT condition_key, target_ids FROM executions WHERE instance_id = :instance_id",
        {"instance_id": instance_id},
    )
    pending = []
    for row in rows:
        ids = orjson.loads(row.target_ids)
        if target_id not in ids:
            continue
        remaining = [i for i in ids if i != target_id]
        event_type = "execution.set" if remaining else "execution.removed"
        pending.append(
            PendingEvent(
                event_type,
                "execution",
                instance_id,
                instance_id,
                {
                    "conditionKey": row.condition_key,
                    "condition": Condition.from_key(row.condition_key).to_wire(),
                    "targets": remaining,
                },
            )
        )
    return pending
