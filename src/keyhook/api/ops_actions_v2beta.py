"""``zitadel.action.v2beta.ActionService``: the Actions API as ZITADEL's published
definitions (the npm ``@zitadel/proto``) and its v2beta REST paths have it.

Each operation is its v2 twin (:mod:`keyhook.api.ops_actions`) under the v2beta name
and paths: the same permission, recovery set, field rules and command. Where v2beta's
messages differ they are read and written here: the searches take ``pagination``,
``sortingColumn`` and ``filters``; every answer is exactly the v2beta message
(:mod:`keyhook.api.protojson`), so Keyhook's additions to a target or an execution
(masked headers, ``paused``, target names) are on the v2 API only. Both names are
methods an execution can name; neither service is wrapped by an ``all`` condition
(:data:`keyhook.domain.execution.ACTION_SERVICES`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from typing import Annotated, Any

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from keyhook.api import messages as m
from keyhook.api.protojson import Schema
from keyhook.api.registry import Handler, Registry
from keyhook.domain.caller import Caller
from keyhook.domain.execution import Condition
from keyhook.errors import field_error
from keyhook.query.target_search import (
    EXECUTION_ORDER,
    EXECUTION_TYPES,
    TARGET_ORDER,
    TEXT_METHODS,
    ExecutionFilters,
    NameFilter,
    TargetSearch,
)
from keyhook.query.targets import TargetQueries

V2 = "/zitadel.action.v2.ActionService/"
V2BETA = "/zitadel.action.v2beta.ActionService/"
BASE = "/v2beta/actions"


def _one_of(names: Collection[str]) -> AfterValidator:
    allowed = tuple(names)
    listed = ", ".join(allowed)

    def check(value: str) -> str:
        if value not in allowed:
            raise PydanticCustomError(
                "enum", "'{value}' is not one of {allowed}", {"value": value, "allowed": listed}
            )
        return value

    return AfterValidator(check)


# Enums by name (protojson's numbers are turned into names before, keyhook.api.protojson).
TextMethod = Annotated[str, _one_of(TEXT_METHODS)]
TargetSort = Annotated[str, _one_of(TARGET_ORDER)]
ExecutionSort = Annotated[str, _one_of(EXECUTION_ORDER)]
ExecutionType = Annotated[str, _one_of([*EXECUTION_TYPES, "EXECUTION_TYPE_UNSPECIFIED"])]


class Pagination(m.Message):
    offset: m.Int64 = Field(0, ge=0, le=10_000_000)
    # 0 (protojson leaves it out) is the default page of 100, as ZITADEL's.
    limit: m.Int = Field(0, ge=0, le=1000)
    asc: m.Bool = False

    @property
    def page(self) -> int:
        return self.limit or 100


class TargetNameFilter(m.Message):
    target_name: str = Field("", max_length=200)
    method: TextMethod = "TEXT_FILTER_METHOD_EQUALS"


class InTargetIdsFilter(m.Message):
    target_ids: list[m.Id] = Field(default_factory=list, max_length=1000)


class TargetSearchFilter(m.Message):
    target_name_filter: TargetNameFilter | None = None
    in_target_ids_filter: InTargetIdsFilter | None = None


class ListTargetsRequest(m.Message):
    pagination: Pagination = Field(default_factory=Pagination)
    sorting_column: TargetSort = "TARGET_FIELD_NAME_UNSPECIFIED"
    filters: list[TargetSearchFilter] = Field(default_factory=list, max_length=20)


class InConditionsFilter(m.Message):
    conditions: list[dict[str, dict[str, Any]]] = Field(default_factory=list, max_length=100)


class ExecutionTypeFilter(m.Message):
    execution_type: ExecutionType = "EXECUTION_TYPE_UNSPECIFIED"


class TargetFilter(m.Message):
    target_id: m.Id


class ExecutionSearchFilter(m.Message):
    in_conditions_filter: InConditionsFilter | None = None
    execution_type_filter: ExecutionTypeFilter | None = None
    target_filter: TargetFilter | None = None


class ListExecutionsRequest(m.Message):
    pagination: Pagination = Field(default_factory=Pagination)
    sorting_column: ExecutionSort = "EXECUTION_FIELD_NAME_UNSPECIFIED"
    filters: list[ExecutionSearchFilter] = Field(default_factory=list, max_length=20)


def _one_filter(index: int, item: m.Message, members: str) -> None:
    named = [k for k, v in item if v is not None]
    if len(named) != 1:
        raise field_error(f"filters[{index}]", "must hold exactly one filter", members)


def _condition_key(index: int, raw: dict[str, dict[str, Any]]) -> str:
    """A condition of an ``inConditionsFilter`` as the key executions are stored under;
    its shape is checked, not whether its method or event exists (none matches then)."""
    where = f"filters[{index}].inConditionsFilter.conditions"
    kinds = "request, response, function, event"
    if len(raw) != 1:
        raise field_error(where, "a condition holds exactly one condition type", kinds)
    kind, inner = next(iter(raw.items()))
    if kind not in kinds.split(", ") or len(inner) != 1:
        raise field_error(where, f"{kind!r} is not a condition with one selector", kinds)
    scope, value = next(iter(inner.items()))
    if scope == "all":
        return Condition(kind, "all", "").key  # type: ignore[arg-type]
    if not isinstance(value, str):
        raise field_error(f"{where}.{kind}.{scope}", "must be a string")
    if kind == "event" and scope == "group":
        value = value.removesuffix(".*")
    return Condition(kind, scope, value).key  # type: ignore[arg-type]


def register(registry: Registry, queries: TargetQueries, schema: Schema) -> None:
    search = TargetSearch(queries)

    async def list_targets(caller: Caller, req: ListTargetsRequest) -> dict[str, Any]:
        names: list[NameFilter] = []
        ids: list[list[str]] = []
        for i, item in enumerate(req.filters):
            _one_filter(i, item, "targetNameFilter, inTargetIdsFilter")
            if item.target_name_filter is not None:
                named = item.target_name_filter
                names.append(NameFilter(named.target_name, named.method))
            if item.in_target_ids_filter is not None:
                ids.append(item.in_target_ids_filter.target_ids)
        return await search.targets(
            caller,
            offset=req.pagination.offset,
            limit=req.pagination.page,
            asc=req.pagination.asc,
            sort=req.sorting_column,
            names=names,
            ids=ids,
        )

    async def list_executions(caller: Caller, req: ListExecutionsRequest) -> dict[str, Any]:
        keys: set[str] | None = None
        kinds: set[Any] | None = None
        targets: set[str] | None = None
        for i, item in enumerate(req.filters):
            _one_filter(i, item, "inConditionsFilter, executionTypeFilter, targetFilter")
            if item.in_conditions_filter is not None:
                wanted = {_condition_key(i, c) for c in item.in_conditions_filter.conditions}
                keys = wanted if keys is None else keys & wanted
            if item.execution_type_filter is not None:
                kind = EXECUTION_TYPES.get(item.execution_type_filter.execution_type)
                if kind is not None:
                    kinds = {kind} if kinds is None else kinds & {kind}
            if item.target_filter is not None:
                wanted = {item.target_filter.target_id}
                targets = wanted if targets is None else targets & wanted
        filters = ExecutionFilters(
            condition_keys=None if keys is None else tuple(sorted(keys)),
            kinds=None if kinds is None else tuple(sorted(kinds)),
            target_ids=None if targets is None else tuple(sorted(targets)),
        )
        return await search.executions(
            caller,
            offset=req.pagination.offset,
            limit=req.pagination.page,
            asc=req.pagination.asc,
            sort=req.sorting_column,
            filters=filters,
        )

    def as_v2beta(name: str, handler: Handler) -> Handler:
        method = V2BETA + name

        async def answer(caller: Caller, req: Any) -> dict[str, Any]:
            return schema.outgoing(method, await handler(caller, req))

        return answer

    twins: list[tuple[str, tuple[tuple[str, str], ...], type[m.Message] | None, Handler | None]] = [
        ("CreateTarget", (("POST", f"{BASE}/targets"),), None, None),
        ("UpdateTarget", (("POST", f"{BASE}/targets/{{id}}"),), None, None),
        ("DeleteTarget", (("DELETE", f"{BASE}/targets/{{id}}"),), None, None),
        ("GetTarget", (("GET", f"{BASE}/targets/{{id}}"),), None, None),
        ("ListTargets", (("POST", f"{BASE}/targets/_search"),), ListTargetsRequest, list_targets),
        ("SetExecution", (("PUT", f"{BASE}/executions"),), None, None),
        (
            "ListExecutions",
            (("POST", f"{BASE}/executions/_search"),),
            ListExecutionsRequest,
            list_executions,
        ),
        ("ListExecutionFunctions", (("GET", f"{BASE}/executions/functions"),), None, None),
        ("ListExecutionMethods", (("GET", f"{BASE}/executions/methods"),), None, None),
        ("ListExecutionServices", (("GET", f"{BASE}/executions/services"),), None, None),
    ]
    for name, routes, model, handler in twins:
        v2 = registry.operations[V2 + name]
        registry.add(
            replace(
                v2,
                full_method=V2BETA + name,
                routes=routes,
                request_model=model or v2.request_model,
                handler=as_v2beta(name, handler or v2.handler),
                summary=f"{v2.summary} (v2beta)",
            )
        )
