"""ZITADEL's target and execution searches: filters and sort columns (v2beta's lists).

``ListTargets`` filters by name (one of protobuf's text filter methods) and by ids,
sorted by a column; ``ListExecutions`` by conditions, execution type and target.
Reads only; the same answer members as :mod:`keyhook.query.targets`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from keyhook.clock import iso
from keyhook.domain.caller import Caller
from keyhook.domain.execution import Condition, Kind
from keyhook.domain.target import target_from_record
from keyhook.query.paging import Search, count_and_rows, pagination
from keyhook.query.targets import TargetQueries, target_to_wire

# A text filter method -> (the SQL test of a column {c} against :{v} of length :{n},
# whether case is ignored). Not LIKE: SQLite's ignores ASCII case, PostgreSQL's does
# not; substr, replace and length compare alike in both.
_EQUALS = "{c} = :{v}"
_STARTS = "substr({c}, 1, :{n}) = :{v}"
_CONTAINS = "replace({c}, :{v}, '') <> {c}"
_ENDS = "length({c}) >= :{n} AND substr({c}, length({c}) - :{n} + 1) = :{v}"
TEXT_METHODS = {
    "TEXT_FILTER_METHOD_EQUALS": (_EQUALS, False),
    "TEXT_FILTER_METHOD_EQUALS_IGNORE_CASE": (_EQUALS, True),
    "TEXT_FILTER_METHOD_STARTS_WITH": (_STARTS, False),
    "TEXT_FILTER_METHOD_STARTS_WITH_IGNORE_CASE": (_STARTS, True),
    "TEXT_FILTER_METHOD_CONTAINS": (_CONTAINS, False),
    "TEXT_FILTER_METHOD_CONTAINS_IGNORE_CASE": (_CONTAINS, True),
    "TEXT_FILTER_METHOD_ENDS_WITH": (_ENDS, False),
    "TEXT_FILTER_METHOD_ENDS_WITH_IGNORE_CASE": (_ENDS, True),
}

# A target sort column -> the ORDER BY columns (each order ends in the unique id).
TARGET_ORDER = {
    "TARGET_FIELD_NAME_UNSPECIFIED": ("id",),
    "TARGET_FIELD_NAME_ID": ("id",),
    "TARGET_FIELD_NAME_CREATED_DATE": ("created_at", "id"),
    "TARGET_FIELD_NAME_CHANGED_DATE": ("changed_at", "id"),
    "TARGET_FIELD_NAME_NAME": ("name", "id"),
    "TARGET_FIELD_NAME_TARGET_TYPE": ("target_type", "id"),
    "TARGET_FIELD_NAME_URL": ("endpoint", "id"),
    "TARGET_FIELD_NAME_TIMEOUT": ("timeout_seconds", "id"),
    "TARGET_FIELD_NAME_INTERRUPT_ON_ERROR": ("interrupt_on_error", "id"),
}

EXECUTION_ORDER = {
    "EXECUTION_FIELD_NAME_UNSPECIFIED": ("condition_key",),
    "EXECUTION_FIELD_NAME_ID": ("condition_key",),
    "EXECUTION_FIELD_NAME_CREATED_DATE": ("created_at", "condition_key"),
    "EXECUTION_FIELD_NAME_CHANGED_DATE": ("changed_at", "condition_key"),
}

EXECUTION_TYPES: dict[str, Kind] = {
    "EXECUTION_TYPE_REQUEST": "request",
    "EXECUTION_TYPE_RESPONSE": "response",
    "EXECUTION_TYPE_EVENT": "event",
    "EXECUTION_TYPE_FUNCTION": "function",
}


def _order(columns: Sequence[str], asc: bool) -> str:
    return ", ".join(c if asc else f"{c} DESC" for c in columns)


@dataclass(frozen=True)
class NameFilter:
    name: str
    method: str  # a key of TEXT_METHODS


@dataclass(frozen=True)
class ExecutionFilters:
    condition_keys: tuple[str, ...] | None = None  # None: any
    kinds: tuple[Kind, ...] | None = None
    target_ids: tuple[str, ...] | None = None  # an execution calling any of them


class TargetSearch:
    def __init__(self, queries: TargetQueries) -> None:
        self.db = queries.db
        self.box = queries.box

    async def targets(
        self,
        caller: Caller,
        *,
        offset: int,
        limit: int,
        asc: bool,
        sort: str,
        names: Sequence[NameFilter] = (),
        ids: Sequence[Sequence[str]] = (),
    ) -> dict[str, Any]:
        search = Search("SELECT * FROM targets").where(
            "instance_id = :instance_id", instance_id=caller.instance_id
        )
        for i, named in enumerate(names):
            test, fold = TEXT_METHODS[named.method]
            value = named.name.lower() if fold else named.name
            if not value and test != _EQUALS:
                continue  # every name starts with, contains and ends with ""
            column = "lower(name)" if fold else "name"
            search.where(
                "(" + test.format(c=column, v=f"name{i}", n=f"name_length{i}") + ")",
                **{f"name{i}": value, f"name_length{i}": len(value)},
            )
        for i, wanted in enumerate(ids):
            search.where(f"id IN (:ids{i})", **{f"ids{i}": list(wanted) or [""]})
        async with self.db.read() as conn:
            total, rows = await count_and_rows(
                conn, search, _order(TARGET_ORDER[sort], asc), offset, limit
            )
            targets = [
                target_to_wire(target_from_record(r, self.box), r.created_at, r.changed_at)
                for r in rows
            ]
        return {"pagination": pagination(total, limit), "targets": targets}

    async def executions(
        self,
        caller: Caller,
        *,
        offset: int,
        limit: int,
        asc: bool,
        sort: str,
        filters: ExecutionFilters,
    ) -> dict[str, Any]:
        search = Search("SELECT * FROM executions").where(
            "instance_id = :instance_id", instance_id=caller.instance_id
        )
        if filters.condition_keys is not None:
            search.where("condition_key IN (:keys)", keys=list(filters.condition_keys) or [""])
        if filters.kinds is not None:
            clauses = [f"condition_key LIKE :kind{i}" for i in range(len(filters.kinds))]
            search.where(
                "(" + (" OR ".join(clauses) or "1 = 0") + ")",
                **{f"kind{i}": f"{kind}:%" for i, kind in enumerate(filters.kinds)},
            )
        if filters.target_ids is not None:
            # target_ids is a JSON list of id strings (digits only: no LIKE wildcards), so
            # an id appears quoted and whole.
            clauses = [f"target_ids LIKE :target{i}" for i in range(len(filters.target_ids))]
            search.where(
                "(" + (" OR ".join(clauses) or "1 = 0") + ")",
                **{f"target{i}": f'%"{t}"%' for i, t in enumerate(filters.target_ids)},
            )
        async with self.db.read() as conn:
            total, rows = await count_and_rows(
                conn, search, _order(EXECUTION_ORDER[sort], asc), offset, limit
            )
        executions = [
            {
                "condition": Condition.from_key(r.condition_key).to_wire(),
                "targets": orjson.loads(r.target_ids),
                "creationDate": iso(r.created_at),
                "changeDate": iso(r.changed_at),
            }
            for r in rows
        ]
        return {"pagination": pagination(total, limit), "executions": executions}
