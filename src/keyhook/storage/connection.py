"""One connection type for both engines, on their raw drivers.

Every repository function speaks to the database through :class:`Connection`:
SQL text with ``:name`` parameters, rows back as :class:`Row` (a dict that also
answers attribute access). The same SQL text runs on SQLite (``sqlite3``, in the
event loop's thread) and PostgreSQL (``asyncpg``). Why no SQLAlchemy on this
path: measured here (docs/performance.md), one primary-key SELECT costs 0.43 ms
through SQLAlchemy Core and aiosqlite and 0.01 ms on ``sqlite3``; an INSERT with
its COMMIT 3.3 ms against 0.08 ms.

What this module smooths over between the engines, and nothing more:

* parameters: ``:name`` becomes ``$n`` for asyncpg (a name used twice keeps its
  number); a list or tuple value expands to one parameter per item, for
  ``IN (:ids)``;
* values: SQLite keeps timestamps as text in SQLAlchemy's storage format
  (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC; the migrations made the columns) and
  booleans as integers. Timestamps and booleans are converted on the way in
  by type and on the way out by column name (the names come from
  ``keyhook.storage.schema``), so callers always see aware UTC datetimes and bools;
* arrays: :class:`Array` passes one PostgreSQL array;
* errors: a violated constraint is :class:`IntegrityError` on both.

SQL text must not contain ``:word`` inside string literals (it would be read as
a parameter); Postgres casts (``x::text``) are fine.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from keyhook.errors import KeyhookError
from keyhook.storage.schema import metadata

_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_RETURNS_ROWS = re.compile(r"^\s*(SELECT|WITH|VALUES)\b|\bRETURNING\b", re.IGNORECASE)


def _columns_of_type(kind: str) -> frozenset[str]:
    names = set()
    for table in metadata.tables.values():
        for column in table.columns:
            if type(column.type).__name__ == kind:
                names.add(column.name)
    return frozenset(names)


TIMESTAMP_COLUMNS = _columns_of_type("DateTime")
BOOLEAN_COLUMNS = _columns_of_type("Boolean")


class IntegrityError(KeyhookError):
    """A statement violated a unique, primary-key or foreign-key constraint.

    Repository code catches it and says what was taken; escaping, it is a 500.
    ``table`` names the table whose constraint it was, where the driver says."""

    def __init__(self, message: str, table: str | None = None) -> None:
        super().__init__(message)
        self.table = table


class ExpectationFailed(KeyhookError):
    """A check sent with a write (``keyhook_expect`` on PostgreSQL) did not hold, so
    nothing of that statement was written."""


_SQLITE_CONSTRAINT_TABLE = re.compile(r"constraint failed: (\w+)\.")


def _sqlite_integrity_error(exc: sqlite3.IntegrityError) -> IntegrityError:
    found = _SQLITE_CONSTRAINT_TABLE.search(str(exc))
    return IntegrityError(str(exc), found.group(1) if found else None)


class Later:
    """A write held by :meth:`Connection.later`: its result is there once it has run."""

    __slots__ = ("on_integrity_error", "params", "result", "sql")

    def __init__(
        self,
        sql: str,
        params: Mapping[str, Any] | None,
        on_integrity_error: Callable[[IntegrityError], Exception] | None,
    ) -> None:
        self.sql = sql
        self.params = params
        self.on_integrity_error = on_integrity_error
        self.result: Result | None = None


class Array:
    """One PostgreSQL array parameter (``= ANY(:ids)``, ``unnest(:ids)``), where a
    list would expand to one parameter per item. PostgreSQL only."""

    __slots__ = ("items",)

    def __init__(self, items: Sequence[Any]) -> None:
        self.items = list(items)


class Row(dict[str, Any]):
    """One result row: ``row["name"]`` or ``row.name``."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Result:
    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def all(self) -> list[Row]:
        return self.rows

    def first(self) -> Row | None:
        return self.rows[0] if self.rows else None

    def one(self) -> Row:
        if len(self.rows) != 1:
            raise LookupError(f"expected one row, got {len(self.rows)}")
        return self.rows[0]

    def scalar(self) -> Any:
        """The first column of the first row, or None without rows."""
        if not self.rows:
            return None
        return next(iter(self.rows[0].values()))

    def scalar_one(self) -> Any:
        return next(iter(self.one().values()))

    def scalars(self) -> list[Any]:
        """The first column of every row."""
        return [next(iter(row.values())) for row in self.rows]


