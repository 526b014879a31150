"""HTTP/1.1 on one connection, and the keep-alive pool of connections.

``Connection`` is an asyncio protocol that carries one request at a time and
parses the answer with httptools (llhttp) as its bytes arrive: the status and
headers, then body pieces buffered for the reader, with the socket no longer
read while too much body waits unread. Interim (1xx) answers are skipped, the
head is capped, and whatever leaves the connection out of step with its
requests (an error, bytes nobody asked for, ``Connection: close``, an answer
not read to its end) makes it unusable for another request.

``Pool`` keeps idle connections per (scheme, host, port), hands out the most
recently used first, drops idle ones after a while, and bounds how many are in
use at once. Neither knows about URLs, the network policy, decompression or the
caps on an answer's body (httpclient.py does); they touch only the sockets
they were given.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable, Iterator, Mapping
from typing import cast

import httptools

# (scheme, host, port): connections are shared only between calls to the same origin.
PoolKey = tuple[str, str, int]

HEAD_LIMIT = 64 * 1024  # status line and headers of one answer, interim answers included
# Unread body bytes held before the socket stops being read (a receiver faster than us
# cannot make us buffer its whole body).
_BUFFER_HIGH = 256 * 1024
_BUFFER_LOW = 64 * 1024
# Idle connections older than this are closed rather than reused: under the 5 s for
# which uvicorn and Node keep an idle connection open, so the receiver's close seldom
# races our next request (the one resend on a stale connection covers the rest).
IDLE_SECONDS = 4.0


class ConnectionLost(Exception):
    """The connection ended before the answer did."""

    def __init__(self, message: str, *, answered_nothing: bool) -> None:
        super().__init__(message)
        # Not one byte of the answer arrived: on a reused connection, the receiver
        # had most likely closed it while idle, so the request is worth one more try.
        self.answered_nothing = answered_nothing


class AnswerUnreadable(Exception):
    """The receiver's bytes are not an HTTP/1.1 answer Keyhook reads."""


