"""Which execution fires: for a method, function or event, the conditions the
best-match rule tries in order, the one that wins and the ones it shadows (domain
rules of :mod:`keyhook.domain.execution`; no I/O)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from keyhook.domain.execution import (
    ACTION_SERVICES,
    FUNCTIONS,
    Condition,
    Kind,
    not_found,
    service_of,
)
from keyhook.errors import field_error


@dataclass(frozen=True)
class Explanation:
    tried: tuple[Condition, ...]  # in the order the rule tries them
    fires: Condition | None  # the first one that is set
    shadowed: tuple[Condition, ...]  # set, and matching, but not the most specific
    note: str


def checked_subject(
    named: dict[str, str | None], *, methods: Collection[str], events: Collection[str]
) -> tuple[Kind, str]:
    """(kind, value) of what ExplainExecution is asked about: exactly one of a request
    or response method, a function name, an event type, each one that exists."""
    given = [(kind, value) for kind, value in named.items() if value is not None]
    if len(given) != 1:
        raise field_error(
            "body",
            "must name exactly one of request, response, function, event",
            '{"request": {"method": …}}, {"response": {"method": …}}, '
            '{"function": {"name": …}}, {"event": {"event": …}}',
        )
    kind, value = given[0]
    if kind in ("request", "response") and value not in methods:
        raise not_found("method", value, methods, "GET /v2/actions/executions/methods")
    if kind == "function" and value not in FUNCTIONS:
        raise not_found("function", value, FUNCTIONS, "GET /v2/actions/executions/functions")
    if kind == "event" and value not in events:
        raise not_found("event", value, events, "GET /v2/actions/executions/events")
    return kind, value  # type: ignore[return-value]


def candidates(kind: Kind, value: str, *, unwrapped: bool = False) -> tuple[Condition, ...]:
    """The conditions that match ``value`` (a full method, function name or event type),
    most specific first. ``unwrapped``: a method of the recovery set, which none wraps."""
    if kind in ("request", "response"):
        if unwrapped:
            return ()
        service = service_of(value)
        found = [Condition(kind, "method", value), Condition(kind, "service", service)]
        if service not in ACTION_SERVICES:
            found.append(Condition(kind, "all", ""))
        return tuple(found)
    if kind == "event":
        parts = value.split(".")
        groups = [
            Condition(kind, "group", ".".join(parts[:i])) for i in range(len(parts) - 1, 0, -1)
        ]
        return (Condition(kind, "event", value), *groups, Condition(kind, "all", ""))
    return (Condition(kind, "name", value),)


def explain(
    set_keys: Collection[str], kind: Kind, value: str, *, unwrapped: bool = False
) -> Explanation:
    """What runs for ``value`` given the condition keys that have an execution."""
    tried = candidates(kind, value, unwrapped=unwrapped)
    present = tuple(c for c in tried if c.key in set_keys)
    fires = present[0] if present else None
    if unwrapped:
        note = (
            f"{value} is in the Actions API's recovery set: no request or response "
            "execution wraps it, so no target can lock administrators out of it"
        )
    elif fires is None:
        note = "no execution matches: nothing is called"
    else:
        note = f"only the most specific execution runs: {fires.scope}"
        if present[1:]:
            note += f"; it shadows {', '.join(c.scope for c in present[1:])}"
    if kind in ("request", "response") and not unwrapped and service_of(value) in ACTION_SERVICES:
        note += ". An `all` condition never wraps the Actions API"
    return Explanation(tried, fires, present[1:], note)
