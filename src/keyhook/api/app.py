"""The ASGI application: routes from the registry, health, OpenAPI, JSON errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keyhook.api.connect import ConnectEndpoint, looks_like_full_method, unimplemented
from keyhook.api.errors import error_response
from keyhook.api.openapi import build_openapi
from keyhook.api.pipeline import Pipeline
from keyhook.api.protojson import zitadel_schema
from keyhook.api.registry import Operation, Registry
from keyhook.api.routing import StaticFirstRouter
from keyhook.errors import InvalidArgument, NotFound
from keyhook.storage.database import Database

Lifespan = Callable[[], Awaitable[None]]


class NoSniff:
    """``X-Content-Type-Options: nosniff`` on every answer, set in this one place.

    Without it a browser may read a JSON answer that echoes caller input (an error
    message naming a field's value) as HTML or script. Pure ASGI: answers pass
    through unbuffered.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"x-content-type-options"
                ]
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_header)


def _endpoint(pipeline: Pipeline, op: Operation) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await pipeline.handle(op, request)

    return endpoint


def _route_order(route: tuple[str, str, Any]) -> tuple[int, str]:
    # Static paths first, so /v2/actions/targets/search is not read as a target id.
    return (route[1].count("{"), route[1])


def build_app(
    registry: Registry,
    pipeline: Pipeline,
    db: Database,
    on_start: Lifespan | None = None,
    on_stop: Lifespan | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> ASGIApp:
    schema = zitadel_schema()
    table: list[tuple[str, str, Callable[[Request], Awaitable[Response]]]] = [
        (method, path, _endpoint(pipeline, op)) for op in registry for method, path in op.routes
    ]
    table += [
        ("POST", op.full_method, ConnectEndpoint(pipeline, op, schema).respond) for op in registry
    ]
    routes: list[BaseRoute] = [
        Route(path, endpoint, methods=[method])
        for method, path, endpoint in sorted(table, key=_route_order)
    ]
    spec = orjson.dumps(build_openapi(registry))

    async def openapi(_: Request) -> Response:
        return Response(spec, media_type="application/json")

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        try:
            async with db.read() as conn:
                await conn.execute("SELECT 1")
        except Exception:
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        return JSONResponse({"status": "ready"})

    routes += [
        Route("/openapi.json", openapi),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *extra_routes,
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404 and looks_like_full_method(request.url.path):
            return unimplemented(request.url.path)
        if exc.status_code == 404:
            return error_response(
                NotFound(f"no operation at {request.url.path}; see /openapi.json")
            )
        if exc.status_code == 405:
            return Response(
                orjson.dumps(
                    {
                        "code": "unimplemented",
                        "message": f"{request.method} is not allowed on {request.url.path}",
                        "details": [],
                    }
                ),
                status_code=405,
                media_type="application/json",
            )
        return error_response(InvalidArgument(str(exc.detail)))

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if on_start is not None:
            await on_start()
        try:
            yield
        finally:
            if on_stop is not None:
                await on_stop()

    app = Starlette(exception_handlers={HTTPException: http_error})
    app.router = StaticFirstRouter(routes, lifespan=lifespan)
    return NoSniff(app)
