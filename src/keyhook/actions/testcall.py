"""Testing a hook (TestTarget, Keyhook's): one call to a target with the payload Keyhook
would send for a request, a response, a function (for a real user) or an event, signed
exactly as in production, and how Keyhook reads the answer — allowed, the request or
response modified (which members), claims added to the token, rejected (the status and
message the caller would get), or failed.

The call goes through the engine's transport and network policy and is recorded in
the call log with the kind ``test`` (so it is told apart from production calls). It
is marked as a test where a receiver can see it and no one can take it off: the
signed body carries ``"test": true`` and the request the ``X-Keyhook-Test: true``
header, so a payload a caller composed cannot pass for a real event or request. At
most ``TEST_CALLS`` run at once in a process, each for at most ``TEST_TIMEOUT``
seconds, so tests cannot take the connections live hooks need. The exchange is
shown with the signatures and every header, custom headers' values masked (they
are secrets), and the body bytes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import Any

from keyhook.actions.answers import Outcome, from_answer, from_failure, modified_message
from keyhook.actions.calllog import CALL_BODY_CHARS, CallRecord
from keyhook.actions.engine import ActionsEngine
from keyhook.actions.payload_types import PayloadError
from keyhook.actions.transport import TransportError
from keyhook.actions.wire import encode_body, masked_headers, signed_request
from keyhook.clock import now
from keyhook.domain.claims import Complement
from keyhook.domain.target import Target, TargetType
from keyhook.errors import TooManyAttempts

SHOWN_ANSWER = 65536  # bytes of the answer's body shown
TEST_HEADER = "X-Keyhook-Test"
TEST_CALLS = 4
TEST_TIMEOUT = 30.0
_running = asyncio.Semaphore(TEST_CALLS)


@dataclass
class TestExchange:
    sent: dict[str, Any]
    answer: dict[str, Any] | None
    duration_ms: float
    reading: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "answer": self.answer,
            "durationMs": round(self.duration_ms, 3),
            "reading": self.reading,
        }


def _changed_members(before: Any, after: Any) -> list[str]:
    if not isinstance(before, dict) or not isinstance(after, dict):
        return ["(the whole message)"]
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def read_answer(
    outcome: Outcome, member: str, target: Target, message: dict[str, Any]
) -> dict[str, Any]:
    """How Keyhook reads the target's answer for a ``member`` call (request, response,
    event)."""
    if not outcome.ok:
        refused = outcome.status_code is not None and 400 <= outcome.status_code < 500
        blocks = target.type is not TargetType.REST_ASYNC and target.interrupt_on_error
        reading: dict[str, Any] = {
            "outcome": "rejected" if refused else "failed",
            "message": outcome.error,
            "callerStatus": outcome.caller_status if blocks else None,
        }
        if member == "event" or target.type is TargetType.REST_ASYNC:
            reading["effect"] = "the delivery would be retried on its schedule"
        elif blocks:
            reading["effect"] = (
                f"the API call would fail with {outcome.caller_status} and this message"
            )
        else:
            reading["effect"] = "interruptOnError is off: the API call would go on without it"
        return reading
    if member == "function":
        return _function_reading(outcome, target)
    if member in ("request", "response") and target.type is TargetType.REST_CALL:
        changed = modified_message(outcome, member, target.type)
        if changed is not None and changed != message:
            return {
                "outcome": "modified",
                "changedMembers": _changed_members(message, changed),
                member: changed,
                "effect": f"the {member} would go on as the target returned it (secrets kept)",
            }
    return {"outcome": "allowed", "effect": "the call would go on unchanged"}


def _function_reading(outcome: Outcome, target: Target) -> dict[str, Any]:
    """What token issuance would take from a function target's answer."""
    if target.type is TargetType.REST_ASYNC:
        return {
            "outcome": "allowed",
            "effect": "restAsync: sent after the token is issued; its answer is not read",
        }
    added = Complement()
    added.absorb(target.name, outcome.body)
    if not (added.claims or added.metadata or added.logs):
        return {"outcome": "allowed", "effect": "the token would be issued unchanged"}
    return {
        "outcome": "claims",
        "claims": added.claims,
        "logClaims": added.logs,
        "metadata": [{"key": k, "value": v} for k, v in added.metadata],
        "effect": "the token would carry these claims (and log claims); the metadata "
        "would be set on the user",
    }


