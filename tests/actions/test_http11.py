"""The HTTP/1.1 client's connections against servers on 127.0.0.1 that say exactly what
a test needs: keep-alive reuse, stale connections, ``Connection: close``, chunked,
close-delimited and endless bodies, interim answers, oversized heads, TLS."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from keyhook.actions.http11 import Connection
from keyhook.actions.httpclient import Http11Transport, _origin, _request_bytes
from keyhook.actions.transport import OutboundRequest, TransportError
from keyhook.domain.netpolicy import NetworkPolicy
from tests.support.tls import self_signed as self_signed_files

DEV = NetworkPolicy(dev=True)
CAP = 64 * 1024
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    """One request off the connection (raises IncompleteReadError at its end)."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return lines[0], headers, body


@dataclass
class RawServer:
    """Runs ``handler(reader, writer, connection number)`` for each connection."""

    handler: Handler
    connections: int = 0
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    port: int = 0
    closed_by_peer: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _open: set[asyncio.StreamWriter] = field(default_factory=set)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._open.add(writer)
        try:
            await self.handler(reader, writer, self.connections)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed_by_peer.set()
        finally:
            self._open.discard(writer)
            writer.close()

    async def request(self, reader: asyncio.StreamReader) -> None:
        self.requests.append(await read_request(reader))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._open):
            writer.transport.abort()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)


@pytest.fixture
async def client() -> AsyncIterator[Http11Transport]:
    transport = Http11Transport(DEV, max_response_bytes=CAP)
    yield transport
    await transport.close()


def post(
    url: str, keep: int | None = None, timeout: float = 5.0, headers: dict[str, str] | None = None
) -> OutboundRequest:
    return OutboundRequest(url, b'{"n":1}', headers or {}, timeout=timeout, keep=keep)


# --- keep-alive ---------------------------------------------------------------------


async def test_many_calls_share_one_connection(client: Http11Transport) -> None:
    peers: set[object] = set()

    async def hook(request: web.Request) -> web.Response:
        peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        for _ in range(25):
            assert (await client.send(post(f"http://127.0.0.1:{port}/hook"))).status == 200
    finally:
        await runner.cleanup()
    assert len(peers) == 1


async def test_a_stale_idle_connection_is_retried_once_on_a_fresh_one(
    client: Http11Transport,
) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        await server.request(reader)
        writer.write(OK)  # kept alive ...
        await writer.drain()
        await server.request(reader)  # ... but the next request finds it closed
        writer.transport.abort()

    async with RawServer(handler) as server:
        assert (await client.send(post(server.url))).body == b"ok"
        assert (await client.send(post(server.url))).body == b"ok"
    assert server.connections == 2
    assert len(server.requests) == 3  # the second call's request went out twice


async def test_a_fresh_connection_closed_without_an_answer_is_not_retried(
    client: Http11Transport,
) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        await server.request(reader)
        writer.transport.abort()

    async with RawServer(handler) as server:
        with pytest.raises(TransportError) as caught:
            await client.send(post(server.url))
    assert caught.value.kind == "connect"
    assert "closed the connection" in caught.value.message
    assert len(server.requests) == 1


async def test_a_reused_connection_cut_off_mid_answer_is_not_retried(
    client: Http11Transport,
) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        await server.request(reader)
        writer.write(OK)
        await server.request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()
        writer.transport.abort()

    async with RawServer(handler) as server:
        await client.send(post(server.url))
        with pytest.raises(TransportError) as caught:
            await client.send(post(server.url))
        # For a delivery the status is the answer: what arrived is kept.
        await client.send(post(server.url))
        kept = await client.send(post(server.url, keep=100))
    assert caught.value.kind == "connect"
    assert len(server.requests) == 4
    assert (kept.status, kept.body) == (200, b"abc")


async def test_an_answer_saying_connection_close_is_not_reused(client: Http11Transport) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        while True:  # the server would go on, but said it would not
            await server.request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")

    async with RawServer(handler) as server:
        for _ in range(3):
            assert (await client.send(post(server.url))).body == b"ok"
    assert server.connections == 3


