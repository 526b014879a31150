"""The transport against a receiver that answers hostile bytes (tests/support/hostile.py).

What a receiver answers may cost Keyhook a bounded amount and nothing more: the
cap holds after decompression, only offered encodings are read, and whatever
goes wrong comes out as a :class:`TransportError`.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

import pytest

from keyhook.actions.httpclient import Http11Transport
from keyhook.actions.transport import ACCEPTED_ENCODINGS, OutboundRequest, TransportError
from keyhook.domain.netpolicy import NetworkPolicy
from tests.support.hostile import HostileReceiver, gzip_bomb, gzipped, http_answer

CAP = 64 * 1024


@pytest.fixture
async def transport() -> AsyncIterator[Http11Transport]:
    client = Http11Transport(NetworkPolicy(dev=True), max_response_bytes=CAP)
    yield client
    await client.close()


def post(
    url: str, keep: int | None = None, headers: dict[str, str] | None = None
) -> OutboundRequest:
    return OutboundRequest(url, b"{}", headers or {}, timeout=5.0, keep=keep)


async def test_a_gzip_bomb_is_too_large_after_decompression(
    hostile: HostileReceiver, transport: Http11Transport
) -> None:
    bomb = gzip_bomb(64 * 1024 * 1024)
    assert len(bomb) < CAP  # the announced length is within the cap: only decoding tells
    url = hostile.endpoint("/bomb", http_answer(body=bomb, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(TransportError) as caught:
        await transport.send(post(url))
    assert caught.value.kind == "too_large"
    assert "after decompression" in caught.value.message


async def test_a_bomb_without_content_length_is_too_large_too(
    hostile: HostileReceiver, transport: Http11Transport
) -> None:
    answer = http_answer(
        body=gzip_bomb(16 * 1024 * 1024), headers={"Content-Encoding": "gzip"}, length=False
    )
    with pytest.raises(TransportError) as caught:
        await transport.send(post(hostile.endpoint("/bomb", answer)))
    assert caught.value.kind == "too_large"


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzipped),
        ("deflate", zlib.compress),  # RFC 9110's deflate: zlib-wrapped
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw, as some send
    ],
)
async def test_compressed_answers_within_the_cap_are_decoded(
    hostile: HostileReceiver, transport: Http11Transport, encoding: str, encode: object
) -> None:
    plain = b'{"status":"success","claims":{"a":"' + b"x" * 50_000 + b'"}}'
    assert callable(encode)
    answer = http_answer(body=encode(plain), headers={"Content-Encoding": encoding})
    response = await transport.send(post(hostile.endpoint("/ok", answer)))
    assert response.body == plain


async def test_the_request_offers_only_gzip_and_deflate(
    hostile: HostileReceiver, transport: Http11Transport
) -> None:
    await transport.send(post(hostile.endpoint("/offer", http_answer())))
    assert hostile.on("/offer")[0][1]["accept-encoding"] == ACCEPTED_ENCODINGS == "gzip, deflate"


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip", "compress"])
async def test_an_encoding_not_offered_is_a_protocol_error(
    hostile: HostileReceiver, transport: Http11Transport, encoding: str
) -> None:
    answer = http_answer(body=b"\x1f\x8b whatever", headers={"Content-Encoding": encoding})
    with pytest.raises(TransportError) as caught:
        await transport.send(post(hostile.endpoint("/enc", answer)))
    assert caught.value.kind == "protocol"
    assert "gzip, deflate" in caught.value.message


@pytest.mark.parametrize(
    "body", [b"\x1f\x8b\x08\x00garbage-not-gzip", gzipped(b'{"status":"success"}')[:-12]]
)
async def test_broken_or_cut_off_gzip_is_a_protocol_error(
    hostile: HostileReceiver, transport: Http11Transport, body: bytes
) -> None:
    answer = http_answer(body=body, headers={"Content-Encoding": "gzip"})
    with pytest.raises(TransportError) as caught:
        await transport.send(post(hostile.endpoint("/broken", answer)))
    assert caught.value.kind == "protocol"


@pytest.mark.parametrize(
    "answer",
    [
        http_answer(body=gzip_bomb(64 * 1024 * 1024), headers={"Content-Encoding": "gzip"}),
        http_answer(body=b"\x1f\x8b garbage", headers={"Content-Encoding": "gzip"}),
        http_answer(body=b"abc", headers={"Content-Encoding": "br"}),
        http_answer(body=b"z" * (5 * CAP)),
    ],
    ids=["bomb", "broken-gzip", "brotli", "over-the-cap"],
)
async def test_keep_reads_only_the_start_and_never_fails_on_the_body(
    hostile: HostileReceiver, transport: Http11Transport, answer: bytes
) -> None:
    response = await transport.send(post(hostile.endpoint("/keep", answer), keep=100))
    assert response.status == 200
    assert len(response.body) <= 100


async def test_a_header_value_the_client_refuses_is_a_transport_error(
    hostile: HostileReceiver, transport: Http11Transport
) -> None:
    # Saved before header values were checked: the call fails as the target's error.
    url = hostile.endpoint("/hdr", http_answer())
    with pytest.raises(TransportError) as caught:
        await transport.send(post(url, headers={"X-Bad": "a\r\nInjected: yes"}))
    assert caught.value.kind in {"internal", "connect", "protocol"}
    assert hostile.on("/hdr") == []


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 204 No Content\r\nContent-Encoding: gzip\r\n\r\n",
        http_answer(body=b"", headers={"Content-Encoding": "gzip"}),
        http_answer(body=b"", headers={"Content-Encoding": "deflate"}),
    ],
    ids=["204", "200-gzip-empty", "200-deflate-empty"],
)
async def test_an_empty_body_marked_compressed_is_empty(
    hostile: HostileReceiver, transport: Http11Transport, answer: bytes
) -> None:
    response = await transport.send(post(hostile.endpoint("/empty", answer)))
    assert response.body == b""


async def test_a_stalled_delivery_answer_keeps_its_status(hostile: HostileReceiver) -> None:
    # Status and headers arrive, then the body stops before its announced length.
    answer = b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"status":'
    client = Http11Transport(NetworkPolicy(dev=True), max_response_bytes=CAP)
    try:
        url = hostile.endpoint("/stall", answer)
        hostile.keep_open.add("/stall")
        request = OutboundRequest(url, b"{}", {}, timeout=1.0, keep=100)
        response = await client.send(request)
    finally:
        await client.close()
    assert response.status == 200
    assert response.body == b'{"status":'


async def test_cookies_a_receiver_sets_are_never_sent_back(hostile: HostileReceiver) -> None:
    cookie = http_answer(headers={"Set-Cookie": "session=abc; Path=/"})
    client = Http11Transport(NetworkPolicy(dev=True), max_response_bytes=CAP)
    try:
        await client.send(post(hostile.endpoint("/cookie", cookie)))
        await client.send(post(hostile.endpoint("/cookie", cookie)))
    finally:
        await client.close()
    assert all("cookie" not in headers for _, headers, _ in hostile.on("/cookie"))
