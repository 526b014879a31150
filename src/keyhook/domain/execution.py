"""Execution conditions: parsing, the key they are stored under, and best match.

Only the most specific execution runs (as in ZITADEL): for requests and
responses method > service > all; for events the event > its deepest group >
all. The Actions API is never wrapped by ``all``, so a broken target cannot
lock administrators out of the API they need to fix it; its recovery set
(the operations that find and undo a broken execution, marked in the operation
registry) is not wrapped by any condition, and a ``method`` condition naming one
is refused here with the reason.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from keyhook.errors import NotFound, field_error

# The Actions API under both of its versions: never wrapped by an ``all`` condition.
ACTION_SERVICES = frozenset(
    {"zitadel.action.v2.ActionService", "zitadel.action.v2beta.ActionService"}
)
FUNCTIONS = ("complement_token", "preaccesstoken", "preuserinfo")
Kind = Literal["request", "response", "function", "event"]
KINDS: tuple[Kind, ...] = ("request", "response", "function", "event")


@dataclass(frozen=True)
class Condition:
    kind: Kind
    scope: Literal["method", "service", "all", "name", "event", "group"]
    value: str  # "" for all

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.scope}:{self.value}"

    def to_wire(self) -> dict[str, Any]:
        inner: dict[str, Any] = {"all": True} if self.scope == "all" else {self.scope: self.value}
        return {self.kind: inner}

    @staticmethod
    def from_key(key: str) -> Condition:
        kind, scope, value = key.split(":", 2)
        return Condition(kind, scope, value)  # type: ignore[arg-type]


def _close_names(value: str, valid: Collection[str]) -> list[str]:
    """Up to three names ``value`` was probably meant to be: those of the same service
    (or dotted group) whose last part is spelt nearly alike — a shared prefix such as
    ``/zitadel.user.v2.UserService/`` makes every name look alike as a whole."""

    def split(name: str) -> tuple[str, str]:
        head, _, tail = name.rstrip("/").rpartition("/" if "/" in name else ".")
        return head, tail

    head, tail = split(value)
    tails: dict[str, list[str]] = {}
    for name in valid:
        their_head, their_tail = split(name)
        if their_head == head or not head:
            tails.setdefault(their_tail.lower(), []).append(name)
    matched = difflib.get_close_matches(tail.lower(), list(tails), n=3, cutoff=0.75)
    close = [name for found in matched for name in sorted(tails[found])][:3]
    # Else a slip elsewhere (the service's name): nearly the whole name alike.
    return close or difflib.get_close_matches(value, list(valid), n=3, cutoff=0.92)


def not_found(what: str, value: str, valid: Collection[str], hint: str) -> NotFound:
    """Unknown: the nearest names first ("did you mean"), then where the whole list is."""
    close = _close_names(value, valid)
    if close:
        guess = " or ".join(repr(name) for name in close)
        message = f"{what} {value!r} does not exist; did you mean {guess}? (all: {hint})"
    else:
        # Those of the same service or group first (``/pkg.Service/`` or ``user.``):
        # what the caller most likely looks for, before the list is cut.
        family = value.rsplit("/", 1)[0] + "/" if "/" in value else value.split(".", 1)[0] + "."
        ordered = sorted(valid, key=lambda name: (not name.startswith(family), name))
        shown = ", ".join(ordered[:60])
        more = "" if len(valid) <= 60 else f", … ({len(valid)} in all, see {hint})"
        message = f"{what} {value!r} does not exist; valid: {shown}{more}"
    detail: dict[str, Any] = {"field": what, "problem": "unknown", "allowed": hint}
    if close:
        detail["didYouMean"] = close
    return NotFound(message, details=[detail])


def parse_condition(
    raw: object,
    *,
    methods: Collection[str],
    services: Collection[str],
    events: Collection[str],
    groups: Collection[str],
    unwrappable: Collection[str] = (),
) -> Condition:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise field_error(
            "condition", "must hold exactly one of request, response, function, event"
        )
    kind, inner = next(iter(raw.items()))
    if kind not in KINDS:
        raise field_error(
            "condition", f"{kind!r} is not a condition type", "request, response, function, event"
        )
    if not isinstance(inner, dict) or len(inner) != 1:
        raise field_error(f"condition.{kind}", "must hold exactly one selector", _SELECTORS[kind])
    scope, value = next(iter(inner.items()))
    if scope not in _SELECTORS[kind].split(", "):
        raise field_error(f"condition.{kind}.{scope}", "is not a selector", _SELECTORS[kind])
    if scope == "all":
        if value is not True:
            raise field_error(f"condition.{kind}.all", "must be true")
        return Condition(kind, "all", "")
    if not isinstance(value, str) or not value:
        raise field_error(
            f"condition.{kind}.{scope}", "must be a non-empty string", _SELECTORS[kind]
        )
    if kind in ("request", "response"):
        if scope == "method":
            if value not in methods:
                raise not_found("method", value, methods, "GET /v2/actions/executions/methods")
            if value in unwrappable:
                raise field_error(
                    f"condition.{kind}.method",
                    f"{value} is never wrapped by request or response executions: it is in "
                    "the Actions API's recovery set (the operations that find and undo a "
                    "broken execution), so no target can lock administrators out of them",
                    "the methods of GET /v2/actions/executions/methods",
                )
            return Condition(kind, "method", value)
        if scope == "service":
            if value not in services:
                raise not_found("service", value, services, "GET /v2/actions/executions/services")
            return Condition(kind, "service", value)
    elif kind == "function" and scope == "name":
        if value not in FUNCTIONS:
            raise not_found("function", value, FUNCTIONS, "GET /v2/actions/executions/functions")
        return Condition(kind, "name", value)
    elif kind == "event":
        if scope == "event":
            if value not in events:
                raise not_found("event", value, events, "GET /v2/actions/executions/events")
            return Condition(kind, "event", value)
        if scope == "group":
            group = value.removesuffix(".*")
            if group not in groups:
                raise not_found("group", value, groups, "GET /v2/actions/executions/events")
            return Condition(kind, "group", group)
    raise field_error(f"condition.{kind}.{scope}", "is not a selector", _SELECTORS[kind])


_SELECTORS = {
    "request": "method, service, all",
    "response": "method, service, all",
    "function": "name",
    "event": "event, group, all",
}


def service_of(full_method: str) -> str:
    return full_method.strip("/").split("/", 1)[0]


def match_method(
    executions: Mapping[str, Sequence[str]], kind: Kind, full_method: str
) -> Sequence[str]:
    """Target ids of the most specific request/response execution for ``full_method``."""
    found = executions.get(f"{kind}:method:{full_method}")
    if found is not None:
        return found
    service = service_of(full_method)
    found = executions.get(f"{kind}:service:{service}")
    if found is not None:
        return found
    if service in ACTION_SERVICES:
        return ()
    return executions.get(f"{kind}:all:", ())


def match_event(executions: Mapping[str, Sequence[str]], event_type: str) -> Sequence[str]:
    found = executions.get(f"event:event:{event_type}")
    if found is not None:
        return found
    parts = event_type.split(".")
    for i in range(len(parts) - 1, 0, -1):
        found = executions.get(f"event:group:{'.'.join(parts[:i])}")
        if found is not None:
            return found
    return executions.get("event:all:", ())


def match_function(executions: Mapping[str, Sequence[str]], name: str) -> Sequence[str]:
    return executions.get(f"function:name:{name}", ())
