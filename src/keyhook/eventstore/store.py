"""Appending and filtering events inside a caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

import orjson

from keyhook.clock import aware
from keyhook.errors import AlreadyExists, Conflict
from keyhook.storage.connection import Connection, IntegrityError, Later


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


_CURRENT_SEQUENCE = (
    "SELECT max(sequence) FROM events "
    "WHERE instance_id = :instance_id AND aggregate_type = :aggregate_type "
    "AND aggregate_id = :aggregate_id"
)
_CLAIM_WHERE = (
    "instance_id = :instance_id AND unique_type = :unique_type AND unique_field = :unique_field"
)
# Bound parameters per statement stay far below SQLite's and PostgreSQL's limits.
_ROWS_PER_INSERT = 500
_EVENT_COLUMNS = (
    "instance_id",
    "aggregate_type",
    "aggregate_id",
    "sequence",
    "event_type",
    "resource_owner",
    "creator",
    "created_at",
    "payload",
)
_SELECT_EVENTS = (
    "SELECT position, instance_id, aggregate_type, aggregate_id, sequence, event_type, "
    "resource_owner, creator, created_at, payload FROM events"
)


async def current_sequence(
    conn: Connection, instance_id: str, aggregate_type: str, aggregate_id: str
) -> int:
    result = await conn.execute(
        _CURRENT_SEQUENCE,
        {
            "instance_id": instance_id,
            "aggregate_type": aggregate_type,
            "aggregate_id": aggregate_id,
        },
    )
    return int(result.scalar() or 0)


async def _apply_claim(conn: Connection, instance_id: str, claim: UniqueClaim) -> None:
    key = {
        "instance_id": instance_id,
        "unique_type": claim.unique_type,
        "unique_field": claim.value,
    }
    if not claim.add:
        await conn.execute(f"DELETE FROM unique_constraints WHERE {_CLAIM_WHERE}", key)  # noqa: S608 - constant text
        return
    taken = await conn.execute(
        f"SELECT unique_type FROM unique_constraints WHERE {_CLAIM_WHERE}",  # noqa: S608 - constant text
        key,
    )
    if taken.first() is not None:
        raise _taken(claim)
    try:
        await conn.execute(
            "INSERT INTO unique_constraints (instance_id, unique_type, unique_field) "
            "VALUES (:instance_id, :unique_type, :unique_field)",
            key,
        )
    except IntegrityError as exc:
        # A concurrent transaction claimed it after the check above (PostgreSQL's
        # READ COMMITTED; SQLite serialises writers): the table's primary key,
        # the only constraint it has, is the arbiter.
        raise _taken(claim) from exc


async def append(
    conn: Connection,
    *,
    instance_id: str,
    creator: str,
    at: datetime,
    pending: Sequence[PendingEvent],
    expected: dict[tuple[str, str], int] | None = None,
    claims: Sequence[UniqueClaim] = (),
    hold: bool = False,
) -> list[StoredEvent]:
    """Append ``pending`` and apply ``claims`` in the caller's transaction.

    ``hold``: the INSERT may wait for the transaction's next statement
    (:meth:`Connection.later`); the events then come back with position 0 until
    :func:`with_positions` reads them. Without it they come back with positions.

    ``expected`` maps (aggregate type, id) to the sequence the command saw; a
    concurrent writer makes the insert collide and raises :class:`Conflict`.
    Aggregates not in ``expected`` are read for their current sequence.
    """
    for claim in claims:
        await _apply_claim(conn, instance_id, claim)
    at = aware(at).astimezone(UTC)
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
    held: list[Later] = []
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        sql, params = _insert_events(rows[start : start + _ROWS_PER_INSERT])
        held.append(await conn.later(sql, params, on_integrity_error=_concurrent_change))
    unsent = any(later.result is None for later in held)  # held by the transaction
    if unsent and hold:
        _UNRESOLVED.setdefault(conn, []).extend(held)
        return _stored(instance_id, creator, at, pending, rows, {})
    if unsent:
        await conn.flush()
    return _stored(instance_id, creator, at, pending, rows, _positions(held))


def _positions(held: Sequence[Later]) -> dict[tuple[str, str, int], int]:
    # RETURNING's row order is not promised: each row names its event.
    return {
        (r.aggregate_type, r.aggregate_id, r.sequence): int(r.position)
        for later in held
        for r in (later.result or ())
    }


def _stored(
    instance_id: str,
    creator: str,
    at: datetime,
    pending: Sequence[PendingEvent],
    rows: list[dict[str, Any]],
    positions: dict[tuple[str, str, int], int],
) -> list[StoredEvent]:
    """The appended events; position 0 where it is not known yet (``with_positions``)."""
    return [
        StoredEvent(
            position=positions.get((event.aggregate_type, event.aggregate_id, row["sequence"]), 0),
            instance_id=instance_id,
            aggregate_type=event.aggregate_type,
            aggregate_id=event.aggregate_id,
            sequence=row["sequence"],
            type=event.type,
            resource_owner=event.resource_owner,
            creator=creator,
            created_at=at,
            # A copy, as read back: what projections see cannot alias the command's dict.
            data=orjson.loads(row["payload"]),
        )
        for event, row in zip(pending, rows, strict=True)
    ]


def _concurrent_change(exc: IntegrityError) -> Conflict:
    return Conflict("the object was changed concurrently; retry the request")


# The event INSERTs of each open transaction whose RETURNING has not been read yet.
_UNRESOLVED: WeakKeyDictionary[Connection, list[Later]] = WeakKeyDictionary()


async def with_positions(conn: Connection, stored: Sequence[StoredEvent]) -> list[StoredEvent]:
    """``stored`` with the positions the database gave them. An append held by a
    PostgreSQL transaction (:meth:`Connection.later`) learns them when it is sent:
    this sends it now if it has not been (the transaction then opens on the server)."""
    if all(event.position for event in stored):
        return list(stored)
    held = _UNRESOLVED.get(conn, [])
    if any(later.result is None for later in held):
        await conn.flush()
    positions = _positions(held)
    return [
        event
        if event.position
        else replace(
            event, position=positions[(event.aggregate_type, event.aggregate_id, event.sequence)]
        )
        for event in stored
    ]


def _insert_events(rows: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """One INSERT for all of a command's events: one round trip, however many."""
    values: list[str] = []
    params: dict[str, Any] = {}
    for i, row in enumerate(rows):
        values.append("(" + ", ".join(f":{column}_{i}" for column in _EVENT_COLUMNS) + ")")
        params.update({f"{column}_{i}": row[column] for column in _EVENT_COLUMNS})
    columns, rows_text = ", ".join(_EVENT_COLUMNS), ", ".join(values)
    sql = f"INSERT INTO events ({columns}) VALUES {rows_text} "  # noqa: S608 - constant text
    return sql + "RETURNING aggregate_type, aggregate_id, sequence, position", params


async def aggregate_events(
    conn: Connection, instance_id: str, aggregate_type: str, aggregate_id: str
) -> list[StoredEvent]:
    result = await conn.execute(
        f"{_SELECT_EVENTS} WHERE instance_id = :instance_id AND aggregate_type = :aggregate_type "
        "AND aggregate_id = :aggregate_id ORDER BY sequence",
        {
            "instance_id": instance_id,
            "aggregate_type": aggregate_type,
            "aggregate_id": aggregate_id,
        },
    )
    return [from_row(row) for row in result]


async def events_after(conn: Connection, position: int, limit: int = 1000) -> list[StoredEvent]:
    result = await conn.execute(
        f"{_SELECT_EVENTS} WHERE position > :position ORDER BY position LIMIT :limit",
        {"position": position, "limit": limit},
    )
    return [from_row(row) for row in result]


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
