"""Every keyhook-receiver adapter with its own framework, in-process: a signed call
runs the handler and its answer goes back as written; a bad signature is 401 and a
body that is not a Keyhook call 400, both without the handler running; a duplicate
delivery is 200 without it (issue 14). Also the duplicate guard and signed_request."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from keyhook_receiver import Answer, Call, EventCall, Verifier, reject
from keyhook_receiver.dedupe import Deduplicator, MemoryStore
from keyhook_receiver.testing import signed_request

KEY = "whsec_" + base64.b64encode(b"k" * 32).decode()
EVENT = {"event": "user.locked", "eventID": "1", "eventData": {"userId": "7", "userName": "ann"}}

# (status, body bytes) for (body, headers), for each framework.
Send = Callable[[bytes, dict[str, str]], Awaitable[tuple[int, bytes]]]


def _app_handler(ran: list[Call]) -> Callable[[Call], Answer]:
    def handle(call: Call) -> Answer:
        ran.append(call)
        assert isinstance(call, EventCall)
        return reject(409, f"already have {call.data.raw['userName']}")

    return handle


async def _starlette(ran: list[Call], dedupe: Deduplicator) -> Send:
    from starlette.applications import Starlette

    from keyhook_receiver.adapters.starlette import route

    app = Starlette()
    app.add_route("/hook", route(Verifier(KEY), dedupe)(_app_handler(ran)), methods=["POST"])
    return _asgi_sender(app)


async def _fastapi(ran: list[Call], dedupe: Deduplicator) -> Send:
    from fastapi import Depends, FastAPI

    from keyhook_receiver.adapters.starlette import KeyhookCall, response

    app = FastAPI()
    dependency = KeyhookCall(Verifier(KEY), dedupe)
    handle = _app_handler(ran)

    @app.post("/hook")
    async def hook(call: Call = Depends(dependency)) -> Any:  # noqa: B008
        return response(handle(call))

    return _asgi_sender(app)


async def _asgi(ran: list[Call], dedupe: Deduplicator) -> Send:
    from keyhook_receiver.adapters.asgi import asgi

    return _asgi_sender(asgi(Verifier(KEY), _app_handler(ran), dedupe))


def _asgi_sender(app: Any) -> Send:
    async def send(body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as http:
            reply = await http.post("/hook", content=body, headers=headers)
        return reply.status_code, reply.content

    return send


async def _flask(ran: list[Call], dedupe: Deduplicator) -> Send:
    from flask import Flask

    from keyhook_receiver.adapters.flask import route

    app = Flask("receiver-test")
    app.post("/hook")(route(Verifier(KEY), dedupe)(_app_handler(ran)))
    client = app.test_client()

    async def send(body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        reply = client.post("/hook", data=body, headers=headers)
        return reply.status_code, reply.data

    return send


async def _wsgi(ran: list[Call], dedupe: Deduplicator) -> Send:
    from werkzeug.test import Client

    from keyhook_receiver.adapters.wsgi import wsgi

    client = Client(wsgi(Verifier(KEY), _app_handler(ran), dedupe))

    async def send(body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        reply = client.post("/hook", data=body, headers=headers)
        return reply.status_code, reply.data

    return send


async def _django(ran: list[Call], dedupe: Deduplicator) -> Send:
    from django.conf import settings

    if not settings.configured:
        settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], DEFAULT_CHARSET="utf-8")
    from django.test import RequestFactory

    from keyhook_receiver.adapters.django import view

    endpoint = view(Verifier(KEY), dedupe)(_app_handler(ran))
    factory = RequestFactory()

    async def send(body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        request = factory.post("/hook", data=body, content_type="application/json", headers=headers)
        reply = endpoint(request)
        assert getattr(endpoint, "csrf_exempt", False)
        return reply.status_code, reply.content

    return send


async def _aiohttp(ran: list[Call], dedupe: Deduplicator) -> Send:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from keyhook_receiver.adapters.aiohttp import handler

    app = web.Application()
    app.router.add_post("/hook", handler(Verifier(KEY), dedupe)(_app_handler(ran)))

    async def send(body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        async with TestClient(TestServer(app)) as client:
            reply = await client.post("/hook", data=body, headers=headers)
            return reply.status, await reply.read()

    return send


FRAMEWORKS = {
    "starlette": _starlette,
    "fastapi": _fastapi,
    "asgi": _asgi,
    "flask": _flask,
    "wsgi": _wsgi,
    "django": _django,
    "aiohttp": _aiohttp,
}


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_an_adapter_runs_the_handler_only_for_a_genuine_call(framework: str) -> None:
    ran: list[Call] = []
    send = await FRAMEWORKS[framework](ran, Deduplicator())
    body, headers = signed_request(EVENT, KEY, webhook_id=f"msg_{secrets.randbelow(10**9)}")
    status, answered = await send(body, headers)
    assert (status, json.loads(answered)) == (
        409,
        {"status": "error", "message": "already have ann"},
    )
    assert len(ran) == 1

    again = await send(body, headers)  # the same webhook-id: a retry Keyhook made
    assert again[0] == 200 and b"duplicate" in again[1]
    assert len(ran) == 1, "a duplicate never reaches the handler"

    bad = dict(headers, **{"webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()})
    status, answered = await send(body, bad)
    assert status == 401 and b"no_matching_signature" in answered
    not_json, signed = signed_request(b"not json", KEY)
    status, answered = await send(not_json, signed)
    assert status == 400 and b"body_not_json" in answered
    assert len(ran) == 1


def test_the_memory_store_forgets_after_its_ttl_and_beyond_its_capacity() -> None:
    now = [0.0]
    store = MemoryStore(capacity=2, clock=lambda: now[0])
    guard = Deduplicator(store, ttl=10)
    assert guard.first("a") and not guard.first("a")
    now[0] = 11
    assert guard.first("a"), "seen longer ago than the ttl: new again"
    assert guard.first("b") and guard.first("c")
    assert guard.first("a"), "pushed out by b and c (capacity 2): new again"
    assert not guard.first("c")


def test_signed_request_verifies_byte_for_byte() -> None:
    body, headers = signed_request({"é": "ü", "n": 10**20}, [KEY, "whsec_" + "YWJj" * 8])
    assert body == '{"é":"ü","n":100000000000000000000}'.encode()
    for scheme in ("standard", "zitadel", "seed"):
        assert Verifier(KEY, scheme=scheme).verify(body, headers).key_index == 0