async def test_call(
    engine: ActionsEngine,
    target: Target,
    member: str,
    payload: dict[str, Any],
    message: dict[str, Any],
    trigger: str,
    instance_id: str,
) -> TestExchange:
    if _running.locked():
        raise TooManyAttempts(
            f"{TEST_CALLS} test calls are already under way; try again in a moment",
            retry_after=1,
        )
    async with _running:
        return await _test_call(engine, target, member, payload, message, trigger, instance_id)


async def _test_call(
    engine: ActionsEngine,
    target: Target,
    member: str,
    payload: dict[str, Any],
    message: dict[str, Any],
    trigger: str,
    instance_id: str,
) -> TestExchange:
    msg_id = f"msg_{engine.calllog.ids.new()}"
    body = encode_body({**payload, "test": True})
    marked = replace(
        target,
        headers={**target.headers, TEST_HEADER: "true"},
        timeout=min(target.timeout, TEST_TIMEOUT),
    )
    try:
        sent_body = await engine.sealer.body(target, body)
        sealing_error = None
    except PayloadError as failure:
        sent_body, sealing_error = body, failure.message
    request = signed_request(marked, sent_body, msg_id)
    shown_headers = masked_headers(request.headers.items(), target.headers)
    sent = {
        "url": target.endpoint,
        "headers": shown_headers,
        "body": sent_body.decode("utf-8", errors="replace"),  # a JWT or JWE as sent
        "webhookId": msg_id,
    }
    started = time.perf_counter()
    answer: dict[str, Any] | None = None
    refusal = engine.policy.refusal(target.endpoint)
    if sealing_error is not None:  # nothing is sent, least of all in the clear
        outcome = Outcome(False, None, None, sealing_error, 502)
    elif refusal is not None:
        outcome = Outcome(False, None, None, f"refused by the network policy: {refusal}", 502)
    else:
        try:
            response = await engine.transport.send(request)
            outcome = from_answer(target.name, response)
            answer = {
                "status": response.status,
                "headers": dict(response.headers),
                "body": response.body[:SHOWN_ANSWER].decode("utf-8", errors="replace"),
            }
        except TransportError as failure:
            outcome = from_failure(target.name, failure)
    duration = (time.perf_counter() - started) * 1000
    engine.calllog.record(
        CallRecord(
            id=engine.calllog.ids.new(),
            instance_id=instance_id,
            target_id=target.id,
            kind="test",
            trigger=trigger,
            status_code=outcome.status_code,
            duration_ms=duration,
            error=outcome.error,
            created_at=now(),
            request_body=body.decode("utf-8", errors="replace")[:CALL_BODY_CHARS],
            response_body=None if answer is None else str(answer["body"])[:CALL_BODY_CHARS],
        )
    )
    return TestExchange(sent, answer, duration, read_answer(outcome, member, target, message))


def sample_event(
    event_type: str, data: dict[str, Any], instance_id: str, org_id: str
) -> dict[str, Any]:
    """An event delivery's body for a test: the production form, with test ids."""
    moment = now().isoformat().replace("+00:00", "Z")
    return {
        "event": event_type,
        "eventID": "0",
        "sequence": "0",
        "createdAt": moment,
        "instanceID": instance_id,
        "orgID": org_id,
        "userID": str(data.get("userId", "")),
        "aggregateType": event_type.split(".")[0],
        "aggregateID": str(data.get("userId", "")),
        "eventData": data,
    }
