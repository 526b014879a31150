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
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from keyhook.config import HttpServerSettings
from keyhook.domain.durations import parse_duration
from keyhook.errors import field_error

_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


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
        super().connection_made(transport)
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
