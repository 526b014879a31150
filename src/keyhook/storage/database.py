"""The database handle: write and read transactions on the raw drivers.

SQLite (``sqlite3``) runs in WAL mode with ``synchronous=NORMAL``. The process
has one writer connection; write transactions take turns on an asyncio lock and
start with ``BEGIN IMMEDIATE``. When another process holds SQLite's write lock,
``BEGIN IMMEDIATE`` is retried with asyncio sleeps (up to ``busy_wait``) instead
of blocking the event loop in SQLite's busy handler. Writers queued together
share one transaction and one COMMIT (group commit, see
:meth:`Database.sqlite_write_turn`); each is answered only after it. Reads use connections of
their own (WAL readers never wait for the writer), one statement per snapshot as
before.

PostgreSQL (``asyncpg``) has a pool; the pool does not reset a connection when
it is returned, because nothing on this path sets session state (the delivery
listener has its own connection).

Work that must happen only once a transaction has committed (waking the delivery
worker) is registered with :meth:`Database.after_commit`. Migrations (Alembic,
``keyhook.storage.migrate``) use SQLAlchemy on their own connection at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from keyhook.storage.connection import Connection, PostgresConnection, SqliteConnection
from keyhook.storage.postgres_write import PostgresWrite

DELIVERY_CHANNEL = "keyhook_deliveries"
_POOL_SIZE = 20


class Database:
    def __init__(self, url: str, *, busy_wait: float = 10.0) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.busy_wait = busy_wait
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._writer: sqlite3.Connection | None = None
        self._batch: asyncio.Future[None] | None = None  # the open group-commit transaction
        self._committer: asyncio.Task[None] | None = None
        self._readers: list[sqlite3.Connection] = []
        self._all_readers: list[sqlite3.Connection] = []
        self._pool: Any = None
        self._pool_lock = asyncio.Lock()

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    @property
    def sqlite_path(self) -> str:
        return self.url.split(":///", 1)[1]

    @property
    def postgres_dsn(self) -> str:
        return self.url.replace("postgresql+asyncpg://", "postgresql://", 1)

    def after_commit(self, conn: Connection, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the write transaction of ``conn`` has committed."""
        conn.after_commit.append(callback)

    # -- SQLite ---------------------------------------------------------------

    def _sqlite_connect(self) -> sqlite3.Connection:
        raw = sqlite3.connect(
            self.sqlite_path, isolation_level=None, check_same_thread=False, cached_statements=256
        )
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute("PRAGMA foreign_keys=OFF")
        return raw

    def sqlite_writer(self) -> sqlite3.Connection:
        if self._writer is None:
            self._writer = self._sqlite_connect()
            # BEGIN IMMEDIATE is retried below without blocking the loop; later
            # statements of a transaction never wait (WAL, one writer per process).
            self._writer.execute("PRAGMA busy_timeout=0")
        return self._writer

    async def _begin_immediate(self, raw: sqlite3.Connection) -> None:
        deadline = time.monotonic() + self.busy_wait
        pause = 0.001
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    @asynccontextmanager
    async def sqlite_write_turn(
        self, after_commit: list[Callable[[], None]] | None = None
    ) -> AsyncIterator[sqlite3.Connection]:
        """This process's turn to write to SQLite, on the writer connection.

        Group commit: the turn runs inside a savepoint of a batch transaction that
        the writers queued at the same moment share, and it ends only when that
        batch has committed. An error rolls back this turn's savepoint alone; a
        failed COMMIT fails every turn of the batch. So each caller still learns
        of its write only once it is durable (as durable as ``synchronous=NORMAL``
        makes any commit), but many writers pay for one COMMIT.

        The first turn of a batch needs no savepoint: until it ends no other turn
        can join, so its error rolls the whole (so far its own) transaction back.

        Where SQLite itself rolls the whole transaction back (a full disk, an I/O
        error, an interrupt), the earlier turns of the batch are lost with it: the
        batch ends there and every turn in it fails, none is told it committed.

        ``after_commit`` (read when the turn ends) runs once the batch has
        committed, even if the caller was cancelled while waiting for it."""
        assert self._write_lock is not None, "only SQLite takes turns"
        async with self._write_lock:
            raw = self.sqlite_writer()
            if self._batch is not None and not raw.in_transaction:
                self._abort_batch(sqlite3.OperationalError("the batch transaction ended early"))
            first = self._batch is None
            if first and raw.in_transaction:  # a failed ROLLBACK left one open: end it
                with contextlib.suppress(sqlite3.Error):
                    raw.execute("ROLLBACK")
            if first:
                await self._begin_immediate(raw)
                self._batch = asyncio.get_running_loop().create_future()
            batch = self._batch
            assert batch is not None
            if not first:  # the first turn of a batch is undone by rolling the batch back
                raw.execute("SAVEPOINT turn")
            try:
                yield raw
            except BaseException as exc:
                if first:
                    self._roll_back_first_turn(raw)
                else:
                    self._roll_back_turn(raw, exc)
                raise
            if not first:
                try:
                    raw.execute("RELEASE turn")
                except sqlite3.Error as exc:
                    self._roll_back_turn(raw, exc)
                    raise
            if after_commit:
                callbacks = after_commit
                batch.add_done_callback(lambda done: _run_if_committed(done, callbacks))
            self._schedule_commit()
        # Shielded: a caller cancelled now is cancelled after its write, which commits.
        await asyncio.shield(batch)

    def _roll_back_first_turn(self, raw: sqlite3.Connection) -> None:
        """No other turn has joined the batch yet (they wait for the lock): end it."""
        self._batch = None
        if raw.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                raw.execute("ROLLBACK")

    def _roll_back_turn(self, raw: sqlite3.Connection, cause: BaseException) -> None:
        """Undo this turn alone, or, where SQLite has undone the whole batch, end it."""
        if raw.in_transaction:
            try:
                raw.execute("ROLLBACK TO turn")
                raw.execute("RELEASE turn")
            except sqlite3.Error:
                pass  # the savepoint is gone with the transaction: fall through
            else:
                self._schedule_commit()
                return
        self._abort_batch(cause)

    def _abort_batch(self, cause: BaseException) -> None:
        batch, self._batch = self._batch, None
        raw = self.sqlite_writer()
        if raw.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                raw.execute("ROLLBACK")
        if batch is None:
            return
        lost = sqlite3.OperationalError(
            f"the write was rolled back with the rest of its group-commit batch: {cause}"
        )
        lost.__cause__ = cause
        batch.set_exception(lost)
        batch.exception()  # every waiter re-raises it; none left is no warning

    def _schedule_commit(self) -> None:
        """Commit the open batch once the writers already waiting have had their turn
        (the lock is first come, first served: the commit queues behind them)."""
        if self._committer is None:
            self._committer = asyncio.get_running_loop().create_task(self._commit_batch())

    async def _commit_batch(self) -> None:
        assert self._write_lock is not None
        try:
            async with self._write_lock:
                self._committer = None
                self._end_batch()
        finally:
            # Cancelled while waiting for the lock: the next turn must schedule a commit.
            if self._committer is asyncio.current_task():
                self._committer = None

    def _end_batch(self) -> None:
        batch, self._batch = self._batch, None
        if batch is None:
            return
        raw = self.sqlite_writer()
        try:
            raw.execute("COMMIT")
        except Exception as exc:
            with contextlib.suppress(sqlite3.Error):
                raw.execute("ROLLBACK")
            batch.set_exception(exc)
            batch.exception()  # every waiter re-raises it; none left is no warning
            return
        batch.set_result(None)

    # -- PostgreSQL -----------------------------------------------------------

    async def postgres_pool(self) -> Any:
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    import asyncpg

                    self._pool = await asyncpg.create_pool(
                        self.postgres_dsn, min_size=1, max_size=_POOL_SIZE, reset=_no_reset
                    )
        return self._pool

    # -- both -----------------------------------------------------------------

    @asynccontextmanager
    async def write(self, *, single: bool = False) -> AsyncIterator[Connection]:
        """One write transaction: committed on normal exit, rolled back on error.

        ``single``: the block runs one command (``Writer.commit``) and no statement
        after it, so on PostgreSQL the command's writes may go as one statement
        (:mod:`keyhook.storage.postgres_write`); a statement after it raises."""
        conn: Connection
        if self.is_sqlite:
            callbacks: list[Callable[[], None]] = []
            async with self.sqlite_write_turn(callbacks) as raw:
                conn = SqliteConnection(raw, after_commit=callbacks)
                yield conn
            return
        pool = await self.postgres_pool()
        async with pool.acquire() as raw:
            write = PostgresWrite(raw, single=single)
            try:
                yield write
                await write.finish()
            finally:
                if raw.is_in_transaction():  # an error, or a COMMIT that failed
                    try:
                        await raw.execute("ROLLBACK")
                    except BaseException:
                        raw.terminate()  # never back into the pool inside a transaction
                        raise
        for callback in write.after_commit:
            callback()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        if self.is_sqlite:
            raw = self._readers.pop() if self._readers else self._new_reader()
            try:
                yield SqliteConnection(raw)
            finally:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                self._readers.append(raw)
            return
        pool = await self.postgres_pool()
        async with pool.acquire() as raw:
            yield PostgresConnection(raw)

    def _new_reader(self) -> sqlite3.Connection:
        raw = self._sqlite_connect()
        raw.execute("PRAGMA busy_timeout=1000")
        self._all_readers.append(raw)
        return raw

    async def notify_deliveries(self, conn: Connection) -> None:
        """Tell delivery workers in other processes, at commit, that work is due."""
        if not self.is_sqlite:
            await conn.execute(f"NOTIFY {DELIVERY_CHANNEL}")

    async def close(self) -> None:
        if self._committer is not None:
            await self._committer
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for raw in self._all_readers:
            raw.close()
        self._all_readers.clear()
        self._readers.clear()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def _run_if_committed(batch: asyncio.Future[None], callbacks: list[Callable[[], None]]) -> None:
    if not batch.cancelled() and batch.exception() is None:
        for callback in callbacks:
            callback()


async def _no_reset(_connection: Any) -> None:
    return None