def sqlite_time(moment: datetime) -> str:
    """A timestamp as SQLite keeps it (naive UTC, always with microseconds)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(" ", "microseconds")  # five times faster than strftime


def _from_sqlite_time(value: Any) -> Any:
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value


def _expand(sql: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Lists in ``params`` become one parameter per item (``:ids`` → ``:ids_0, :ids_1``)."""
    flat: dict[str, Any] = {}
    lists: dict[str, int] = {}
    for name, value in params.items():
        if isinstance(value, list | tuple):
            lists[name] = len(value)
            for index, item in enumerate(value):
                flat[f"{name}__{index}"] = item
        else:
            flat[name] = value
    if not lists:
        return sql, flat

    def spread(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in lists:
            return match.group(0)
        if lists[name] == 0:
            return "NULL"  # IN (NULL) matches nothing, NOT IN (NULL) nothing either: callers guard
        return ", ".join(f":{name}__{index}" for index in range(lists[name]))

    return _PARAMETER.sub(spread, sql), flat


class Connection:
    """A connection inside one transaction (or, for reads, one checkout)."""

    dialect = ""

    def __init__(self, after_commit: list[Callable[[], None]] | None = None) -> None:
        self.after_commit: list[Callable[[], None]] = [] if after_commit is None else after_commit

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        raise NotImplementedError

    async def execute_many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        raise NotImplementedError

    # Writes whose result the caller does not need at once. Here they run at once;
    # a PostgreSQL write transaction holds them and sends them with its next
    # statement, several as one (keyhook.storage.postgres_write).

    defers = False  # whether later() holds statements back
    started = True  # whether a transaction (or a read checkout) is open on the server

    async def later(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        *,
        on_integrity_error: Callable[[IntegrityError], Exception] | None = None,
    ) -> Later:
        """Run ``sql`` now or with the transaction's next statement. An INSERT, UPDATE
        or DELETE (RETURNING allowed: see :attr:`Later.result`), or a SELECT that
        checks something (``keyhook_expect``) about the state before the command's
        writes. A violated constraint raises ``on_integrity_error(exc)`` where
        given, wherever the statement runs. The result's rows are RETURNING's; its
        rowcount is -1 where the statement was sent with others (not known)."""
        held = Later(sql, params, on_integrity_error)
        try:
            held.result = await self.execute(sql, params)
        except IntegrityError as exc:
            if on_integrity_error is None:
                raise
            raise on_integrity_error(exc) from exc
        return held

    async def flush(self) -> None:
        """Run every held statement, inside the transaction."""

    async def settle(self) -> None:
        """Run every held statement; where the block runs one command and nothing ran
        yet, as the whole transaction (one statement, committed)."""

    def mark(self) -> int:
        """How many statements are held (for :meth:`rewind`)."""
        return 0

    def rewind(self, mark: int) -> None:
        """Drop the statements held after ``mark``."""

    async def begin(self) -> None:
        """Open the transaction on the server now (it opens with the first statement)."""


class SqliteConnection(Connection):
    """Statements run in the event loop's thread: each takes microseconds, less
    than a hop to a worker thread would. Write transactions are serialised by
    :class:`~keyhook.storage.database.Database`, so no statement here waits for a lock
    held by this process."""

    dialect = "sqlite"

    def __init__(
        self, raw: sqlite3.Connection, after_commit: list[Callable[[], None]] | None = None
    ) -> None:
        super().__init__(after_commit)
        self.raw = raw

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        values: dict[str, Any] = {}
        if params:
            sql, values = _expand(sql, params)
            for name, value in values.items():
                if isinstance(value, datetime):
                    values[name] = sqlite_time(value)
        try:
            cursor = self.raw.execute(sql, values)
        except sqlite3.IntegrityError as exc:
            raise _sqlite_integrity_error(exc) from exc
        description = cursor.description
        if description is None:
            return Result([], cursor.rowcount)
        names = [column[0] for column in description]
        convert = [
            (index, name in TIMESTAMP_COLUMNS)
            for index, name in enumerate(names)
            if name in TIMESTAMP_COLUMNS or name in BOOLEAN_COLUMNS
        ]
        try:
            fetched = cursor.fetchall()
        except sqlite3.IntegrityError as exc:  # RETURNING reports violations on fetch
            raise _sqlite_integrity_error(exc) from exc
        rows: list[Row] = []
        for values_of_row in fetched:
            if convert:
                items = list(values_of_row)
                for index, is_time in convert:
                    value = items[index]
                    if value is not None:
                        items[index] = _from_sqlite_time(value) if is_time else bool(value)
                rows.append(Row(zip(names, items, strict=True)))
            else:
                rows.append(Row(zip(names, values_of_row, strict=True)))
        return Result(rows, len(rows) if cursor.rowcount < 0 else cursor.rowcount)

    async def execute_many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        prepared = [
            {k: sqlite_time(v) if isinstance(v, datetime) else v for k, v in row.items()}
            for row in rows
        ]
        try:
            self.raw.executemany(sql, prepared)
        except sqlite3.IntegrityError as exc:
            raise _sqlite_integrity_error(exc) from exc


_POSTGRES_SQL: dict[str, tuple[str, tuple[str, ...]]] = {}
EXPECTATION_FAILED = "KH001"  # keyhook_expect's SQLSTATE (migration 0011)


def postgres_sql(sql: str) -> tuple[str, tuple[str, ...]]:
    """``:name`` placeholders as asyncpg's ``$n``, and the names in number order."""
    cached = _POSTGRES_SQL.get(sql)
    if cached is not None:
        return cached
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    translated = (_PARAMETER.sub(number, sql), tuple(order))
    if len(_POSTGRES_SQL) < 4096:  # list expansions make new texts; keep the cache bounded
        _POSTGRES_SQL[sql] = translated
    return translated


class PostgresConnection(Connection):
    dialect = "postgresql"

    def __init__(self, raw: Any) -> None:
        super().__init__()
        self.raw = raw

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        values: dict[str, Any] = {}
        if params:
            sql, values = _expand(sql, params)
        text, order = postgres_sql(sql)
        arguments = [
            value.items if isinstance(value := values[name], Array) else value for name in order
        ]
        import asyncpg

        try:
            if _RETURNS_ROWS.search(text):
                records = await self.raw.fetch(text, *arguments)
                rows = [Row(record.items()) for record in records]
                return Result(rows, len(rows))
            status = await self.raw.execute(text, *arguments)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc), exc.table_name) from exc
        except asyncpg.PostgresError as exc:
            if exc.sqlstate == EXPECTATION_FAILED:
                raise ExpectationFailed(str(exc)) from exc
            raise
        count = status.rsplit(" ", 1)[-1]
        return Result([], int(count) if count.isdigit() else -1)

    async def execute_many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        text, order = postgres_sql(sql)
        import asyncpg

        try:
            await self.raw.executemany(text, [[row[name] for name in order] for row in rows])
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc), exc.table_name) from exc
