"""Request and response executions: call the best-matching targets in order.

A target error stops the chain only when the target says ``interruptOnError``;
then the caller gets the target's message and status (:class:`TargetError`).
``restAsync`` targets are queued in the outbox (durable, retried, logged by the
delivery worker) and never awaited by the call.

Each target has at most ``sync_limit`` synchronous calls in flight in this
process. One more waits for a slot for at most ``SLOT_WAIT`` seconds (or the
target's timeout, if shorter), so a burst to a healthy target is smoothed out;
if none frees, it fails as "busy" (503 to an interrupted caller). A slow target
thus holds a bounded share of connections and tasks and never starves the calls
to other targets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from keyhook.actions.answers import Outcome, from_answer, from_failure, modified_message
from keyhook.actions.calllog import CALL_BODY_CHARS, CallLog, CallRecord
from keyhook.actions.catalog import Catalog
from keyhook.actions.outbox import Outbox
from keyhook.actions.payload_types import PayloadError, PayloadSealer
from keyhook.actions.transport import Transport, TransportError
from keyhook.actions.wire import encode_body, signed_request
from keyhook.clock import now
from keyhook.domain.caller import Caller
from keyhook.domain.claims import Complement
from keyhook.domain.execution import Kind
from keyhook.domain.netpolicy import NetworkPolicy
from keyhook.domain.payload import redact, restore_secrets
from keyhook.domain.target import PayloadType, Target, TargetType, loggable
from keyhook.errors import TargetError

log = logging.getLogger("keyhook.actions")
DEFAULT_SYNC_LIMIT = 32
SLOT_WAIT = 1.0  # seconds a call waits for a free slot of its target before it is busy


@dataclass(frozen=True)
class CallContext:
    caller: Caller
    full_method: str
    subject_user_id: str  # the user the call is about, else the caller
    trace: str | None = None
    # restAsync calls of request executions, queued only once the call has succeeded.
    deferred: list[tuple[Target, dict[str, Any]]] = field(default_factory=list)


class ActionsEngine:
    def __init__(
        self,
        catalog: Catalog,
        transport: Transport,
        calllog: CallLog,
        policy: NetworkPolicy,
        outbox: Outbox,
        sync_limit: int = DEFAULT_SYNC_LIMIT,
        sealer: PayloadSealer | None = None,
    ) -> None:
        self.catalog = catalog
        # JWT and JWE payloads (docs/api.md, "Payload types"); JSON targets pass through.
        self.sealer = sealer or PayloadSealer()
        self.transport = transport
        self.calllog = calllog
        self.policy = policy
        self.outbox = outbox
        self.sync_limit = sync_limit
        self._slots: dict[str, asyncio.Semaphore] = {}  # target id -> its synchronous calls

    def base_payload(self, ctx: CallContext) -> dict[str, Any]:
        return {
            "fullMethod": ctx.full_method,
            "instanceID": ctx.caller.instance_id,
            "orgID": ctx.caller.org_id,
            "projectID": "",
            "userID": ctx.subject_user_id,
            "caller": {"userID": ctx.caller.user_id, "orgID": ctx.caller.org_id},
        }

    async def run_request(
        self,
        ctx: CallContext,
        message: dict[str, Any],
        check: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> dict[str, Any] | None:
        """The request as the targets left it, or None if no target changed it.

        ``check`` takes a message and returns it as the next target and the handler
        see it, or raises; it runs before the first target and after each target's
        change: so no target sees a message Keyhook would refuse, not even one an
        earlier target wrote."""
        targets = (await self.catalog.current()).for_method("request", ctx.full_method)
        if not targets:
            return None
        if check is not None:
            message = check(message)
        return await self._chain(
            ctx, "request", targets, message, lambda current: {"request": redact(current)}, check
        )

    async def enqueue_deferred(self, ctx: CallContext) -> None:
        """Queue the request's restAsync calls; the call they belong to has succeeded."""
        for target, payload in ctx.deferred:
            await self.outbox.enqueue_call(
                target, payload, "request", ctx.full_method, ctx.caller.instance_id
            )

    async def run_response(
        self, ctx: CallContext, request: dict[str, Any], response: dict[str, Any]
    ) -> dict[str, Any] | None:
        targets = (await self.catalog.current()).for_method("response", ctx.full_method)
        if not targets:
            return None
        shown_request = redact(request)
        return await self._chain(
            ctx,
            "response",
            targets,
            response,
            lambda current: {"request": shown_request, "response": redact(current)},
        )

    async def _chain(
        self,
        ctx: CallContext,
        member: Kind,
        targets: list[Target],
        message: dict[str, Any],
        body_of: Callable[[dict[str, Any]], dict[str, Any]],
        check: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> dict[str, Any] | None:
        current: dict[str, Any] | None = None
        for target in targets:
            payload = {**self.base_payload(ctx), **body_of(current or message)}
            if target.type is TargetType.REST_ASYNC:
                # Durable: the call goes through the delivery queue, never awaited here. A
                # request's async calls wait until the call has succeeded, so none is sent
                # for a request that a later target or the handler refused.
                if member == "request":
                    ctx.deferred.append((target, payload))
                else:
                    await self.outbox.enqueue_call(
                        target, payload, member, ctx.full_method, ctx.caller.instance_id
                    )
                continue
            outcome = await self.call(
                target, payload, member, ctx.full_method, ctx.caller.instance_id, ctx.trace
            )
            if not outcome.ok:
                if target.interrupt_on_error:
                    raise TargetError(
                        outcome.error or "target failed",
                        status=outcome.caller_status,
                        target_id=target.id,
                    )
                continue
            changed = modified_message(outcome, member, target.type)
            if changed is not None:
                current = restore_secrets(current or message, changed)
                if check is not None:
                    current = check(current)
        return current

    async def call(
        self,
        target: Target,
        payload: dict[str, Any],
        kind: str,
        trigger: str,
        instance_id: str,
        trace: str | None = None,
        msg_id: str | None = None,
    ) -> Outcome:
        """One signed call to ``target``, recorded in the call log."""
        started = time.perf_counter()
        msg_id = msg_id or f"msg_{self.calllog.ids.new()}"
        body = encode_body(payload)  # once: it is sent and, its start, recorded
        refusal = self.policy.refusal(target.endpoint)
        if refusal is not None:
            outcome = Outcome(
                False,
                None,
                None,
                f"target {target.name!r} is refused by the network policy: {refusal}",
                502,
            )
        else:
            outcome = await self._send_in_slot(target, body, msg_id, trace)
        if not outcome.ok:
            # One line per failed call, for operators (docs/operations.md, "Logs"): ids,
            # names and the outcome, never the payload, the endpoint or a header.
            log.warning(
                "target %s %r kind=%s trigger=%s call=%s: %s%s",
                target.id,
                target.name,
                kind,
                trigger,
                msg_id,
                loggable(outcome.error or "failed"),
                "" if target.interrupt_on_error else " (interruptOnError is off: the call goes on)",
            )
        self.calllog.record(
            CallRecord(
                id=self.calllog.ids.new(),
                instance_id=instance_id,
                target_id=target.id,
                kind=kind,
                trigger=trigger,
                status_code=outcome.status_code,
                duration_ms=(time.perf_counter() - started) * 1000,
                error=outcome.error,
                created_at=now(),
                # What the target got (the payload is without secrets already) and
                # answered, and what the caller was told if the target stopped the call.
                request_body=_head_of(body),
                response_body=None
                if outcome.body is None
                else _head_of(orjson.dumps(outcome.body)),
                caller_status=None
                if outcome.ok or not target.interrupt_on_error
                else outcome.caller_status,
            )
        )
        return outcome

    async def _send_in_slot(
        self, target: Target, body: bytes, msg_id: str, trace: str | None
    ) -> Outcome:
        slots = self._slots.get(target.id)
        if slots is None:
            slots = self._slots[target.id] = asyncio.Semaphore(self.sync_limit)
        wait = min(SLOT_WAIT, target.timeout)
        try:
            if slots.locked():  # full: wait, boundedly (wait_for's task only when needed)
                await asyncio.wait_for(slots.acquire(), wait)
            else:
                await slots.acquire()  # free: returns at once
        except TimeoutError:
            return Outcome(
                False,
                None,
                None,
                f"target {target.name!r} is busy: it already has {self.sync_limit} calls in "
                f"flight, the most allowed (KEYHOOK_ACTIONS_TARGET_SYNC_CONCURRENCY), and none "
                f"ended within {wait:g}s",
                503,
            )
        try:
            return await self._send(target, body, msg_id, trace)
        finally:
            slots.release()

    async def _send(self, target: Target, body: bytes, msg_id: str, trace: str | None) -> Outcome:
        sent = body
        if target.payload_type is not PayloadType.JSON:  # JSON targets: nothing per call
            try:
                sent = await self.sealer.body(target, body)
            except PayloadError as failure:
                return Outcome(False, None, None, failure.message, 502)
        try:
            request = signed_request(target, sent, msg_id, trace)
            return from_answer(target.name, await self.transport.send(request))
        except TransportError as failure:
            return from_failure(target.name, failure)
        except Exception:  # whatever a target or its settings do, it is the target's error
            log.exception("calling target %s (%s) failed unexpectedly", target.id, target.name)
            return Outcome(False, None, None, f"target {target.name!r}: the call failed", 502)


def _head_of(encoded: bytes) -> str:
    """The start of a JSON body, for the call record."""
    text = encoded[: CALL_BODY_CHARS * 4].decode("utf-8", errors="replace")
    return text if len(text) <= CALL_BODY_CHARS else text[:CALL_BODY_CHARS] + "…"


@dataclass(frozen=True)
class FunctionContext:
    """Who a token is being made for, and the claims it has so far."""

    instance_id: str
    org_id: str
    user_id: str
    client_id: str
    scopes: tuple[str, ...]
    user: dict[str, Any]
    user_metadata: list[dict[str, str]]
    claims: dict[str, Any]
    # ZITADEL's members, for receivers written for its function calls.
    userinfo: dict[str, Any] = field(default_factory=dict)
    zitadel_metadata: list[dict[str, str]] = field(default_factory=list)
    org: dict[str, str] = field(default_factory=dict)


def function_payload(name: str, ctx: FunctionContext, claims: dict[str, Any]) -> dict[str, Any]:
    """What a target of the function execution ``name`` receives (also for a test)."""
    return {
        "function": name,
        "instanceID": ctx.instance_id,
        "orgID": ctx.org_id,
        "userID": ctx.user_id,
        "clientID": ctx.client_id,
        "scopes": list(ctx.scopes),
        "user": redact(ctx.user),
        "userMetadata": ctx.user_metadata,
        "claims": claims,
        "userinfo": ctx.userinfo,
        "user_metadata": ctx.zitadel_metadata,
        "org": ctx.org,
    }


async def run_function(
    engine: ActionsEngine,
    name: str,
    ctx: FunctionContext,
    deferred: list[tuple[Target, dict[str, Any]]] | None = None,
) -> Complement:
    """Call the targets of the function execution ``name`` in order (DESIGN.md §3.4).

    Each target sees the claims as the previous ones left them. A failing target with
    ``interruptOnError`` raises :class:`TargetError` (the token is not issued); without
    it the target is skipped and the token goes on unchanged by it. ``restAsync``
    targets go to ``deferred`` when given (the caller queues them once the token is
    issued, so none is sent for a refused token), else straight to the outbox.
    """
    complement = Complement()
    for target in (await engine.catalog.current()).for_function(name):
        payload = function_payload(name, ctx, {**ctx.claims, **complement.claims})
        if target.type is TargetType.REST_ASYNC:
            if deferred is not None:
                deferred.append((target, payload))
            else:
                await engine.outbox.enqueue_call(target, payload, "function", name, ctx.instance_id)
            continue
        outcome = await engine.call(target, payload, "function", name, ctx.instance_id)
        if not outcome.ok:
            if target.interrupt_on_error:
                raise TargetError(
                    outcome.error or "target failed",
                    status=outcome.caller_status,
                    target_id=target.id,
                )
            continue
        complement.absorb(target.name, outcome.body)
    return complement
