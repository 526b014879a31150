"""The operation registry: every API operation under its full method name.

An operation is a typed message, a handler, and the routes it is served at:
its REST paths and ``POST /<full method>`` (the Connect protocol's unary JSON
form). The interceptor chain, the execution conditions, and OpenAPI all read
this one table.

``check`` is the operation's field rules beyond the message's shape (an email
that is an address, a password's length, a duration's range): the same domain
functions its command applies, without I/O. The interceptor chain runs it before
the first request target is called, so no target sees a message Keyhook would
refuse, and again after each target's change. Without request targets it does
not run: the command applies the same rules, and one check per call is enough.

``permission`` is what the authorize step requires of the caller's instance roles;
``org_permission``, what it accepts from an organization's roles instead, for an
operation on one organization's objects (users and their tokens, the organization's
administrators): the call then reaches those organizations only (``Caller.orgs``).

``pinned`` names the members a request execution's target may not change, beside
the path's (pinned in both URL forms): what grants roles or sets credentials,
which a target may accept or refuse but not rewrite, so a hook cannot turn an
administrator's call into a grant or a password of its own choosing.

``recovery`` marks the operations an administrator needs to find and undo a
broken execution (the Actions API's recovery set, docs/operations.md). They are
never wrapped by request or response executions, whatever the condition: a
failing ``interruptOnError`` target could otherwise block the very calls that
remove it, and a request target could rewrite SetExecution's body to keep
itself. Naming one in a ``method`` condition is refused; a ``service``
condition on their service wraps the service's other operations.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from keyhook.domain.caller import Caller

Handler = Callable[[Caller, Any], Awaitable[dict[str, Any]]]
_PATH_FIELD = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Operation:
    full_method: str
    routes: tuple[tuple[str, str], ...]  # (HTTP method, path)
    request_model: type[BaseModel]
    handler: Handler
    summary: str
    # The request member naming the user the call is about, and the response member.
    subject_field: str | None = None
    response_subject_field: str | None = None
    changes_actions: bool = False
    recovery: bool = False  # never wrapped by request/response executions (see above)
    check: Callable[[Any], None] | None = None  # field rules, no I/O (see above)
    # The permission a caller needs (domain.roles); "" for none yet: a test requires one.
    permission: str = ""
    # The permission an organization's role must grant for the call to act inside that
    # organization (the handler then keeps to the caller's organizations); None: only an
    # instance role grants the call.
    org_permission: str | None = None
    # Members of the message a request target may not change (see above); "*": none.
    pinned: tuple[str, ...] = ()
    # The Connect form's message (proto3 JSON, keyhook.api.protojson) as the REST form
    # writes it, where the two differ beyond names and number forms: SetUserMetadata's
    # values are protobuf ``bytes`` (base64) there, text at its REST route.
    connect_message: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    @property
    def path_fields(self) -> frozenset[str]:
        """The members the REST routes take from the path, pinned in both URL forms."""
        return frozenset(name for _, path in self.routes for name in _PATH_FIELD.findall(path))

    def keep(self, original: dict[str, Any], changed: dict[str, Any]) -> dict[str, Any]:
        """``changed`` (a request target's version of the message) with the pinned
        members and the path's as the caller sent them (or absent, if it sent none)."""
        if "*" in self.pinned:
            return dict(original)
        fixed = self.path_fields | set(self.pinned)
        kept = {k: v for k, v in changed.items() if k not in fixed}
        kept.update({k: v for k, v in original.items() if k in fixed})
        return kept

    @property
    def service(self) -> str:
        return self.full_method.strip("/").split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_method.rsplit("/", 1)[1]


@dataclass
class Registry:
    operations: dict[str, Operation] = field(default_factory=dict)

    def add(self, operation: Operation) -> None:
        if operation.full_method in self.operations:
            raise ValueError(f"{operation.full_method} registered twice")
        self.operations[operation.full_method] = operation

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations.values())

    def methods(self) -> list[str]:
        return sorted(self.operations)

    def wrappable_methods(self) -> list[str]:
        """The methods a request or response condition may name."""
        return sorted(op.full_method for op in self if not op.recovery)

    def recovery_methods(self) -> list[str]:
        return sorted(op.full_method for op in self if op.recovery)

    def services(self) -> list[str]:
        return sorted({op.service for op in self})
