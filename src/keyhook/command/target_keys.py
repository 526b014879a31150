"""Commands on a target's public keys (ZITADEL's AddPublicKey, ActivatePublicKey,
DeactivatePublicKey, RemovePublicKey): the keys a ``PAYLOAD_TYPE_JWE`` target's
payloads are encrypted to.

Keys are events of the target's aggregate. At most one is active: activating one
deactivates the one before (in the same event). A new key is inactive; an active
key cannot be removed (deactivate it first); a key past its expiration date is
used no more and counts as inactive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keyhook.clock import iso, now
from keyhook.command.writer import Writer
from keyhook.crypto.public_keys import parse_public_key
from keyhook.domain.caller import Caller
from keyhook.errors import FailedPrecondition, NotFound, field_error
from keyhook.eventstore.store import PendingEvent, aggregate_events
from keyhook.storage.connection import Connection

MAX_KEYS = 20
ADDED = "target.public_key.added"
ACTIVATED = "target.public_key.activated"
DEACTIVATED = "target.public_key.deactivated"
REMOVED = "target.public_key.removed"


@dataclass
class KeyState:
    id: str
    fingerprint: str
    active: bool
    expires_at: datetime | None
    changed_at: datetime

    def in_use(self, at: datetime) -> bool:
        return self.active and (self.expires_at is None or self.expires_at > at)


@dataclass
class TargetKeys:
    target_id: str
    sequence: int = 0
    exists: bool = False
    keys: dict[str, KeyState] = field(default_factory=dict)

    def key(self, key_id: str) -> KeyState:
        found = self.keys.get(key_id)
        if found is None:
            raise NotFound(
                f"target {self.target_id} has no public key {key_id}",
                details=[{"field": "keyId", "problem": "unknown"}],
            )
        return found


async def load_keys(conn: Connection, instance_id: str, target_id: str) -> TargetKeys:
    state = TargetKeys(target_id)
    for e in await aggregate_events(conn, instance_id, "target", target_id):
        state.sequence = e.sequence
        d = e.data
        if e.type == "target.added":
            state.exists = True
        elif e.type == "target.removed":
            state.exists, state.keys = False, {}
        elif e.type == ADDED:
            expires = d.get("expirationDate")
            state.keys[d["keyId"]] = KeyState(
                d["keyId"],
                d["fingerprint"],
                False,
                datetime.fromisoformat(expires) if expires else None,
                e.created_at,
            )
        elif e.type in (ACTIVATED, DEACTIVATED) and d["keyId"] in state.keys:
            if e.type == ACTIVATED:
                for other in state.keys.values():
                    if other.active:
                        other.active, other.changed_at = False, e.created_at
            key = state.keys[d["keyId"]]
            key.active, key.changed_at = e.type == ACTIVATED, e.created_at
        elif e.type == REMOVED:
            state.keys.pop(d["keyId"], None)
    if not state.exists:
        raise NotFound(
            f"target {target_id} does not exist",
            details=[{"field": "targetId", "problem": "unknown"}],
        )
    return state


def _expiration(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise field_error("expirationDate", "must be an RFC 3339 time")
    if value <= now():
        raise field_error(
            "expirationDate", f"is {iso(value)}, which has passed", "a time in the future"
        )
    return value


class TargetKeyCommands:
    def __init__(self, writer: Writer) -> None:
        self.w = writer

    async def _commit(
        self, conn: Connection, caller: Caller, state: TargetKeys, event: str, data: dict[str, Any]
    ) -> datetime:
        stored = await self.w.commit(
            conn,
            caller,
            [
                PendingEvent(
                    event,
                    "target",
                    state.target_id,
                    caller.instance_id,
                    {"targetId": state.target_id, **data},
                )
            ],
            expected={("target", state.target_id): state.sequence},
        )
        return stored[-1].created_at

    async def add(
        self, caller: Caller, target_id: str, public_key: object, expiration: object = None
    ) -> dict[str, Any]:
        parsed = parse_public_key(public_key)
        expires = _expiration(expiration)
        key_id = self.w.ids.new()
        async with self.w.db.write() as conn:
            state = await load_keys(conn, caller.instance_id, target_id)
            if len(state.keys) >= MAX_KEYS:
                raise FailedPrecondition(
                    f"target {target_id} already has {len(state.keys)} public keys, the most "
                    "allowed; remove an inactive one first",
                    details=[{"field": "publicKey", "problem": f"at most {MAX_KEYS} keys"}],
                )
            same = next(
                (k for k in state.keys.values() if k.fingerprint == parsed.fingerprint), None
            )
            if same is not None:
                raise field_error(
                    "publicKey",
                    f"is already registered for this target as key {same.id} "
                    f"({parsed.fingerprint})",
                    "a key the target does not have yet",
                )
            at = await self._commit(
                conn,
                caller,
                state,
                ADDED,
                {
                    "keyId": key_id,
                    "publicKey": parsed.pem,
                    "fingerprint": parsed.fingerprint,
                    "algorithm": parsed.algorithm,
                    "expirationDate": None if expires is None else iso(expires),
                },
            )
        return {"keyId": key_id, "creationDate": iso(at)}

    async def activate(self, caller: Caller, target_id: str, key_id: str) -> dict[str, Any]:
        async with self.w.db.write() as conn:
            state = await load_keys(conn, caller.instance_id, target_id)
            key = state.key(key_id)
            if key.expires_at is not None and key.expires_at <= now():
                raise FailedPrecondition(
                    f"public key {key_id} expired at {iso(key.expires_at)} and cannot be "
                    "activated; add a new key",
                    details=[{"field": "keyId", "problem": "expired"}],
                )
            if key.active:  # already the active key: a no-op
                return {"changeDate": iso(key.changed_at)}
            before = next((k.id for k in state.keys.values() if k.active), None)
            data = {"keyId": key_id, "deactivatedKeyId": before}
            at = await self._commit(conn, caller, state, ACTIVATED, data)
        return {"changeDate": iso(at)}

    async def deactivate(self, caller: Caller, target_id: str, key_id: str) -> dict[str, Any]:
        async with self.w.db.write() as conn:
            state = await load_keys(conn, caller.instance_id, target_id)
            key = state.key(key_id)
            if not key.active:  # already inactive: a no-op
                return {"changeDate": iso(key.changed_at)}
            at = await self._commit(conn, caller, state, DEACTIVATED, {"keyId": key_id})
        return {"changeDate": iso(at)}

    async def remove(self, caller: Caller, target_id: str, key_id: str) -> dict[str, Any]:
        async with self.w.db.write() as conn:
            state = await load_keys(conn, caller.instance_id, target_id)
            key = state.key(key_id)
            if key.in_use(now()):
                raise FailedPrecondition(
                    f"public key {key_id} is the target's active key and cannot be removed; "
                    "deactivate it first (POST /v2/actions/targets/{targetId}/publickeys/"
                    "{keyId}/deactivate)",
                    details=[{"field": "keyId", "problem": "active"}],
                )
            at = await self._commit(conn, caller, state, REMOVED, {"keyId": key_id})
        return {"deletionDate": iso(at)}
