"""Apply the Alembic migrations in ``migrations/`` to the connected database.

Migrations run through SQLAlchemy (Alembic needs it) on an engine of their own,
made for the upgrade and disposed after it; everything else uses the raw
drivers of :mod:`keyhook.storage.database`.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from keyhook.storage.database import Database

_SCRIPTS = Path(__file__).with_name("migrations")


def _upgrade(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(database: Database, revision: str = "head") -> None:
    """Migrate to ``revision`` (the newest by default; an older one for tests of a
    migration's data step)."""
    engine = create_async_engine(database.url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, revision)
    finally:
        await engine.dispose()
