"""Relay targets: their calls go over a WebSocket to the ``keyhook listen`` attached.

A relay target (endpoint ``relay:``) is called exactly as an HTTP target of its
type: the engine and the delivery worker build the same signed request
(wire.py) and hand it to :class:`RelayTransport`, which passes every other
request to the HTTP transport untouched. Here the request becomes a *call
frame* on the listener's socket, and the listener's *answer frame* becomes the
:class:`OutboundResponse` the HTTP transport would have returned, under the
same rules: the answer is capped (``too_large``), a delivery keeps only the
start of it, the target's timeout runs from the moment the frame is handed to
the socket, and no listener is a ``connect`` failure, as an endpoint that
refuses connections would be.

One listener per target, refused otherwise (docs/cli.md, "listen"): a second
developer attaching to the same target would silently take half the calls.

The hub is per process; the socket lives in ``keyhook.api.relay_ws``. When the
listener is attached to another node (PostgreSQL), :class:`RelayHub.peers`
carries the call there (``keyhook.actions.relay_peers``).

Frames are JSON text (bodies base64): ``{"type":"call","id","headers":[[name,
value],…],"body","timeout","cap"|"keep"}`` from Keyhook, ``{"type":"answer",
"id","status","headers","body"}`` or ``{"type":"failure","id","kind",
"message"}`` from the listener.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from keyhook.actions.transport import (
    FailureKind,
    OutboundRequest,
    OutboundResponse,
    Transport,
    TransportError,
)
from keyhook.domain.target import RELAY_ENDPOINT

NOT_ATTACHED = (
    "no `keyhook listen` is attached to this relay target "
    "(start `keyhook listen --target <name> --forward-to <url>`)"
)
_KINDS: frozenset[str] = frozenset(
    {"timeout", "connect", "too_large", "policy", "protocol", "internal"}
)

SendFrame = Callable[[bytes], Awaitable[None]]


class Peers(Protocol):
    """Listeners attached to other nodes (cross-node relay)."""

    async def call(self, target_id: str, request: OutboundRequest) -> OutboundResponse | None:
        """The answer of the listener on another node, or None if none is attached."""
        ...

    async def claim(self, target_id: str) -> bool:
        """Record that the target's listener is on this node; False if another has it."""
        ...

    async def release(self, target_id: str) -> None: ...


@dataclass(eq=False)
class Attached:
    """One listener's socket, as the hub sees it."""

    target_id: str
    send: SendFrame
    pending: set[str] = field(default_factory=set)


def call_frame(call_id: str, request: OutboundRequest, cap: int) -> bytes:
    frame: dict[str, Any] = {
        "type": "call",
        "id": call_id,
        "headers": list(request.headers.items()),
        "body": base64.b64encode(request.body).decode(),
        "timeout": request.timeout,
    }
    if request.keep is None:
        frame["cap"] = cap
    else:
        frame["keep"] = request.keep
    return orjson.dumps(frame)


def read_answer(frame: dict[str, Any], cap: int, keep: int | None) -> OutboundResponse:
    """The listener's answer frame as the HTTP transport would have returned it, or the
    :class:`TransportError` it amounts to."""
    if frame.get("type") == "failure":
        kind = frame.get("kind")
        message = frame.get("message")
        raise TransportError(
            kind if isinstance(kind, str) and kind in _KINDS else "protocol",  # type: ignore[arg-type]
            # The CLI words it as the HTTP transport would ("answer exceeds …").
            message[:500] if isinstance(message, str) else "the listener failed",
        )
    status, headers, body = frame.get("status"), frame.get("headers"), frame.get("body")
    if (
        not isinstance(status, int)
        or not 100 <= status <= 599
        or not isinstance(headers, list)
        or not isinstance(body, str)
    ):
        raise TransportError("protocol", "unreadable answer from the listener")
    try:
        data = base64.b64decode(body, validate=True)
        lines = {str(name): str(value) for name, value in headers}
    except ValueError as exc:
        raise TransportError("protocol", f"unreadable answer from the listener: {exc}") from None
    if keep is not None:
        return OutboundResponse(status, data[:keep], lines)
    if len(data) > cap:
        raise TransportError("too_large", f"answer exceeds {cap} bytes")
    return OutboundResponse(status, data, lines)


