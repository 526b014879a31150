"""A projection's update of one row by id, held back so a command's updates of the
same row become one statement.

A refresh appends two events to its grant, and each one's projection updated the
grant's row (its sequence and change time, and the new refresh token's hash):
two UPDATEs of one row in one transaction. A projector may return a
:class:`Touch` instead of executing it; :func:`keyhook.command.projections.project`
merges the touches of one row (the later event's values win) and runs them after
the command's other projections. That is safe because no projector reads the
rows it touches: projections only write.
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


@cache
def _update_by_id(table: str, columns: tuple[str, ...]) -> str:
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
        else:
            held.values.update(touch.values)

    async def run(self, conn: Connection) -> None:
        for touch in self._rows.values():
            columns = tuple(touch.values)
            await conn.execute(
                _update_by_id(touch.table, columns), {**touch.values, "id": touch.row_id}
            )
        self._rows.clear()
