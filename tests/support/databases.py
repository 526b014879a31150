"""A fresh, migrated database of either engine for tests below the server.

``ENGINES`` parametrises a fixture over SQLite and, when
``KEYHOOK_TEST_DATABASE_URL`` names a PostgreSQL server, PostgreSQL (a database
of its own, dropped afterwards); :func:`migrated_database` makes one.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from keyhook.config import normalise_database_url
from keyhook.storage.database import Database
from keyhook.storage.migrate import upgrade
from tests.support.server import create_database, drop_database

ENGINES = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not os.environ.get("KEYHOOK_TEST_DATABASE_URL"),
            reason="KEYHOOK_TEST_DATABASE_URL is not set",
        ),
    ),
]


@asynccontextmanager
async def migrated_database(engine: str, directory: Path) -> AsyncIterator[Database]:
    """A new database of ``engine`` (``sqlite``: a file in ``directory``), migrated."""
    name: str | None = None
    if engine == "sqlite":
        url = f"sqlite+aiosqlite:///{directory / 'keyhook.db'}"
    else:
        created, name = await create_database()
        assert created is not None
        url = normalise_database_url(created)
    database = Database(url)
    try:
        await upgrade(database)
        yield database
    finally:
        await database.close()
        await drop_database(name)
