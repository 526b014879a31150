"""The migrations build exactly the schema the code declares."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from keyhook.storage import schema
from keyhook.storage.database import Database
from keyhook.storage.migrate import upgrade


async def test_migrations_match_the_declared_schema(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'keyhook.db'}")
    await upgrade(db)

    def differences(conn: Connection) -> list[Any]:
        with warnings.catch_warnings():
            # SQLite's reflection cannot see expression indexes; they are checked below.
            warnings.filterwarnings("ignore", message=".*expression-based index")
            return list(compare_metadata(MigrationContext.configure(conn), schema.metadata))

    # The schema is inspected through SQLAlchemy, on an engine of the test's own.
    engine = create_async_engine(db.url)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(differences)
    finally:
        await engine.dispose()
        await db.close()
    assert found == [], "a schema change without its migration: " + repr(found)


async def test_migrations_build_the_declared_expression_indexes(tmp_path: Path) -> None:
    path = tmp_path / "keyhook.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade(db)
    await db.close()
    declared = {
        index.name
        for table in schema.metadata.tables.values()
        for index in table.indexes
        if any(not hasattr(expression, "table") for expression in index.expressions)
    }
    assert declared, "the schema declares an expression index (lower(user_name))"
    with sqlite3.connect(path) as raw:
        built = {
            name for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
    assert declared <= built, f"declared but not built: {declared - built}"
