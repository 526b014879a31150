"""The transactional outbox: delivery rows written with the events that cause them.

:meth:`Outbox.enqueue_events` runs inside the transaction that appends events
(it is a ``Writer.after_append`` hook), so a delivery exists exactly when its
event committed: none is lost, none is sent for a rolled-back write. The body
of each delivery is encoded once, here, so every retry sends the same bytes.
After the commit the in-process worker is woken; on PostgreSQL a ``NOTIFY``
sent in the same transaction wakes the workers of other processes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from keyhook.actions.catalog import Catalog
from keyhook.actions.wire import encode_body
from keyhook.clock import iso, now
from keyhook.domain.payload import event_payload
from keyhook.domain.target import Target
from keyhook.eventstore.store import StoredEvent, with_positions
from keyhook.ids import IdGenerator
from keyhook.storage.connection import Connection
from keyhook.storage.database import Database

_INSERT_DELIVERY = (
    "INSERT INTO deliveries (id, instance_id, target_id, kind, trigger, event_position, "
    "payload, status, attempts, next_attempt_at, lease_owner, lease_until, last_status_code, "
    "last_error, created_at, updated_at) VALUES (:id, :instance_id, :target_id, :kind, "
    ":trigger, :event_position, :payload, :status, :attempts, :next_attempt_at, :lease_owner, "
    ":lease_until, :last_status_code, :last_error, :created_at, :updated_at)"
)


# keyhook_expect: migration 0011. One row per instance; the generation counts them all.
_CATALOG_IS_CURRENT = (
    "SELECT keyhook_expect(coalesce(sum(actions_generation), 0) = :generation, "
    "'the actions catalog changed') FROM instances"
)


def message_id(delivery_id: str) -> str:
    """The ``webhook-id`` of a delivery: the same on every attempt."""
    return f"msg_{delivery_id}"


class Outbox:
    def __init__(self, db: Database, catalog: Catalog, ids: IdGenerator) -> None:
        self.db = db
        self.catalog = catalog
        self.ids = ids
        self.wake: Callable[[], None] = lambda: None

    def _row(
        self,
        target: Target,
        instance_id: str,
        kind: str,
        trigger: str,
        body: bytes,
        at: datetime,
        position: int | None = None,
    ) -> dict[str, Any]:
        return {
            "id": self.ids.new(),
            "instance_id": instance_id,
            "target_id": target.id,
            "kind": kind,
            "trigger": trigger,
            "event_position": position,
            "payload": body.decode(),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": at,
            "lease_owner": None,
            "lease_until": None,
            "last_status_code": None,
            "last_error": None,
            "created_at": at,
            "updated_at": at,
        }

    def wake_worker(self) -> None:
        self.wake()

    async def enqueue_events(self, conn: Connection, stored: Sequence[StoredEvent]) -> None:
        held = self.catalog.held() if conn.defers and not conn.started else None
        if held is not None and not any(held.for_event(event.type) for event in stored):
            # Nothing to deliver by the snapshot in memory: sent with the command's writes,
            # the check that it is still current costs no round trip of its own. If it is
            # not, nothing is written and the command runs again in a transaction.
            await conn.later(_CATALOG_IS_CURRENT, {"generation": held.generation})
            return
        snapshot = await self.catalog.as_seen_by(conn)
        if not any(snapshot.for_event(event.type) for event in stored):
            return
        stored = await with_positions(conn, stored)
        rows: list[dict[str, Any]] = []
        for event in stored:
            targets = snapshot.for_event(event.type)
            if not targets:
                continue
            body = encode_body(
                event_payload(
                    event_type=event.type,
                    position=event.position,
                    sequence=event.sequence,
                    created_at=iso(event.created_at),
                    instance_id=event.instance_id,
                    resource_owner=event.resource_owner,
                    aggregate_type=event.aggregate_type,
                    aggregate_id=event.aggregate_id,
                    creator=event.creator,
                    data=event.data,
                )
            )
            rows += [
                self._row(
                    target,
                    event.instance_id,
                    "event",
                    event.type,
                    body,
                    event.created_at,
                    event.position,
                )
                for target in targets
            ]
        await self._insert(conn, rows)

    async def enqueue_call(
        self, target: Target, payload: dict[str, Any], kind: str, trigger: str, instance_id: str
    ) -> str:
        """A ``restAsync`` call from a request or response execution, in its own transaction."""
        row = self._row(target, instance_id, kind, trigger, encode_body(payload), now())
        async with self.db.write() as conn:
            await self._insert(conn, [row])
        return str(row["id"])

    async def _insert(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        await conn.execute_many(_INSERT_DELIVERY, rows)
        await self.db.notify_deliveries(conn)
        self.db.after_commit(conn, self.wake)
