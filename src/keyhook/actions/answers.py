"""What a target's answer means (DESIGN.md §3.5), as a pure function of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from keyhook.actions.transport import OutboundResponse, TransportError
from keyhook.domain.target import TargetType


@dataclass(frozen=True)
class Outcome:
    """``ok`` with an optional decoded body, or a failure with the caller's status."""

    ok: bool
    status_code: int | None  # the target's HTTP status, None if there was no answer
    body: Any = None
    error: str | None = None
    caller_status: int = 502  # what an interrupting failure returns to the caller


def _message(body: Any) -> str | None:
    if isinstance(body, dict):
        for key in ("message", "forwardedErrorMessage", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def from_answer(target_name: str, response: OutboundResponse) -> Outcome:
    status = response.status
    body: Any = None
    readable = True
    if response.body.strip():
        try:
            body = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            readable = False
    if 200 <= status < 300:
        if not readable:
            return Outcome(
                False,
                status,
                None,
                f"target {target_name!r} answered {status} with a body that is not JSON",
            )
        if isinstance(body, dict):
            forwarded = body.get("forwardedStatusCode")
            if isinstance(forwarded, int) and forwarded >= 400:
                message = _message(body) or f"target {target_name!r} refused the call"
                return Outcome(False, status, body, message, forwarded if forwarded < 500 else 502)
            if body.get("status") == "error":
                message = _message(body) or f"target {target_name!r} refused the call"
                return Outcome(False, status, body, message, 400)
        return Outcome(True, status, body)
    reason = _message(body) if readable else None
    if 300 <= status < 400:
        return Outcome(
            False,
            status,
            body,
            reason
            or f"target {target_name!r} answered with a redirect ({status}), "
            "which is never followed",
            502,
        )
    if 400 <= status < 500:
        return Outcome(
            False,
            status,
            body,
            reason or f"target {target_name!r} refused the call ({status})",
            status,
        )
    return Outcome(False, status, body, reason or f"target {target_name!r} failed ({status})", 502)


def from_failure(target_name: str, failure: TransportError) -> Outcome:
    status = 504 if failure.kind == "timeout" else 502
    return Outcome(False, None, None, f"target {target_name!r}: {failure.message}", status)


_CONTROL = frozenset({"status", "message"})


def modified_message(outcome: Outcome, member: str, target_type: TargetType) -> Any | None:
    """The new request/response a successful answer carries, or None.

    The seed's wrapped form (``{"status":"success","request":{…}}``) works for
    restWebhook and restCall; ZITADEL's bare form (the whole body is the new
    message) for restCall only.
    """
    body = outcome.body
    if not isinstance(body, dict):
        return None
    wrapped = body.get(member)
    if isinstance(wrapped, dict):
        return wrapped
    if target_type is TargetType.REST_CALL and body and not set(body) <= _CONTROL:
        return body
    return None
