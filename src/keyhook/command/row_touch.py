"""A projection's insert or update of one row by id, held back so a command's
writes of the same row become one statement.

A refresh appends two events to its grant, and each one's projection updated the
grant's row (its sequence and change time, and the new refresh token's hash):
two UPDATEs of one row in one transaction; a client-credentials grant inserted
its row and updated it at once. A projector may return a :class:`Touch` instead
of executing it; :func:`keyhook.command.projections.project` merges the touches
of one row (the later event's values win; a row inserted is inserted with the
merged values) and runs them after the command's other projections. That is
safe because no projector reads the rows it touches: projections only write,
and no table has a foreign key that would need the row first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from keyhook.storage.connection import Connection


@dataclass
class Touch:
    table: str  # a module constant, never input
    row_id: str
    values: dict[str, object] = field(default_factory=dict)
    insert: bool = False  # a new row: ``values`` has every column, ``id`` included


@cache
def _insert(table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(columns)
    values = ", ".join(f":{column}" for column in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({values})"  # noqa: S608 - constant text


@cache
def update_by_id(table: str, columns: tuple[str, ...]) -> str:
    """``UPDATE table SET c = :c, ... WHERE id = :id``."""
    assignments = ", ".join(f"{column} = :{column}" for column in columns)
    return f"UPDATE {table} SET {assignments} WHERE id = :id"  # noqa: S608 - constant text


class Touches:
    """The touches of one command's projections, one per row, in first-touch order."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Touch] = {}

    def add(self, touch: Touch) -> None:
        held = self._rows.get((touch.table, touch.row_id))
        if held is None:
            self._rows[(touch.table, touch.row_id)] = touch
            return
        if touch.insert:  # an update held before the row's insert would be lost
            raise ValueError(f"{touch.table} {touch.row_id}: inserted after it was touched")
        held.values.update(touch.values)

    async def run(self, conn: Connection) -> None:
        for touch in self._rows.values():
            columns = tuple(touch.values)
            if touch.insert:
                await conn.later(_insert(touch.table, columns), touch.values)
            else:
                await conn.later(
                    update_by_id(touch.table, columns), {**touch.values, "id": touch.row_id}
                )
        self._rows.clear()
