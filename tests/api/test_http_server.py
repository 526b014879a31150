"""The server's protocol writes each answer once: head and body in one ``send``.

Driven through uvicorn's own protocol with the transport recording what the
protocol hands to the socket (what a client on a real socket gets is covered by
every test against a running server, e.g. tests/api/test_http_limits.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from keyhook.api.http_server import CORK_LIMIT, CorkedTransport, protocol_class
from keyhook.config import HttpServerSettings


class SocketStandIn(asyncio.Transport):
    """What the protocol would hand to the socket, one entry per write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8080)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    body = b'{"answer": "%s"}' % scope["path"].encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def connected() -> tuple[Any, SocketStandIn]:
    config = uvicorn.Config(app, http=protocol_class(HttpServerSettings()), lifespan="off")
    config.load()
    protocol_type: Any = config.http_protocol_class
    protocol = protocol_type(config=config, server_state=ServerState(), app_state={})
    socket = SocketStandIn()
    protocol.connection_made(socket)
    return protocol, socket


async def settled(socket: SocketStandIn, writes: int) -> None:
    for _ in range(100):
        if len(socket.writes) >= writes:
            await asyncio.sleep(0)  # anything more would be written in the same turn
            return
        await asyncio.sleep(0)


async def test_an_answer_is_one_write_with_its_head_and_body() -> None:
    protocol, socket = connected()
    protocol.data_received(b"GET /one HTTP/1.1\r\nHost: keyhook\r\n\r\n")
    await settled(socket, 1)
    assert len(socket.writes) == 1
    head, _, body = socket.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert body == b'{"answer": "/one"}'
    protocol.connection_lost(None)


async def test_pipelined_requests_get_their_answers_in_order_and_whole() -> None:
    protocol, socket = connected()
    protocol.data_received(
        b"GET /first HTTP/1.1\r\nHost: keyhook\r\n\r\nGET /second HTTP/1.1\r\nHost: keyhook\r\n\r\n"
    )
    await settled(socket, 2)
    sent = b"".join(socket.writes)
    assert sent.count(b"HTTP/1.1 200 OK") == 2
    assert sent.index(b'"/first"') < sent.index(b'"/second"')
    protocol.connection_lost(None)


async def test_an_answer_before_close_is_sent_before_the_connection_closes() -> None:
    protocol, socket = connected()
    protocol.data_received(b"GET /last HTTP/1.1\r\nHost: keyhook\r\nConnection: close\r\n\r\n")
    for _ in range(100):
        if socket.closed:
            break
        await asyncio.sleep(0)
    assert socket.closed
    assert len(socket.writes) == 1 and socket.writes[0].endswith(b'{"answer": "/last"}')


async def test_writes_of_one_turn_go_out_together_and_abort_drops_them() -> None:
    socket = SocketStandIn()
    corked = CorkedTransport(socket, asyncio.get_running_loop())
    corked.write(b"a")
    corked.write(b"b")
    assert socket.writes == []
    await asyncio.sleep(0)
    assert socket.writes == [b"ab"]
    corked.write(b"c")
    corked.close()  # flushes first
    assert socket.writes == [b"ab", b"c"] and socket.closed

    other = SocketStandIn()
    aborted = CorkedTransport(other, asyncio.get_running_loop())
    aborted.write(b"never")
    other.abort = other.close  # type: ignore[method-assign]
    aborted.abort()
    await asyncio.sleep(0)
    assert other.writes == [] and other.closed


async def test_a_large_body_is_written_at_once_not_held_for_the_turn() -> None:
    socket = SocketStandIn()
    corked = CorkedTransport(socket, asyncio.get_running_loop())
    corked.write(b"HTTP/1.1 200 OK\r\n\r\n")
    corked.write(b"x" * (CORK_LIMIT + 1))
    assert len(socket.writes) == 1 and len(socket.writes[0]) > CORK_LIMIT, "out before the turn"
    corked.write(b"tail")
    await asyncio.sleep(0)
    assert socket.writes[1:] == [b"tail"]