async def test_an_idle_connection_the_server_closed_is_not_used(client: Http11Transport) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        await server.request(reader)
        writer.write(OK)
        await writer.drain()
        # closing soon after: the client sees it before its next call

    async with RawServer(handler) as server:
        await client.send(post(server.url))
        await asyncio.sleep(0.1)
        assert (await client.send(post(server.url))).body == b"ok"
    assert (server.connections, len(server.requests)) == (2, 2)


async def test_the_limit_bounds_the_calls_in_flight() -> None:
    in_flight = 0
    most = 0

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        nonlocal in_flight, most
        while True:
            await server.request(reader)
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.05)
            in_flight -= 1
            writer.write(OK)

    transport = Http11Transport(DEV, max_response_bytes=CAP, limit=2)
    try:
        async with RawServer(handler) as server:
            answers = await asyncio.gather(*(transport.send(post(server.url)) for _ in range(8)))
    finally:
        await transport.close()
    assert [a.status for a in answers] == [200] * 8
    assert most == 2
    assert server.connections == 2


async def test_a_call_that_timed_out_waiting_for_the_pool_holds_no_slot() -> None:
    in_flight = 0
    most = 0

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        nonlocal in_flight, most
        while True:
            await server.request(reader)
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.3)
            in_flight -= 1
            writer.write(OK)

    transport = Http11Transport(DEV, max_response_bytes=CAP, limit=1)
    try:
        async with RawServer(handler) as server:
            first = asyncio.create_task(transport.send(post(server.url)))
            await asyncio.sleep(0.05)
            with pytest.raises(TransportError) as caught:
                await transport.send(post(server.url, timeout=0.1))  # waits for the one slot
            assert caught.value.kind == "timeout"
            assert (await first).status == 200
            answers = await asyncio.gather(*(transport.send(post(server.url)) for _ in range(3)))
    finally:
        await transport.close()
    assert [a.status for a in answers] == [200] * 3
    assert most == 1


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.reading = True
        self.written = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_closing(self) -> bool:
        return False

    def abort(self) -> None:
        raise AssertionError("a whole, kept-alive answer leaves the connection open")


async def test_a_body_read_slower_than_it_arrives_pauses_the_socket_until_read() -> None:
    conn = Connection(("http", "127.0.0.1", 80))
    fake = FakeTransport()
    conn.connection_made(fake)
    body = b"b" * (600 * 1024)

    def answer_arrives() -> None:
        conn.send(b"POST / HTTP/1.1\r\n\r\n")
        conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        for start in range(0, len(body), 100 * 1024):  # faster than the reader reads
            conn.data_received(body[start : start + 100 * 1024])

    answer_arrives()
    assert not fake.reading
    await conn.read_head()
    got = bytearray()
    while chunk := await conn.next_chunk():
        got += chunk
    assert got == body
    assert fake.reading  # resumed as the reader caught up
    conn.finished()
    # Whole but unread when the caller is done (a delivery keeps its first bytes): the
    # connection is reusable, so it must be read again for the next answer.
    answer_arrives()
    assert not fake.reading
    conn.finished()
    assert conn.reusable and fake.reading


# --- answer framing -----------------------------------------------------------------


def chunked(*pieces: bytes) -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body + b"0\r\n\r\n"


async def test_chunked_answers_are_read_whole_and_the_connection_reused(
    client: Http11Transport,
) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        while True:
            await server.request(reader)
            answer = chunked(*[b"%d," % i for i in range(300)])
            for start in range(0, len(answer), 7):  # in small pieces, across chunk borders
                writer.write(answer[start : start + 7])
                await writer.drain()

    async with RawServer(handler) as server:
        for _ in range(3):
            response = await client.send(post(server.url))
            assert response.body == b"".join(b"%d," % i for i in range(300))
    assert server.connections == 1


async def test_a_body_delimited_by_the_close_is_read_to_the_end(client: Http11Transport) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        await server.request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n" + b"z" * 5000)

    async with RawServer(handler) as server:
        response = await client.send(post(server.url))
    assert response.body == b"z" * 5000


async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    while True:
        writer.write(b"1000\r\n" + b"e" * 4096 + b"\r\n")
        await writer.drain()


