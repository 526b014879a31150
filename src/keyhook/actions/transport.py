"""The outbound boundary: one small interface, and a function-backed double for
unit tests of edge cases. No I/O here.

The implementation is ``Http11Transport`` (httpclient.py). Its rule, and any
transport's: a receiver is untrusted, so the answer is read with a cap on its
size *after* decompression (a 400 KB gzip could inflate to 400 MiB), only
``gzip`` and ``deflate`` are offered and accepted, and any failure at all, ours
included, comes out as a :class:`TransportError`, never as another exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

FailureKind = Literal["timeout", "connect", "too_large", "policy", "protocol", "internal"]
# What a receiver may compress its answer with; the request says so (Accept-Encoding).
ACCEPTED_ENCODINGS = "gzip, deflate"


@dataclass(frozen=True)
class OutboundRequest:
    url: str
    body: bytes
    headers: Mapping[str, str]
    timeout: float
    # None: the whole answer is needed (a sync call), and one over the cap is an error.
    # A number: only that many leading bytes are kept and the rest is never read (a
    # delivery, whose answer is recorded but not used).
    keep: int | None = None


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class TransportError(Exception):
    """A call that got no usable answer; ``kind`` says why."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class Transport(Protocol):
    async def send(self, request: OutboundRequest) -> OutboundResponse: ...

    def headers_sent(self, request: OutboundRequest) -> list[tuple[str, str]]:
        """The header lines ``send`` writes (or wrote) for ``request``, in order: the
        request's own and those the transport adds (``Host``, ``Content-Length``, …)."""
        ...

    async def close(self) -> None: ...


Handler = Callable[[OutboundRequest], Awaitable[OutboundResponse]]


class MockTransport:
    """A transport whose answers come from a function (unit tests of edge cases only)."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.requests: list[OutboundRequest] = []

    async def send(self, request: OutboundRequest) -> OutboundResponse:
        self.requests.append(request)
        try:
            return await asyncio.wait_for(self._handler(request), request.timeout)
        except TimeoutError as exc:
            raise TransportError("timeout", f"no answer within {request.timeout:g}s") from exc

    def headers_sent(self, request: OutboundRequest) -> list[tuple[str, str]]:
        return list(request.headers.items())

    async def close(self) -> None:
        return None
