"""Appending and filtering events inside a caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from keyhook.clock import aware
from keyhook.errors import AlreadyExists, Conflict
from keyhook.storage.schema import events, unique_constraints


@dataclass(frozen=True)
class StoredEvent:
    position: int
    instance_id: str
    aggregate_type: str
    aggregate_id: str
    sequence: int
    type: str
    resource_owner: str
    creator: str
    created_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class PendingEvent:
    type: str
    aggregate_type: str
    aggregate_id: str
    resource_owner: str
    data: dict[str, Any]


@dataclass(frozen=True)
class UniqueClaim:
    """``add`` claims a unique value (e.g. a user name in an org); otherwise releases it."""

    unique_type: str
    value: str
    add: bool = True
    error: str = ""


def _taken(claim: UniqueClaim) -> AlreadyExists:
    return AlreadyExists(claim.error or f"{claim.unique_type} {claim.value!r} already exists")


async def current_sequence(
    conn: AsyncConnection, instance_id: str, aggregate_type: str, aggregate_id: str
) -> int:
    result = await conn.execute(
        select(func.max(events.c.sequence)).where(
            events.c.instance_id == instance_id,
            events.c.aggregate_type == aggregate_type,
            events.c.aggregate_id == aggregate_id,
        )
    )
    return int(result.scalar() or 0)


async def append(
    conn: AsyncConnection,
    *,
    instance_id: str,
    creator: str,
    at: datetime,
    pending: Sequence[PendingEvent],
    expected: dict[tuple[str, str], int] | None = None,
    claims: Sequence[UniqueClaim] = (),
) -> list[StoredEvent]:
    """Append ``pending`` and apply ``claims`` in the caller's transaction.

    ``expected`` maps (aggregate type, id) to the sequence the command saw; a
    concurrent writer makes the insert collide and raises :class:`Conflict`.
    Aggregates not in ``expected`` are read for their current sequence.
    """
    for claim in claims:
        where = and_(
            unique_constraints.c.instance_id == instance_id,
            unique_constraints.c.unique_type == claim.unique_type,
            unique_constraints.c.unique_field == claim.value,
        )
        if not claim.add:
            await conn.execute(delete(unique_constraints).where(where))
            continue
        taken = await conn.execute(select(unique_constraints.c.unique_type).where(where))
        if taken.first() is not None:
            raise _taken(claim)
        try:
            await conn.execute(
                insert(unique_constraints).values(
                    instance_id=instance_id, unique_type=claim.unique_type, unique_field=claim.value
                )
            )
        except IntegrityError as exc:
            # A concurrent transaction claimed it after the check above (PostgreSQL's
            # READ COMMITTED; SQLite serialises writers): the table's primary key,
            # the only constraint it has, is the arbiter.
            raise _taken(claim) from exc
    at = aware(at).astimezone(UTC)  # SQLite keeps no offset: store the UTC wall time
    sequences = dict(expected or {})
    rows: list[dict[str, Any]] = []
    for event in pending:
        key = (event.aggregate_type, event.aggregate_id)
        if key not in sequences:
            sequences[key] = await current_sequence(conn, instance_id, *key)
        sequences[key] += 1
        rows.append(
            {
                "instance_id": instance_id,
                "aggregate_type": event.aggregate_type,
                "aggregate_id": event.aggregate_id,
                "sequence": sequences[key],
                "event_type": event.type,
                "resource_owner": event.resource_owner,
                "creator": creator,
                "created_at": at,
                "payload": orjson.dumps(event.data).decode(),
            }
        )
    stored: list[StoredEvent] = []
    try:
        for row in rows:
            result = await conn.execute(insert(events).values(**row).returning(events.c.position))
            position = int(result.scalar_one())
            stored.append(
                StoredEvent(
                    position=position,
                    instance_id=instance_id,
                    aggregate_type=row["aggregate_type"],
                    aggregate_id=row["aggregate_id"],
                    sequence=row["sequence"],
                    type=row["event_type"],
                    resource_owner=row["resource_owner"],
                    creator=creator,
                    created_at=at,
                    data=orjson.loads(row["payload"]),
                )
            )
    except IntegrityError as exc:
        raise Conflict("the object was changed concurrently; retry the request") from exc
    return stored


async def aggregate_events(
    conn: AsyncConnection, instance_id: str, aggregate_type: str, aggregate_id: str
) -> list[StoredEvent]:
    result = await conn.execute(
        select(events)
        .where(
            events.c.instance_id == instance_id,
            events.c.aggregate_type == aggregate_type,
            events.c.aggregate_id == aggregate_id,
        )
        .order_by(events.c.sequence)
    )
    return [from_row(row._mapping) for row in result]


async def events_after(
    conn: AsyncConnection, position: int, limit: int = 1000
) -> list[StoredEvent]:
    result = await conn.execute(
        select(events).where(events.c.position > position).order_by(events.c.position).limit(limit)
    )
    return [from_row(row._mapping) for row in result]


def from_row(row: Any) -> StoredEvent:
    return StoredEvent(
        position=row["position"],
        instance_id=row["instance_id"],
        aggregate_type=row["aggregate_type"],
        aggregate_id=row["aggregate_id"],
        sequence=row["sequence"],
        type=row["event_type"],
        resource_owner=row["resource_owner"],
        creator=row["creator"],
        created_at=aware(row["created_at"]),
        data=orjson.loads(row["payload"]),
    )
