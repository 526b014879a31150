"""The migrations build exactly the schema the code declares."""

from __future__ import annotations

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
