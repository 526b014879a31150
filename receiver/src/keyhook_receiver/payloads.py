"""Keyhook's calls as typed payloads: a request, a response, a function or an event.

:func:`parse` reads the raw body (after :class:`~keyhook_receiver.Verifier` has checked
it) and answers the one class its shape is — Keyhook's payload forms (docs/api.md,
docs/events.md). An event's ``eventData`` is typed per event type
(:mod:`keyhook_receiver.events`, generated from Keyhook's event catalog); a type this
version does not know still parses, its data kept raw. Standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keyhook_receiver.errors import VerificationError
from keyhook_receiver.events import EventData, event_data


@dataclass(slots=True)
class Caller:
    """Who made the API call a request or response execution wraps."""

    user_id: str
    org_id: str


@dataclass(slots=True)
class RequestCall:
    """A request execution: the API call before its method runs. Answer it with
    :func:`~keyhook_receiver.answers.allow`, ``reject`` or ``modify_request``."""

    full_method: str
    instance_id: str
    org_id: str
    user_id: str
    caller: Caller
    request: dict[str, Any]
    test: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(slots=True)
class ResponseCall:
    """A response execution: the API call after its method ran; ``response`` is what
    the caller is about to get."""

    full_method: str
    instance_id: str
    org_id: str
    user_id: str
    caller: Caller
    request: dict[str, Any]
    response: dict[str, Any]
    test: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(slots=True)
class FunctionCall:
    """A function execution during token issuance (``preaccesstoken``,
    ``preuserinfo``, ``complement_token``): the user the token is for and the claims so
    far. Answer it with :class:`~keyhook_receiver.answers.Claims`."""

    function: str
    instance_id: str
    org_id: str
    user_id: str
    client_id: str
    scopes: list[str]
    user: dict[str, Any]
    user_metadata: dict[str, str]
    claims: dict[str, Any]
    org: dict[str, Any]
    test: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(slots=True)
class EventCall:
    """An event delivery: ``event`` is its type (``user.locked``), ``event_data`` its
    ``eventData`` as sent and ``data`` the same typed by the event's type. Deliveries
    are retried until answered 2xx, so a receiver should be idempotent on ``event_id``
    or the ``webhook-id`` header (:class:`~keyhook_receiver.dedupe.Deduplicator`)."""

    event: str
    event_id: str
    sequence: str
    created_at: str
    instance_id: str
    org_id: str
    user_id: str
    aggregate_type: str
    aggregate_id: str
    event_data: dict[str, Any]
    test: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    _typed: EventData | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def data(self) -> EventData:
        """``eventData`` as its type's dataclass (built on first use: most receivers
        read a few members, and parsing is on every call)."""
        if self._typed is None:
            self._typed = event_data(self.event, self.event_data)
        return self._typed


Call = RequestCall | ResponseCall | FunctionCall | EventCall


def _text(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    return value if type(value) is str else "" if value is None else str(value)


def _object(payload: dict[str, Any], name: str) -> dict[str, Any]:
    # JSON gives dicts: a type check, not an ABC's isinstance (parse is on every call).
    value = payload.get(name)
    return value if type(value) is dict else {}


def parse(body: bytes | str | Mapping[str, Any]) -> Call:
    """The call ``body`` is (raw bytes as received, or a payload already decoded)."""
    if not isinstance(body, bytes | str):
        payload: Any = dict(body)
    else:
        try:
            payload = json.loads(body)
        except ValueError as error:
            raise VerificationError(
                "body_not_json", f"the body is not JSON ({error}): is it a Keyhook call?"
            ) from None
    if type(payload) is not dict:
        raise VerificationError("body_not_json", "the body is JSON but not an object")
    test = payload.get("test") is True
    if "event" in payload and "eventData" in payload:
        return EventCall(
            event=_text(payload, "event"),
            event_id=_text(payload, "eventID"),
            sequence=_text(payload, "sequence"),
            created_at=_text(payload, "createdAt"),
            instance_id=_text(payload, "instanceID"),
            org_id=_text(payload, "orgID"),
            user_id=_text(payload, "userID"),
            aggregate_type=_text(payload, "aggregateType"),
            aggregate_id=_text(payload, "aggregateID"),
            event_data=_object(payload, "eventData"),
            test=test,
            raw=payload,
        )
    if "function" in payload:
        metadata = {
            str(item.get("key")): str(item.get("value"))
            for item in payload.get("userMetadata") or []
            if type(item) is dict
        }
        return FunctionCall(
            function=_text(payload, "function"),
            instance_id=_text(payload, "instanceID"),
            org_id=_text(payload, "orgID"),
            user_id=_text(payload, "userID"),
            client_id=_text(payload, "clientID"),
            scopes=[str(s) for s in payload.get("scopes") or []],
            user=_object(payload, "user"),
            user_metadata=metadata,
            claims=_object(payload, "claims"),
            org=_object(payload, "org"),
            test=test,
            raw=payload,
        )
    if "fullMethod" in payload:
        caller = _object(payload, "caller")
        method = _text(payload, "fullMethod")
        who = Caller(_text(caller, "userID"), _text(caller, "orgID"))
        ids = (_text(payload, "instanceID"), _text(payload, "orgID"), _text(payload, "userID"))
        request = _object(payload, "request")
        if "response" in payload:
            return ResponseCall(
                method, *ids, who, request, _object(payload, "response"), test, payload
            )
        return RequestCall(method, *ids, who, request, test, payload)
    raise VerificationError(
        "body_not_json",
        "the body is not a Keyhook call (no event, function or fullMethod member)",
    )