async def test_an_endless_body_in_keep_mode_returns_and_drops_the_connection(
    client: Http11Transport,
) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        await server.request(reader)
        await endless(reader, writer)

    async with RawServer(handler) as server:
        loop = asyncio.get_running_loop()
        started = loop.time()
        response = await client.send(post(server.url, keep=100, timeout=10))
        assert loop.time() - started < 2
        assert (response.status, response.body) == (200, b"e" * 100)
        await asyncio.wait_for(server.closed_by_peer.wait(), 5)  # dropped, not drained
        await client.send(post(server.url, keep=100, timeout=10))
    assert server.connections == 2


async def test_an_endless_body_of_a_sync_call_is_too_large(client: Http11Transport) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        await server.request(reader)
        await endless(reader, writer)

    async with RawServer(handler) as server:
        with pytest.raises(TransportError) as caught:
            await client.send(post(server.url, timeout=10))
        await asyncio.wait_for(server.closed_by_peer.wait(), 5)
    assert caught.value.kind == "too_large"


async def test_interim_answers_are_skipped(client: Http11Transport) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        while True:
            await server.request(reader)
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n")
            writer.write(b"HTTP/1.1 201 Created\r\nX-Final: yes\r\nContent-Length: 2\r\n\r\nok")

    async with RawServer(handler) as server:
        for _ in range(2):
            response = await client.send(post(server.url))
            assert (response.status, response.body) == (201, b"ok")
            assert dict(response.headers) == {"X-Final": "yes", "Content-Length": "2"}
    assert server.connections == 1


async def test_answer_headers_are_found_in_any_case(client: Http11Transport) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        await server.request(reader)
        writer.write(
            b"HTTP/1.1 429 Slow Down\r\nretry-after: 120\r\nX-Twice: 1\r\nx-twice: 2\r\n"
            b"Content-Length: 0\r\n\r\n"
        )

    async with RawServer(handler) as server:
        response = await client.send(post(server.url))
    assert response.status == 429
    assert response.headers.get("Retry-After") == response.headers["RETRY-AFTER"] == "120"
    assert response.headers["x-twice"] == "1"  # the first, as dict(aiohttp's headers) had
    assert "retry-after" in dict(response.headers)  # shown as the receiver wrote it
    assert response.headers.get("Missing") is None


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(70)),
        b"HTTP/1.1 200 OK\r\nX-Long: " + b"v" * (70 * 1024) + b"\r\n",
    ],
    ids=["many-headers", "one-long-header"],
)
async def test_an_oversized_head_is_a_protocol_error(client: Http11Transport, head: bytes) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        await server.request(reader)
        writer.write(head + b"Content-Length: 2\r\n\r\nok")

    async with RawServer(handler) as server:
        with pytest.raises(TransportError) as caught:
            await client.send(post(server.url))
    assert caught.value.kind == "protocol"
    assert "exceeds 65536 bytes" in caught.value.message


async def test_an_endless_head_fails_without_waiting_for_its_end(client: Http11Transport) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        await server.request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nX-Endless: ")
        while True:
            writer.write(b"v" * 4096)
            await writer.drain()

    async with RawServer(handler) as server:
        with pytest.raises(TransportError) as caught:
            await client.send(post(server.url, timeout=10))
    assert caught.value.kind == "protocol"


@pytest.mark.parametrize(
    "answer",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    ],
    ids=["garbage", "upgrade", "two-lengths"],
)
async def test_what_is_not_an_answer_is_a_protocol_error(
    client: Http11Transport, answer: bytes
) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        await server.request(reader)
        writer.write(answer)
        await reader.read()

    async with RawServer(handler) as server:
        with pytest.raises(TransportError) as caught:
            await client.send(post(server.url))
    assert caught.value.kind == "protocol"
    assert caught.value.message.startswith("unreadable answer:")


