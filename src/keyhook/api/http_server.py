"""The HTTP server's limits: a deadline for the request head, uvicorn's other limits.

uvicorn has no header-read timeout: a client that opens a connection and sends
its head one byte at a time (or nothing at all) holds the connection for as long
as it likes, and enough of them exhaust the server (slowloris). The protocol
class here arms a timer when a connection opens and when a new request on a
kept-alive connection begins, and cancels it when the head is complete; if it
fires first the client gets ``408 Request Timeout`` (when it had sent part of a
head) and the connection is closed. Bodies and answers are not limited by it.

The concurrency cap counts requests being handled, not connections: uvicorn's
own ``limit_concurrency`` counts every open connection, so a few idle sockets
would make it refuse every request, health checks included; here they cost a
file descriptor until their head deadline closes them.

uvicorn writes an answer's head and its body separately: two ``send`` calls, and
two wake-ups of the client, for every answer. :class:`CorkedTransport` holds
what is written until the end of the event loop's turn and sends it in one
write (measured in docs/performance.md: the writes were a tenth of an
introspection's server time). Closing or aborting flushes first, so nothing
written is lost or reordered.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from keyhook.config import HttpServerSettings
from keyhook.domain.durations import parse_duration
from keyhook.errors import field_error

_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


CORK_LIMIT = 64 * 1024  # more than this pending is written at once


class CorkedTransport:
    """A transport whose writes within one turn of the event loop go out as one."""

    __slots__ = ("_flush_handle", "_held", "_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._held = 0  # bytes pending
        self._flush_handle: asyncio.Handle | None = None

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._flush_handle = self._loop.call_soon(self._flush)
        self._pending.append(data)
        self._held += len(data)
        if self._held > CORK_LIMIT:  # a large body: out now, under the transport's flow control
            self._flush()

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._pending:
            data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
            self._pending.clear()
            self._held = 0
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._held = 0
        self._transport.abort()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # every other method: the transport's own
        return getattr(self._transport, name)


class HeadTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request head."""

    head_timeout = 10.0
    keep_alive_timeout = 5.0
    max_requests: int | None = None  # requests handled at once, over all connections

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout_keep_alive = self.keep_alive_timeout  # type: ignore[assignment]
        self.limit_concurrency = None  # uvicorn's check counts connections: ours is below
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_begun = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        corked: Any = CorkedTransport(transport, self.loop)
        super().connection_made(corked)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_begun = True
        if self._head_timer is None:  # a later request on a kept-alive connection
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        self._head_begun = False
        if self.max_requests is not None and len(self.tasks) >= self.max_requests:
            # uvicorn answers 503 when its limit is reached; a limit of 0 is reached by
            # this one request, and only by it.
            self.limit_concurrency = 0
            try:
                super().on_headers_complete()
            finally:
                self.limit_concurrency = None
            return
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head behind a request still being answered: its deadline
            # starts once that answer is out, never cutting the answer off.
            self._arm()
            return
        if self._head_begun:
            self.transport.write(_TIMED_OUT)
        self.transport.close()


def protocol_class(limits: HttpServerSettings) -> type[HeadTimeoutProtocol]:
    """The protocol class with the configured deadlines (uvicorn instantiates it)."""
    return type(
        "KeyhookHttpProtocol",
        (HeadTimeoutProtocol,),
        {
            "head_timeout": _positive(limits.header_timeout, "KEYHOOK_HTTP_HEADER_TIMEOUT"),
            "keep_alive_timeout": _positive(
                limits.keep_alive_timeout, "KEYHOOK_HTTP_KEEP_ALIVE_TIMEOUT"
            ),
            "max_requests": limits.max_concurrency,
        },
    )


def _positive(value: str, name: str) -> float:
    seconds = parse_duration(value, name)
    if seconds <= 0:
        raise field_error(name, f"{value!r} is not above 0s", 'a duration such as "10s"')
    return seconds


def server_options(limits: HttpServerSettings) -> dict[str, Any]:
    """The keyword arguments of :class:`uvicorn.Config` that set the server's limits."""
    return {
        "http": protocol_class(limits),
        "proxy_headers": True,
        "forwarded_allow_ips": limits.forwarded_allow_ips,
    }
