"""An instance's exact row total of a counted table (kept by :mod:`keyhook.command.row_counts`).

One statement over a few rows: the sum of the slots is one snapshot's total.
"""

from __future__ import annotations

from keyhook.storage.connection import Connection

COUNTED_TABLES = frozenset({"users"})


async def row_total(conn: Connection, table_name: str, instance_id: str) -> int:
    total = (
        await conn.execute(
            "SELECT COALESCE(SUM(row_count), 0) AS total FROM row_counts "
            "WHERE instance_id = :instance_id AND table_name = :table_name",
            {"instance_id": instance_id, "table_name": table_name},
        )
    ).scalar()
    return int(total or 0)
