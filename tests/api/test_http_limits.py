"""The HTTP server's limits (issue 8, finding 16): a request head must be complete
within KEYHOOK_HTTP_HEADER_TIMEOUT, an idle kept-alive connection is closed after
KEYHOOK_HTTP_KEEP_ALIVE_TIMEOUT, and KEYHOOK_HTTP_MAX_CONCURRENCY caps the requests
being handled (not connections: idle ones must not shut everyone out).

Raw sockets, because an HTTP client library always sends whole heads. The servers
run with a 1 s header timeout; "closed" means the server ended the connection at
all, which without the timeout it never does (reads give up after 20 s).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.hostile import HostileReceiver
from tests.support.receiver import Receiver, answer
from tests.support.server import KeyhookServer

GIVE_UP = 20.0  # far beyond the 1 s under test: only a server that never closes hits it
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: keyhook\r\n\r\n"


@pytest.fixture(scope="module")
async def strict(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KeyhookServer]:
    server = KeyhookServer(
        data_dir=Path(tmp_path_factory.mktemp("http-limits")),
        extra_env={"KEYHOOK_HTTP_HEADER_TIMEOUT": "1s", "KEYHOOK_HTTP_KEEP_ALIVE_TIMEOUT": "1s"},
    )
    await server.start()
    yield server
    await server.stop()


async def connect(server: KeyhookServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


async def read_until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends before it closes; fails if it never does."""
    try:
        return await asyncio.wait_for(reader.read(), GIVE_UP)
    except TimeoutError:
        raise AssertionError("the server kept the connection open") from None


async def test_a_partial_request_head_is_answered_408_and_closed(strict: KeyhookServer) -> None:
    reader, writer = await connect(strict)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: keyhook\r\nX-Slow: ")
    await writer.drain()
    received = await read_until_closed(reader)
    assert received.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    writer.close()


async def test_a_head_sent_a_byte_at_a_time_is_cut_off(strict: KeyhookServer) -> None:
    """Bytes keep arriving, but the head never completes: the deadline is for the head,
    not for silence."""
    reader, writer = await connect(strict)
    head = b"GET /healthz HTTP/1.1\r\nHost: keyhook\r\n" + b"X-Pad: " + b"a" * 400

    async def dribble() -> None:
        for byte in head:
            if writer.is_closing():
                return
            writer.write(bytes([byte]))
            try:
                await writer.drain()
            except ConnectionError:
                return
            await asyncio.sleep(0.2)

    sender = asyncio.create_task(dribble())
    received = await read_until_closed(reader)
    sender.cancel()
    assert received.startswith(b"HTTP/1.1 408")
    writer.close()


async def test_a_connection_that_sends_nothing_is_closed(strict: KeyhookServer) -> None:
    reader, writer = await connect(strict)
    assert await read_until_closed(reader) == b""  # closed, and no answer to no request
    writer.close()


async def test_whole_requests_keep_working_and_idle_keep_alive_ends(
    strict: KeyhookServer,
) -> None:
    reader, writer = await connect(strict)
    for _ in range(3):  # kept alive between requests
        writer.write(HEALTHZ)
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), GIVE_UP)
        assert status == b"HTTP/1.1 200 OK\r\n"
        length = 0
        while (line := await reader.readline()) != b"\r\n":
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        assert b'"ok"' in await reader.readexactly(length)
    # Then idle: closed after the keep-alive timeout, without an answer.
    assert await read_until_closed(reader) == b""
    writer.close()


async def test_a_slow_handler_is_not_cut_off(strict: KeyhookServer, receiver: Receiver) -> None:
    """The deadline ends with the head: a call whose request execution takes longer than
    the header timeout gets its answer."""
    api = Api(strict.url, strict.token)
    try:
        path = f"/slow-{secrets.token_hex(3)}"
        target = await api.create_target(receiver.endpoint(path, answer(delay=2.5)))
        method = "/zitadel.user.v2.UserService/AddHumanUser"
        await api.set_execution({"request": {"method": method}}, [target["id"]])
        created = await api.add_user(f"slow-{secrets.token_hex(3)}@example.com")
        assert created.ok()["userId"]
        assert len(receiver.on(path)) == 1
    finally:
        await api.close()


async def test_a_pipelined_head_waits_for_the_answer_before_it(
    strict: KeyhookServer, receiver: Receiver
) -> None:
    """A partial head pipelined behind a slow request: the slow request's answer goes
    out whole, and only then does the next head's deadline cut the connection."""
    api = Api(strict.url, strict.token)
    try:
        user = (await api.add_user(f"pipe-{secrets.token_hex(3)}@example.com")).ok()["userId"]
        path = f"/slow-{secrets.token_hex(3)}"
        target = await api.create_target(receiver.endpoint(path, answer(delay=2.5)))
        method = "/zitadel.user.v2.UserService/GetUserByID"
        await api.set_execution({"request": {"method": method}}, [target["id"]])
        reader, writer = await connect(strict)
        slow = (
            f"GET /v2/users/{user} HTTP/1.1\r\nHost: keyhook\r\n"
            f"Authorization: Bearer {strict.token}\r\n\r\n"
        ).encode()
        writer.write(slow + b"GET /healthz HTTP/1.1\r\nHo")
        await writer.drain()
        everything = await read_until_closed(reader)
        assert everything.startswith(b"HTTP/1.1 200 OK\r\n")
        assert user.encode() in everything
        writer.close()
        await api.clear_executions()
    finally:
        await api.close()


async def test_requests_beyond_the_limit_get_503_and_idle_connections_do_not_count(
    tmp_path: Path, hostile: HostileReceiver
) -> None:
    server = KeyhookServer(
        data_dir=tmp_path / "keyhook", extra_env={"KEYHOOK_HTTP_MAX_CONCURRENCY": "3"}
    )
    await server.start()
    api = Api(server.url, server.token)
    try:
        # Idle connections (more than the limit) cost no request slot: health checks and
        # everyone else are still served.
        idle = [await connect(server) for _ in range(5)]
        assert (await api.get("/healthz")).status == 200
        # Three requests in flight, held by a target that never answers ...
        user = (await api.add_user(f"held-{secrets.token_hex(3)}@example.com")).ok()["userId"]
        target = await api.create_target(hostile.endpoint("/hold", None), timeout="5s")
        method = "/zitadel.user.v2.UserService/GetUserByID"
        await api.set_execution({"request": {"method": method}}, [target["id"]])
        held = [asyncio.create_task(api.get(f"/v2/users/{user}")) for _ in range(3)]
        await hostile.wait_for("/hold", 3)
        # ... and the next request is refused at once.
        refused = await api.get("/healthz")
        assert refused.status == 503
        assert [r.status for r in await asyncio.gather(*held)] == [200] * 3
        assert (await api.get("/healthz")).status == 200
        for _, writer in idle:
            writer.close()
    finally:
        await api.close()
        await server.stop()


async def test_a_bad_limit_stops_the_start_with_a_clear_error(tmp_path: Path) -> None:
    server = KeyhookServer(
        data_dir=tmp_path / "keyhook", extra_env={"KEYHOOK_HTTP_HEADER_TIMEOUT": "soon"}
    )
    with pytest.raises(RuntimeError, match="KEYHOOK_HTTP_HEADER_TIMEOUT"):
        await server.start(timeout=15)
    await server.stop()