class ResponseHeaders(Mapping[str, str]):
    """An answer's headers: found by name in any case, shown as the receiver wrote them.

    A repeated header keeps its first value, as ``dict()`` of aiohttp's headers did.
    Bytes are read as Latin-1, which never fails (RFC 9110 leaves non-ASCII opaque).
    """

    __slots__ = ("_by_name",)

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        by_name: dict[str, tuple[str, str]] = {}
        for name, value in raw:
            text = name.decode("latin-1")
            by_name.setdefault(text.lower(), (text, value.decode("latin-1")))
        self._by_name = by_name

    def __getitem__(self, name: str) -> str:
        return self._by_name[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_name

    def __iter__(self) -> Iterator[str]:
        return (shown for shown, _ in self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def __repr__(self) -> str:
        return f"ResponseHeaders({dict(self)!r})"


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: ``send`` a request, ``read_head``, then ``next_chunk``."""

    def __init__(self, key: PoolKey) -> None:
        self.key = key
        self.closed = False
        self.reused = False  # handed out from the pool's idle connections
        self.idle_since = 0.0
        self.on_lost: Callable[[Connection], None] | None = None
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self._busy = False  # a request was sent and its answer is not yet finished with
        self._start_answer()

    def _start_answer(self) -> None:
        self.status = 0
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.complete = False  # the whole answer arrived (llhttp's message complete)
        self.keep_alive = False
        self._framed = False  # Content-Length or chunked: the body's end is announced
        self._interim = False
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._paused = False
        self._received = 0
        self._head_fed = 0
        self._fed_since_body = 0
        self._head_bytes = 0
        self._head_problem: str | None = None
        self._error: Exception | None = None

    # --- what the client calls ----------------------------------------------------------

    @property
    def reusable(self) -> bool:
        """May another request go on this connection? Only after a whole, clean answer."""
        return self.complete and self.keep_alive and self._error is None and not self.closed

    def send(self, data: bytes) -> None:
        if self.closed or self._transport is None or self._transport.is_closing():
            # Never write to a connection known to be closed.
            raise ConnectionLost("the connection was closed", answered_nothing=True)
        self._start_answer()
        self._busy = True
        self._transport.write(data)

    async def read_head(self) -> None:
        """Wait for the final answer's status and headers (``status``, ``raw_headers``)."""
        while not self.head_done:
            if self._error is not None:
                raise self._error
            await self._wait()

    async def next_chunk(self) -> bytes:
        """The next piece of the body as it came, ``b""`` once the body ended."""
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._paused and self._buffered <= _BUFFER_LOW:
                    self._paused = False
                    if self._transport is not None and not self.closed:
                        self._transport.resume_reading()
                return chunk
            if self.complete:
                return b""
            if self._error is not None:
                raise self._error
            await self._wait()

    def finished(self) -> None:
        """The caller is done with the answer; the connection is idle (or useless)."""
        self._busy = False
        self._chunks.clear()
        self._buffered = 0
        if not self.reusable:
            self.close()
        elif self._paused and self._transport is not None:
            self._paused = False  # the next answer must be read
            self._transport.resume_reading()

    def close(self) -> None:
        """Drop the connection at once: nothing unsent is flushed, nothing unread drained."""
        self.closed = True
        if self._transport is not None:
            self._transport.abort()

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: Exception) -> None:
        if self._error is None:
            self._error = error
        self.keep_alive = False
        self.close()
        self._wake()

    # --- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if not self._busy or self.complete:
            # Bytes nobody asked for (while idle, or after the whole answer): the
            # connection is out of step with its requests and must not be reused.
            self.keep_alive = False
            if not self._busy:
                self.close()
            return
        self._received += len(data)
        if not self.head_done:
            if self._head_fed > HEAD_LIMIT:  # bounded before llhttp buffers a huge header
                self._fail(AnswerUnreadable(f"the answer's head exceeds {HEAD_LIMIT} bytes"))
                return
            self._head_fed += len(data)
        else:
            # Between body pieces only framing arrives (chunk sizes, extensions, trailers):
            # bounded as the head is, or endless trailers would be buffered for ever.
            if self._fed_since_body > HEAD_LIMIT:
                self._fail(AnswerUnreadable(f"the answer's framing exceeds {HEAD_LIMIT} bytes"))
                return
            self._fed_since_body += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(AnswerUnreadable("the answer switches protocols, which was not asked for"))
            return
        except httptools.HttpParserError as exc:
            self._fail(AnswerUnreadable(str(exc) or type(exc).__name__))
            return
        if self._head_problem is not None:
            self._fail(AnswerUnreadable(self._head_problem))

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost says what the end means

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._busy and not self.complete and self._error is None:
            if self.head_done and not self._framed:
                # A body without Content-Length or chunking ends with the connection.
                self.complete = True
                self.keep_alive = False
            else:
                reason = f": {exc}" if exc is not None else ""
                self._error = ConnectionLost(
                    "the receiver closed the connection before its answer ended" + reason,
                    answered_nothing=self._received == 0,
                )
        self._wake()
        if self.on_lost is not None:
            self.on_lost(self)

    # --- httptools callbacks ------------------------------------------------------------

    # Once the answer is complete, whatever follows in the same bytes (a second answer
    # to one request) is ignored, and the connection is out of step: not reused.

    def on_message_begin(self) -> None:
        if self.complete:
            self.keep_alive = False

    def on_status(self, status: bytes) -> None:
        self._head_bytes += len(status) + 15

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.complete or self.head_done:
            return  # trailers are not kept (and are bounded in data_received)
        self._head_bytes += len(name) + len(value) + 4
        self.raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.complete:
            return
        if self._head_bytes > HEAD_LIMIT:
            self._head_problem = f"the answer's head exceeds {HEAD_LIMIT} bytes"
            return
        status = self._parser.get_status_code()
        if status == 101:
            return  # feed_data raises HttpParserUpgrade next
        if 100 <= status < 200:  # 100 Continue, 103 Early Hints: the real answer follows
            self._interim = True
            self.raw_headers = []
            return
        self.status = status
        self.head_done = True
        for name, value in self.raw_headers:
            lowered = name.lower()
            if lowered == b"content-length" or (
                lowered == b"transfer-encoding" and value.lower().rstrip().endswith(b"chunked")
            ):
                self._framed = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.complete or self._head_problem is not None:
            return
        self._fed_since_body = 0
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _BUFFER_HIGH and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if self.complete or self._head_problem is not None:
            return
        self.complete = True
        self.keep_alive = self._parser.should_keep_alive()
        self._wake()


class Pool:
    """Idle connections per origin, reused last-in first-out, and a bound on those in use.

    ``limit`` counts connections in use (0: no bound), as aiohttp's connector did; a
    call beyond it waits its turn, within its own timeout.
    """

    def __init__(self, limit: int, idle_seconds: float = IDLE_SECONDS) -> None:
        self._idle: dict[PoolKey, list[Connection]] = {}
        self._open: set[Connection] = set()
        self._slots = asyncio.Semaphore(limit) if limit > 0 else None
        self._idle_seconds = idle_seconds
        self._sweep: asyncio.TimerHandle | None = None

    @property
    def bounded(self) -> bool:
        return self._slots is not None

    async def acquire(self) -> None:
        if self._slots is not None:
            await self._slots.acquire()

    def release(self) -> None:
        if self._slots is not None:
            self._slots.release()

    def take(self, key: PoolKey) -> Connection | None:
        """The most recently used idle connection to ``key`` still usable, if any."""
        idle = self._idle.get(key)
        if not idle:
            return None
        oldest = time.monotonic() - self._idle_seconds
        while idle:
            conn = idle.pop()
            if conn.closed or conn.idle_since < oldest:
                conn.close()
                continue
            conn.reused = True
            return conn
        return None

    def adopt(self, conn: Connection) -> None:
        """A new connection: it is closed with the pool, and forgotten when it ends."""
        self._open.add(conn)
        conn.on_lost = self._forget

    def put_back(self, conn: Connection) -> None:
        """The caller is done with ``conn``: idle for the next call, or dropped."""
        conn.finished()
        if conn.closed:
            return
        conn.idle_since = time.monotonic()
        self._idle.setdefault(conn.key, []).append(conn)
        if self._sweep is None:
            loop = asyncio.get_running_loop()
            self._sweep = loop.call_later(self._idle_seconds, self._close_expired)

    def _forget(self, conn: Connection) -> None:
        self._open.discard(conn)
        idle = self._idle.get(conn.key)
        if idle is not None and conn in idle:
            idle.remove(conn)
            if not idle:
                del self._idle[conn.key]

    def _close_expired(self) -> None:
        self._sweep = None
        oldest = time.monotonic() - self._idle_seconds
        for key, idle in list(self._idle.items()):
            expired = [conn for conn in idle if conn.idle_since < oldest]
            for conn in expired:
                idle.remove(conn)
                conn.close()
            if not idle:
                del self._idle[key]
        if self._idle:
            loop = asyncio.get_running_loop()
            self._sweep = loop.call_later(self._idle_seconds, self._close_expired)

    def close(self) -> None:
        """Close every connection, idle or in use; the pool stays usable afterwards."""
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        self._idle.clear()
        for conn in list(self._open):
            conn.close()
        self._open.clear()
