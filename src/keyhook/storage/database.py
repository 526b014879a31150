"""The database handle: one async engine, read and write transactions.

SQLite runs in WAL mode with ``synchronous=NORMAL`` and a busy timeout. Write
transactions start with ``BEGIN IMMEDIATE`` (so a second process waits for the
lock instead of failing on a read-to-write upgrade) and are serialised
in-process; reads use their own engine with ordinary deferred transactions.
PostgreSQL needs none of this. Every repository function runs inside one of
these transactions.

Work that must happen only once a transaction has committed (waking the
delivery worker) is registered with :meth:`Database.after_commit`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

DELIVERY_CHANNEL = "keyhook_deliveries"


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        options: dict[str, Any] = {}
        if not self.is_sqlite:
            options.update(pool_size=10, max_overflow=10)
        self.engine: AsyncEngine = create_async_engine(url, **options)
        self.read_engine: AsyncEngine = self.engine
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._after_commit: dict[int, list[Callable[[], None]]] = {}
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_write_connection)
            event.listen(self.engine.sync_engine, "begin", _begin_immediate)
            self.read_engine = create_async_engine(url)
            event.listen(self.read_engine.sync_engine, "connect", _sqlite_pragmas)

    def after_commit(self, conn: AsyncConnection, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the write transaction of ``conn`` has committed."""
        self._after_commit.setdefault(id(conn), []).append(callback)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed on normal exit, rolled back on error."""
        key = 0
        try:
            async with self._write_lock or contextlib.nullcontext(), self.engine.begin() as conn:
                key = id(conn)
                yield conn
            for callback in self._after_commit.pop(key, []):
                callback()
        finally:
            self._after_commit.pop(key, None)

    @asynccontextmanager
    async def sqlite_write_turn(self) -> AsyncIterator[None]:
        """This process's turn to write to SQLite, for work done on a connection of its own."""
        assert self._write_lock is not None, "only SQLite takes turns"
        async with self._write_lock:
            yield

    @property
    def sqlite_path(self) -> str:
        return self.url.split(":///", 1)[1]

    async def notify_deliveries(self, conn: AsyncConnection) -> None:
        """Tell delivery workers in other processes, at commit, that work is due."""
        if not self.is_sqlite:
            await conn.execute(text(f"NOTIFY {DELIVERY_CHANNEL}"))

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.read_engine.connect() as conn:
            yield conn

    async def close(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


def _sqlite_write_connection(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record)
    # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE instead of pysqlite's BEGIN.
    dbapi_connection.isolation_level = None


def _begin_immediate(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
