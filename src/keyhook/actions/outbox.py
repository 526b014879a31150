"""The transactional outbox: delivery rows written with the events that cause them.

:meth:`Outbox.enqueue_events` runs inside the transaction that appends events
(it is a ``Writer.after_append`` hook), so a delivery exists exactly when its
event committed: none is lost, none is sent for a rolled-back write. The body
of each delivery is encoded once, here, so every retry sends the same bytes.
After the commit the in-process worker is woken; on PostgreSQL a ``NOTIFY``
sent in the same transaction wakes the workers of other processes.

A delivery the process's own worker will send itself (a :class:`Handoff` that
offers a lease) is written already leased to it and handed over after the
commit, so no claim's round trips stand between the commit and the call; if the
process dies first, the lease ends and any worker claims it like any other.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from keyhook.actions.catalog import Catalog
from keyhook.actions.wire import encode_body
from keyhook.clock import iso, now
from keyhook.domain.payload import event_payload
from keyhook.domain.target import Target
from keyhook.eventstore.store import StoredEvent, with_positions
from keyhook.ids import IdGenerator
from keyhook.storage.connection import Connection
from keyhook.storage.database import Database
from keyhook.storage.delivery_queue import DueRow

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


@dataclass(frozen=True)
class Lease:
    owner: str
    until: datetime  # as stored
    ends: float  # the same moment on the owner's monotonic clock


class Handoff(Protocol):
    """The process's own delivery worker, as the outbox sees it."""

    def offer(self, target: Target, count: int) -> tuple[Lease, int] | None:
        """How many of ``count`` new deliveries to ``target`` the worker will send
        itself, and under which lease; None for none."""

    def take(self, rows: Sequence[DueRow], lease: Lease) -> None:
        """The committed deliveries written under ``lease``."""


def message_id(delivery_id: str) -> str:
    """The ``webhook-id`` of a delivery: the same on every attempt."""
    return f"msg_{delivery_id}"


class Outbox:
    def __init__(self, db: Database, catalog: Catalog, ids: IdGenerator) -> None:
        self.db = db
        self.catalog = catalog
        self.ids = ids
        self.wake: Callable[[], None] = lambda: None
        self.handoff: Handoff | None = None

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
        to: list[Target] = []
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
            to += targets
        await self._insert(conn, rows, to)

    async def enqueue_call(
        self, target: Target, payload: dict[str, Any], kind: str, trigger: str, instance_id: str
    ) -> str:
        """A ``restAsync`` call from a request or response execution, in its own transaction."""
        row = self._row(target, instance_id, kind, trigger, encode_body(payload), now())
        async with self.db.write() as conn:
            await self._insert(conn, [row], [target])
        return str(row["id"])

    async def _insert(
        self, conn: Connection, rows: list[dict[str, Any]], targets: Sequence[Target]
    ) -> None:
        """Write ``rows``, the deliveries to ``targets`` (one each, in order)."""
        if not rows:
            return
        handed = self._lease_to_own_worker(rows, targets)
        await conn.execute_many(_INSERT_DELIVERY, rows)
        await self.db.notify_deliveries(conn)
        for lease, due in handed:
            self.db.after_commit(conn, functools.partial(self._hand, due, lease))
        self.db.after_commit(conn, self.wake)

    def _lease_to_own_worker(
        self, rows: list[dict[str, Any]], targets: Sequence[Target]
    ) -> list[tuple[Lease, list[DueRow]]]:
        """Lease to the own worker the rows it will take (their lease columns set);
        each lease with its rows."""
        if self.handoff is None:
            return []
        by_target: dict[str, list[dict[str, Any]]] = {}
        first: dict[str, Target] = {}
        for row, target in zip(rows, targets, strict=True):
            by_target.setdefault(target.id, []).append(row)
            first.setdefault(target.id, target)
        handed: list[tuple[Lease, list[DueRow]]] = []
        for target_id, mine in by_target.items():
            offered = self.handoff.offer(first[target_id], len(mine))
            if offered is None:
                continue
            lease, count = offered
            due: list[DueRow] = []
            for row in mine[:count]:
                row["lease_owner"], row["lease_until"] = lease.owner, lease.until
                due.append(
                    DueRow(
                        row["id"],
                        row["instance_id"],
                        target_id,
                        row["trigger"],
                        row["payload"],
                        0,
                        row["kind"],
                    )
                )
            handed.append((lease, due))
        return handed

    def _hand(self, due: list[DueRow], lease: Lease) -> None:
        if self.handoff is not None:
            self.handoff.take(due, lease)
