"""The outbound transport against a real aiohttp server on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import orjson
import pytest
from aiohttp import web

from keyhook.actions.httpclient import Http11Transport
from keyhook.actions.resolver import PolicyResolver, ResolvedAddress
from keyhook.actions.transport import (
    MockTransport,
    OutboundRequest,
    OutboundResponse,
    TransportError,
)
from keyhook.domain.netpolicy import NetworkPolicy

DEV = NetworkPolicy(dev=True)
STRICT = NetworkPolicy(dev=False)
SWITCHES = ("--dev", "KEYHOOK_DEV", "KEYHOOK_ACTIONS_ALLOW_HOSTS")


@dataclass
class Server:
    port: int
    release: asyncio.Event
    hits: dict[str, int] = field(default_factory=dict)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    release = asyncio.Event()
    hits: dict[str, int] = {}

    def count(request: web.Request) -> None:
        hits[request.path] = hits.get(request.path, 0) + 1

    async def echo(request: web.Request) -> web.Response:
        count(request)
        body = await request.read()
        return web.json_response(
            {"body": body.decode(), "custom": request.headers.get("X-Custom")},
            headers={"X-Answer": "yes"},
        )

    async def big(request: web.Request) -> web.Response:
        count(request)
        return web.Response(body=b"x" * 1000)

    async def stream(request: web.Request) -> web.StreamResponse:
        count(request)
        response = web.StreamResponse()  # chunked: no Content-Length to check up front
        await response.prepare(request)
        for _ in range(10):
            await response.write(b"y" * 100)
        await response.write_eof()
        return response

    async def redirect(request: web.Request) -> web.Response:
        count(request)
        raise web.HTTPFound("/echo")

    async def slow(request: web.Request) -> web.Response:
        count(request)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), 5)
        return web.json_response({"late": True})

    app = web.Application()
    app.router.add_post("/echo", echo)
    app.router.add_post("/big", big)
    app.router.add_post("/stream", stream)
    app.router.add_post("/redirect", redirect)
    app.router.add_post("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sockets = site._server.sockets  # type: ignore[union-attr]
    port = int(sockets[0].getsockname()[1])
    try:
        yield Server(port, release, hits)
    finally:
        release.set()
        await runner.cleanup()


@pytest.fixture
async def transport() -> AsyncIterator[Http11Transport]:
    client = Http11Transport(DEV, max_response_bytes=500)
    yield client
    await client.close()


def post(url: str, timeout: float = 5.0) -> OutboundRequest:
    return OutboundRequest(
        url=url,
        body=b'{"hello":"w\xc3\xb6rld"}',
        headers={"Content-Type": "application/json", "X-Custom": "abc"},
        timeout=timeout,
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_call_sends_body_and_headers_and_reads_the_answer(
    server: Server, transport: Http11Transport
) -> None:
    response = await transport.send(post(server.url("/echo")))
    assert response.status == 200
    assert orjson.loads(response.body) == {"body": '{"hello":"wörld"}', "custom": "abc"}
    assert response.headers["X-Answer"] == "yes"


async def test_an_answer_over_the_cap_is_too_large(
    server: Server, transport: Http11Transport
) -> None:
    with pytest.raises(TransportError) as caught:
        await transport.send(post(server.url("/big")))
    assert caught.value.kind == "too_large"
    assert "500" in caught.value.message


async def test_a_streamed_answer_over_the_cap_is_too_large(
    server: Server, transport: Http11Transport
) -> None:
    with pytest.raises(TransportError) as caught:
        await transport.send(post(server.url("/stream")))
    assert caught.value.kind == "too_large"


async def test_an_answer_at_the_cap_is_read_whole(server: Server) -> None:
    client = Http11Transport(DEV, max_response_bytes=1000)
    try:
        assert (await client.send(post(server.url("/big")))).body == b"x" * 1000
        assert (await client.send(post(server.url("/stream")))).body == b"y" * 1000
    finally:
        await client.close()


async def test_a_redirect_is_returned_not_followed(
    server: Server, transport: Http11Transport
) -> None:
    response = await transport.send(post(server.url("/redirect")))
    assert response.status == 302
    assert response.headers["Location"] == "/echo"
    assert server.hits.get("/echo") is None


async def test_a_slow_answer_times_out(server: Server, transport: Http11Transport) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TransportError) as caught:
        await transport.send(post(server.url("/slow"), timeout=0.3))
    assert caught.value.kind == "timeout"
    assert "0.3s" in caught.value.message
    assert loop.time() - started < 2.5


async def test_a_closed_port_is_a_connect_error(transport: Http11Transport) -> None:
    with pytest.raises(TransportError) as caught:
        await transport.send(post(f"http://127.0.0.1:{closed_port()}/hook"))
    assert caught.value.kind == "connect"


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::7f00:1]",  # IPv4-compatible
        "[::ffff:0:127.0.0.1]",  # IPv4-translated
        "[64:ff9b::7f00:1]",  # NAT64
        "[2002:7f00:1::]",  # 6to4
    ],
)
async def test_the_strict_policy_refuses_a_literal_loopback_address(
    server: Server, host: str
) -> None:
    client = Http11Transport(STRICT, max_response_bytes=500)
    try:
        with pytest.raises(TransportError) as caught:
            await client.send(post(server.url("/echo", host=host)))
    finally:
        await client.close()
    assert caught.value.kind == "policy"
    for switch in SWITCHES:
        assert switch in caught.value.message
    assert server.hits == {}


async def test_the_strict_policy_refuses_a_name_resolving_to_loopback(server: Server) -> None:
    client = Http11Transport(STRICT, max_response_bytes=500)
    try:
        with pytest.raises(TransportError) as caught:
            await client.send(post(server.url("/echo", host="localhost")))
    finally:
        await client.close()
    assert caught.value.kind == "connect"
    assert "localhost" in caught.value.message
    for switch in SWITCHES:
        assert switch in caught.value.message
    assert server.hits == {}


class FixedResolver:
    """Answers every name with the same addresses, as a DNS server under attack might."""

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily
    ) -> list[ResolvedAddress]:
        return [
            ResolvedAddress(address, port, socket.AF_INET6, (address, port, 0, 0))
            if ":" in address
            else ResolvedAddress(address, port, socket.AF_INET, (address, port))
            for address in self.addresses
        ]


CARRYING_PRIVATE = ["::7f00:1", "::ffff:0:a9fe:a9fe", "64:ff9b::a9fe:a9fe", "2002:a00:1::1"]


async def test_the_resolver_drops_aaaa_answers_carrying_a_private_ipv4_address() -> None:
    resolver = PolicyResolver(
        STRICT, FixedResolver([*CARRYING_PRIVATE, "64:ff9b::808:808", "93.184.216.34"])
    )
    found = await resolver.resolve("hooks.example.com", 443, socket.AF_UNSPEC)
    assert [r.host for r in found] == ["64:ff9b::808:808", "93.184.216.34"]


async def test_the_resolver_refuses_a_name_with_only_such_answers() -> None:
    resolver = PolicyResolver(STRICT, FixedResolver(CARRYING_PRIVATE))
    with pytest.raises(OSError, match=r"hooks\.example\.com resolves only to non-public"):
        await resolver.resolve("hooks.example.com", 443, socket.AF_UNSPEC)


@pytest.mark.parametrize(
    ("allowed", "host"), [("127.0.0.1", "127.0.0.1"), ("localhost", "localhost")]
)
async def test_the_allow_list_lets_a_listed_local_host_through(
    server: Server, allowed: str, host: str
) -> None:
    client = Http11Transport(NetworkPolicy(allow_hosts=(allowed,)), max_response_bytes=500)
    try:
        response = await client.send(post(server.url("/echo", host=host)))
    finally:
        await client.close()
    assert response.status == 200
    assert server.hits == {"/echo": 1}


async def test_the_pool_is_reused_and_works_again_after_close(server: Server) -> None:
    client = Http11Transport(DEV, max_response_bytes=500)
    try:
        await client.send(post(server.url("/echo")))
        await client.close()
        assert (await client.send(post(server.url("/echo")))).status == 200
    finally:
        await client.close()
    assert server.hits == {"/echo": 2}


async def test_mock_transport_times_out_a_handler_slower_than_the_target_timeout() -> None:
    async def handler(request: OutboundRequest) -> OutboundResponse:
        if request.url.endswith("/slow"):
            await asyncio.sleep(5)
        return OutboundResponse(204, b"")

    mock = MockTransport(handler)
    assert (await mock.send(post("https://hooks.example.com/fast"))).status == 204
    with pytest.raises(TransportError) as caught:
        await mock.send(post("https://hooks.example.com/slow", timeout=0.05))
    assert caught.value.kind == "timeout"
    assert [r.url for r in mock.requests] == [
        "https://hooks.example.com/fast",
        "https://hooks.example.com/slow",
    ]