async def test_bytes_after_the_answer_make_the_connection_unusable(
    client: Http11Transport,
) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        while True:
            await server.request(reader)
            writer.write(OK + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra")

    async with RawServer(handler) as server:
        for _ in range(2):
            assert (await client.send(post(server.url))).body == b"ok"
    assert server.connections == 2


# --- the request ----------------------------------------------------------------------


async def test_the_request_is_an_http11_post_with_host_and_length(
    client: Http11Transport,
) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        await server.request(reader)
        writer.write(OK)

    async with RawServer(handler) as server:
        url = f"http://127.0.0.1:{server.port}/a%2Fb/ü?x=1&y=a b#fragment"
        await client.send(post(url, headers={"X-Custom": "abc", "Content-Type": "text/plain"}))
    line, headers, body = server.requests[0]
    assert line == "POST /a%2Fb/%C3%BC?x=1&y=a%20b HTTP/1.1"
    assert headers["host"] == f"127.0.0.1:{server.port}"
    assert headers["content-length"] == str(len(body)) == "7"
    assert headers["accept-encoding"] == "gzip, deflate"
    assert (headers["x-custom"], headers["content-type"]) == ("abc", "text/plain")
    assert "user-agent" not in headers
    assert "cookie" not in headers


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("http://127.0.0.1:8080/hook", {"X-Custom": "abc", "Content-Type": "application/json"}),
        ("https://example.com/a b?x=1", {"Accept": "application/json", "Host": "evil"}),
        ("https://[::1]:8443/", {"content-length": "1", "User-Agent": "Keyhook/1"}),
    ],
)
def test_the_headers_sent_are_the_lines_the_request_carries(
    url: str, headers: dict[str, str]
) -> None:
    """What the delivery log records (headers_sent) is what _request_bytes writes: the
    same names, values and order, line for line."""
    request = OutboundRequest(url, '{"ü":1}'.encode(), headers, timeout=1.0)
    head = _request_bytes(_origin(url), request).split(b"\r\n\r\n")[0].decode()
    written = [tuple(line.split(": ", 1)) for line in head.split("\r\n")[1:]]
    assert written == Http11Transport(DEV, CAP).headers_sent(request)
    assert ("Content-Length", str(len(request.body))) in written


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Bad": "a\r\nInjected: yes"},
        {"X-Bad": "a\nb"},
        {"X-Bad": "a\0b"},
        {"X-Bad: yes\r\nX-More": "a"},
        {"X Bad": "a"},
    ],
)
async def test_a_header_that_could_split_the_request_is_refused(
    client: Http11Transport, headers: dict[str, str]
) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        await server.request(reader)
        writer.write(OK)

    async with RawServer(handler) as server:
        with pytest.raises(TransportError) as caught:
            await client.send(post(server.url, headers=headers))
    assert caught.value.kind == "internal"
    assert "a\r\n" not in caught.value.message  # a value may be a secret: never shown
    assert server.connections == 0


# --- TLS ----------------------------------------------------------------------------


def self_signed(directory: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*self_signed_files(directory))
    return context


async def test_tls_to_a_self_signed_certificate_fails_verification(
    client: Http11Transport, tmp_path: Path
) -> None:
    reached = False

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal reached
        with contextlib.suppress(Exception):
            await read_request(reader)
            reached = True
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=self_signed(tmp_path))
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(TransportError) as caught:
            await client.send(post(f"https://localhost:{port}/hook"))
    finally:
        server.close()
    assert caught.value.kind == "connect"
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.message
    assert not reached


# --- uvloop -------------------------------------------------------------------------


def test_reuse_retry_and_keep_work_on_uvloop_too() -> None:
    """The server runs on uvloop, whose transports are only alike asyncio's."""
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> tuple[int, int, bytes]:
        async def handler(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
        ) -> None:
            for _ in range(3):
                await server.request(reader)
                writer.write(OK)
            await server.request(reader)  # the fourth finds the connection stale
            writer.transport.abort()

        transport = Http11Transport(DEV, max_response_bytes=CAP)
        try:
            async with RawServer(handler) as server:
                for _ in range(4):
                    assert (await transport.send(post(server.url))).body == b"ok"
                kept = await transport.send(post(server.url, keep=1))
        finally:
            await transport.close()
        return server.connections, len(server.requests), kept.body

    assert uvloop.run(scenario()) == (2, 6, b"o")


async def test_endless_chunked_trailers_fail_instead_of_being_buffered(
    client: Http11Transport,
) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        await server.request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n")
        while True:
            writer.write(b"X-Trailer: " + b"v" * 4096 + b"\r\n")
            await writer.drain()

    async with RawServer(handler) as server:
        with pytest.raises(TransportError) as caught:
            await client.send(post(server.url, timeout=10))
    assert caught.value.kind == "protocol"
