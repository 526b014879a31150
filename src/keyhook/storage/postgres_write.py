"""A PostgreSQL write transaction that sends held writes together, in one statement.

Every statement to PostgreSQL is a round trip, and on this path round trips are
what a write costs: measured here (docs/performance.md), a client-credentials
grant as BEGIN, three INSERTs, a SELECT and COMMIT cost the server process 0.62-0.70
ms of CPU and PostgreSQL as much again; the same writes as one statement 0.21-0.25
ms. asyncpg has no pipelining, so the writes a command does not need answers from
(:meth:`Connection.later`: projections, delivery rows, the event rows themselves)
are held here and sent as one statement of data-modifying CTEs::

    WITH w0 AS (INSERT INTO events ... RETURNING ...), w1 AS (INSERT INTO oidc_sessions ...),
         w2 AS (SELECT keyhook_expect(...) FROM instances)
    SELECT w0.* FROM (SELECT (SELECT count(*) FROM w2) AS checked) AS checks
    LEFT JOIN w0 ON true

The sub-statements of one statement run on one snapshot and do not see each
other's rows, so statements join one only where that cannot matter: none writes a
table another one mentions, and at most one returns rows. Otherwise they are sent
as several statements, in order. Checks (SELECTs) are evaluated from ``FROM``, so
they run even when nothing is returned.

The transaction opens on the server (BEGIN) with the first statement that needs
its answer at once (:meth:`execute`), and held statements are sent before it, so
every statement sees the ones before it as in any transaction. Held checks are
about the state before the command's writes: they run first after BEGIN (or in
the one statement), and one that fails leaves nothing written. A block opened with
``Database.write(single=True)`` runs one command and nothing after it: if nothing
needed an answer before the command settled, its held writes go as one statement
without BEGIN and COMMIT (one statement is atomic on its own) and the connection is
closed for further statements.

This module speaks to asyncpg through :class:`PostgresConnection` and touches
nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from keyhook.storage.connection import (
    _PARAMETER,
    IntegrityError,
    Later,
    PostgresConnection,
    Result,
    _expand,
)
from keyhook.storage.schema import metadata

_TABLES = frozenset(metadata.tables) | {"instances"}
_WORD = re.compile(r"[A-Za-z_]\w*")
_WRITTEN = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.IGNORECASE)
_CHECK = re.compile(r"^\s*SELECT\b", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_CACHE_LIMIT = 4096
_CHECKED = "keyhook_checked"


class _Shape:
    """What one held statement writes and mentions, from its text (cached)."""

    __slots__ = ("check", "mentioned", "returning", "written")

    def __init__(self, sql: str) -> None:
        written = _WRITTEN.match(sql)
        self.check = written is None and _CHECK.match(sql) is not None
        self.written = written.group(1).lower() if written else None
        self.mentioned = frozenset(w.lower() for w in _WORD.findall(sql)) & _TABLES
        self.returning = written is not None and _RETURNING.search(sql) is not None

    @property
    def joinable(self) -> bool:
        """Whether it can be a CTE (a statement of its own otherwise: a WITH, a NOTIFY, a
        write of a table this module does not know by that name, e.g. schema-qualified)."""
        return self.written in _TABLES or self.check


_SHAPES: dict[str, _Shape] = {}


def _shape(sql: str) -> _Shape:
    shape = _SHAPES.get(sql)
    if shape is None:
        shape = _Shape(sql)
        if len(_SHAPES) < _CACHE_LIMIT:
            _SHAPES[sql] = shape
    return shape


def plan(held: Sequence[Later]) -> list[list[Later]]:
    """``held`` in order, cut into the groups that may each be one statement."""
    groups: list[list[Later]] = []
    written: set[str] = set()
    mentioned: set[str] = set()
    returning = False
    for later in held:
        shape = _shape(later.sql)
        fits = (
            groups
            and shape.joinable
            and _shape(groups[-1][0].sql).joinable
            and not (shape.written and shape.written in mentioned)
            and not (shape.mentioned & written)
            and not (shape.returning and returning)
        )
        if not fits:
            groups.append([])
            written, mentioned, returning = set(), set(), False
        groups[-1].append(later)
        if shape.written:
            written.add(shape.written)
        mentioned |= shape.mentioned
        returning = returning or shape.returning
    return groups


_COMBINED: dict[tuple[str, ...], str] = {}


def _combined_text(texts: tuple[str, ...]) -> str:
    cached = _COMBINED.get(texts)
    if cached is not None:
        return cached
    parts: list[str] = []
    checks: list[str] = []
    returned: str | None = None
    for index, sql in enumerate(texts):
        renamed = _PARAMETER.sub(lambda m, i=index: f":w{i}_{m.group(1)}", sql)  # type: ignore[misc]
        parts.append(f"w{index} AS ({renamed})")
        shape = _shape(sql)
        if shape.check:
            checks.append(f"(SELECT count(*) FROM w{index})")  # noqa: S608 - names made here
        elif shape.returning:
            returned = f"w{index}"
    head = "WITH " + ", ".join(parts) + " "
    # Every name below is w<n>, made here; the statements' own text is the callers'
    # constant SQL, their values are parameters.
    counted = f"(SELECT {' + '.join(checks)} AS checked) AS checks"
    if checks and returned:
        # checked is selected: a column nobody selects is planned away, checks with it.
        tail = (
            f"SELECT checks.checked AS {_CHECKED}, {returned}.* "  # noqa: S608
            f"FROM {counted} LEFT JOIN {returned} ON true"
        )
    elif checks:
        tail = f"SELECT checked FROM {counted}"  # noqa: S608
    elif returned:
        tail = f"SELECT * FROM {returned}"  # noqa: S608
    else:
        tail = "SELECT 1 AS written"
    text = head + tail
    if len(_COMBINED) < _CACHE_LIMIT:
        _COMBINED[texts] = text
    return text


class PostgresWrite(PostgresConnection):
    """One write transaction on a pool connection; see the module's docstring."""

    defers = True

    def __init__(self, raw: Any, *, single: bool = False) -> None:
        super().__init__(raw)
        self.single = single
        self.begun = False
        self.committed = False  # settled as one statement: nothing may follow
        self._held: list[Later] = []

    @property
    def started(self) -> bool:  # type: ignore[override]
        return self.begun

    def _check_open(self) -> None:
        if self.committed:
            raise RuntimeError(
                "this write was committed as one statement; a block opened with "
                "Database.write(single=True) runs one command and nothing after it"
            )

    async def begin(self) -> None:
        self._check_open()
        if not self.begun:
            await self.raw.execute("BEGIN")
            self.begun = True

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        await self.flush()
        return await super().execute(sql, params)

    async def execute_many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        await self.flush()
        await super().execute_many(sql, rows)

    async def later(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        *,
        on_integrity_error: Callable[[IntegrityError], Exception] | None = None,
    ) -> Later:
        self._check_open()
        held = Later(sql, params, on_integrity_error)
        self._held.append(held)
        return held

    def mark(self) -> int:
        return len(self._held)

    def rewind(self, mark: int) -> None:
        del self._held[mark:]

    async def flush(self) -> None:
        if not self.begun:
            await self.begin()
            await self._run_checks_first()
        await self._run_held()

    async def _run_checks_first(self) -> None:
        """Checks are about the state before the command's writes: right after BEGIN,
        they run first, and one that fails ends the transaction with nothing run, so
        the command can be tried again on this connection."""
        checks = [later for later in self._held if _shape(later.sql).check]
        if not checks:
            return
        try:
            await self._run(checks)
        except BaseException:
            await self.raw.execute("ROLLBACK")
            self.begun = False
            raise
        self._held = [later for later in self._held if not _shape(later.sql).check]

    async def settle(self) -> None:
        if not self._held:
            return
        if self.begun or not self.single:
            await self.flush()
            return
        groups = plan(self._held)
        if len(groups) > 1:
            await self.flush()
            return
        await self._run(groups[0])
        self._held.clear()
        self.committed = True

    async def finish(self) -> None:
        """At the block's end: run what is held and commit."""
        if not self.committed:
            await self.settle()
        if self.begun:
            await self.raw.execute("COMMIT")
            self.begun = False

    async def _run_held(self) -> None:
        while self._held:
            group = plan(self._held)[0]
            await self._run(group)
            del self._held[: len(group)]

    async def _run(self, group: list[Later]) -> None:
        try:
            if len(group) == 1:
                only = group[0]
                only.result = await PostgresConnection.execute(self, only.sql, only.params)
                return
            texts: list[str] = []
            merged: dict[str, Any] = {}
            for index, later in enumerate(group):
                sql, values = _expand(later.sql, later.params) if later.params else (later.sql, {})
                texts.append(sql)
                for name, value in values.items():
                    merged[f"w{index}_{name}"] = value
            result = await PostgresConnection.execute(self, _combined_text(tuple(texts)), merged)
        except IntegrityError as exc:
            raise _translated(group, exc) from exc
        for row in result.rows:
            row.pop(_CHECKED, None)
        rows = [row for row in result.rows if any(value is not None for value in row.values())]
        for later in group:
            shape = _shape(later.sql)
            later.result = Result(rows, len(rows)) if shape.returning else Result([], -1)


def _translated(group: list[Later], exc: IntegrityError) -> Exception:
    """The error the statement that broke the constraint asked for, else ``exc``."""
    for later in group:
        if later.on_integrity_error is not None and _shape(later.sql).written == exc.table:
            return later.on_integrity_error(exc)
    return exc
