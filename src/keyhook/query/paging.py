"""Paged search results: the total, one page of rows, and the ``pagination`` member."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Select, func, select
from keyhook.storage.connection import Connection
from sqlalchemy.sql import ColumnElement


async def count_and_rows(
    conn: Connection,
    query: Select[Any],
    order: ColumnElement[Any],
    offset: int,
    limit: int,
) -> tuple[int, list[Row[Any]]]:
    """How many rows ``query`` matches, and the page of them from ``offset``."""
    total = (await conn.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = list(await conn.execute(query.order_by(order).offset(offset).limit(limit)))
    return int(total), rows


def pagination(total: int, limit: int) -> dict[str, str]:
    return {"totalResult": str(total), "appliedLimit": str(limit)}
