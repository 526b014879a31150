"""A real HTTP webhook receiver on 127.0.0.1 that records every request.

Each path gets a handler ``async (Received) -> Answer``; the default answers
``200 {"status":"success"}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=lambda: {"status": "success"})
    delay: float = 0.0
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Received], Awaitable[Answer]]


async def _success(_: Received) -> Answer:
    return Answer()


def answer(
    status: int = 200, body: Any = None, delay: float = 0.0, raw: bytes | None = None
) -> Handler:
    async def handler(_: Received) -> Answer:
        return Answer(status, {"status": "success"} if body is None else body, delay, raw)

    return handler


class Receiver:
    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.received: list[Received] = []
        self.completed: list[Received] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def endpoint(self, path: str, handler: Handler | None = None) -> str:
        self.handlers[path] = handler or _success
        return self.url + path

    def on(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def wait_for(self, path: str, count: int = 1, timeout: float = 10.0) -> list[Received]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.on(path)) < count:
            if loop.time() > deadline:
                raise AssertionError(f"{path}: {len(self.on(path))} of {count} requests arrived")
            await asyncio.sleep(0.01)
        return self.on(path)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        received = Received(
            request.path,
            dict(request.headers),
            await request.read(),
            asyncio.get_running_loop().time(),
        )
        self.received.append(received)
        handler = self.handlers.get(request.path, _success)
        result = await handler(received)
        if result.delay:
            await asyncio.sleep(result.delay)
        self.completed.append(received)
        body = result.raw if result.raw is not None else orjson.dumps(result.body)
        return web.Response(
            status=result.status,
            body=body,
            headers={"Content-Type": "application/json", **result.headers},
        )

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
