"""A command's writes of one row become one statement, with the later event's values."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from keyhook.command.row_touch import Touch, Touches
from keyhook.storage.connection import SqliteConnection


def connection(tmp_path: Path) -> tuple[SqliteConnection, list[str]]:
    raw = sqlite3.connect(tmp_path / "touch.db", isolation_level=None)
    raw.execute("CREATE TABLE grants (id TEXT PRIMARY KEY, status TEXT, sequence INTEGER)")
    statements: list[str] = []
    raw.set_trace_callback(statements.append)
    return SqliteConnection(raw), statements


async def test_touches_of_one_row_are_one_update_with_the_later_values(tmp_path: Path) -> None:
    conn, statements = connection(tmp_path)
    await conn.execute("INSERT INTO grants VALUES ('g1', 'new', 1), ('g2', 'new', 1)")
    statements.clear()
    touches = Touches()
    touches.add(Touch("grants", "g1", {"status": "renewed", "sequence": 2}))
    touches.add(Touch("grants", "g1", {"sequence": 3}))
    touches.add(Touch("grants", "g2", {"status": "revoked"}))
    await touches.run(conn)
    assert [s.split(" SET")[0] for s in statements] == ["UPDATE grants", "UPDATE grants"]
    rows = (await conn.execute("SELECT * FROM grants ORDER BY id")).all()
    assert [(r.id, r.status, r.sequence) for r in rows] == [
        ("g1", "renewed", 3),
        ("g2", "revoked", 1),
    ]


async def test_a_row_inserted_and_touched_is_inserted_once_with_the_merged_values(
    tmp_path: Path,
) -> None:
    conn, statements = connection(tmp_path)
    touches = Touches()
    touches.add(Touch("grants", "g1", {"id": "g1", "status": "new", "sequence": 1}, insert=True))
    touches.add(Touch("grants", "g1", {"sequence": 2}))
    await touches.run(conn)
    assert len(statements) == 1 and statements[0].startswith("INSERT INTO grants")
    row = (await conn.execute("SELECT * FROM grants")).one()
    assert (row.id, row.status, row.sequence) == ("g1", "new", 2)
    await touches.run(conn)  # run empties it: nothing is written twice
    assert len(statements) == 2


def test_an_insert_after_a_touch_of_the_same_row_is_refused() -> None:
    touches = Touches()
    touches.add(Touch("grants", "g1", {"sequence": 2}))
    with pytest.raises(ValueError, match="inserted after it was touched"):
        touches.add(Touch("grants", "g1", {"id": "g1", "sequence": 1}, insert=True))