class RelayHub:
    """The listeners attached to this process, and the calls waiting for their answers."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.peers: Peers | None = None
        self._attached: dict[str, Attached] = {}
        self._waiting: dict[str, tuple[asyncio.Future[OutboundResponse], int | None]] = {}
        self._ids = itertools.count(1)

    def attach(self, target_id: str, send: SendFrame) -> Attached | None:
        """The listener attached, or None if the target has one on this node already."""
        if target_id in self._attached:
            return None
        attached = self._attached[target_id] = Attached(target_id, send)
        return attached

    def detach(self, attached: Attached) -> None:
        """The socket closed: its calls fail as a dropped connection would."""
        if self._attached.get(attached.target_id) is attached:
            del self._attached[attached.target_id]
        for call_id in list(attached.pending):
            self._fail(call_id, "connect", "the listener disconnected before it answered")

    def is_attached(self, target_id: str) -> bool:
        return target_id in self._attached

    def attached(self, target_id: str) -> Attached | None:
        return self._attached.get(target_id)

    async def claim(self, target_id: str) -> bool:
        """Whether no other node has a listener of the target (and now knows this has)."""
        return True if self.peers is None else await self.peers.claim(target_id)

    async def release(self, target_id: str) -> None:
        if self.peers is not None:
            await self.peers.release(target_id)

    def answered(self, attached: Attached, frame: dict[str, Any]) -> None:
        call_id = frame.get("id")
        if not isinstance(call_id, str) or call_id not in attached.pending:
            return  # late (the call timed out) or not ours: nobody waits for it
        attached.pending.discard(call_id)
        future, keep = self._waiting.pop(call_id)
        if future.done():
            return
        try:
            future.set_result(read_answer(frame, self.cap, keep))
        except TransportError as failure:
            future.set_exception(failure)

    def _fail(self, call_id: str, kind: FailureKind, message: str) -> None:
        waiting = self._waiting.pop(call_id, None)
        if waiting is not None and not waiting[0].done():
            waiting[0].set_exception(TransportError(kind, message))

    async def call(self, target_id: str, request: OutboundRequest) -> OutboundResponse:
        attached = self._attached.get(target_id)
        if attached is None:
            if self.peers is not None:
                answer = await self.peers.call(target_id, request)
                if answer is not None:
                    return answer
            raise TransportError("connect", NOT_ATTACHED)
        return await self.call_attached(attached, request)

    async def call_attached(self, attached: Attached, request: OutboundRequest) -> OutboundResponse:
        call_id = str(next(self._ids))
        future: asyncio.Future[OutboundResponse] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = (future, request.keep)
        attached.pending.add(call_id)
        try:
            async with asyncio.timeout(request.timeout):
                await attached.send(call_frame(call_id, request, self.cap))
                return await future
        except TimeoutError as exc:
            raise TransportError("timeout", f"no answer within {request.timeout:g}s") from exc
        except TransportError:
            raise
        except Exception as exc:  # the socket broke while sending: a dropped connection
            raise TransportError("connect", f"call failed: the listener's socket: {exc}") from exc
        finally:
            attached.pending.discard(call_id)
            self._waiting.pop(call_id, None)


class RelayTransport:
    """The HTTP transport, with relay targets' requests handed to the hub instead."""

    def __init__(self, inner: Transport, hub: RelayHub) -> None:
        self.inner = inner
        self.hub = hub

    async def send(self, request: OutboundRequest) -> OutboundResponse:
        if request.url.startswith(RELAY_ENDPOINT):
            return await self.hub.call(request.url[len(RELAY_ENDPOINT) :], request)
        return await self.inner.send(request)

    def headers_sent(self, request: OutboundRequest) -> list[tuple[str, str]]:
        if request.url.startswith(RELAY_ENDPOINT):
            return list(request.headers.items())
        return self.inner.headers_sent(request)

    async def close(self) -> None:
        await self.inner.close()
