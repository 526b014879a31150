"""The static-first router picks exactly the route Starlette's own scan would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Route, Router

from keyhook.api.routing import StaticFirstRouter
from keyhook.api.server import application
from keyhook.bootstrap import Core, assemble
from keyhook.config import from_environment


def _scope(method: str, path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }


def _linear_choice(routes: list[BaseRoute], method: str, path: str) -> BaseRoute | None:
    for route in routes:
        if route.matches(_scope(method, path))[0] is Match.FULL:
            return route
    return None


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    assembled = await assemble(from_environment({}, data_dir=tmp_path, dev=True))
    yield assembled
    await assembled.stop()


def test_every_static_path_of_the_server_resolves_as_starlette_would(core: Core) -> None:
    app: Any = application(core)
    router = app.app.router
    assert isinstance(router, StaticFirstRouter)
    static = [
        (method, route.path)
        for route in router.routes
        if isinstance(route, Route) and not route.param_convertors
        for method in route.methods or ()
    ]
    assert len(static) > 50, "the operations' static paths (search, create, OIDC) are there"
    for method, path in static:
        expected = _linear_choice(router.routes, method, path)
        found = router.static.get((method, path))
        if found is not None:
            assert found is expected, f"{method} {path}"
    assert ("POST", "/oauth/v2/token") in router.static
    assert ("POST", "/v2/users/human") in router.static


def _answer(name: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(f"{name} {request.path_params}")

    return endpoint


async def _get(router: Router, method: str, path: str) -> tuple[int, str]:
    transport = httpx.ASGITransport(app=router)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.request(method, path)
    return response.status_code, response.text


async def test_a_parameter_route_listed_first_still_wins_as_in_starlette() -> None:
    routes: list[BaseRoute] = [
        Route("/items/{item_id}", _answer("by-id"), methods=["GET"]),
        Route("/items/search", _answer("search"), methods=["GET", "POST"]),
        Route("/plain", _answer("plain"), methods=["GET"]),
    ]
    fast, linear = StaticFirstRouter(routes), Router(routes)
    assert ("GET", "/items/search") not in fast.static
    assert ("POST", "/items/search") in fast.static
    for method, path in [
        ("GET", "/items/search"),
        ("POST", "/items/search"),
        ("GET", "/items/7"),
        ("GET", "/plain"),
        ("HEAD", "/plain"),
        ("POST", "/plain"),
        ("GET", "/plain/"),
        ("GET", "/nowhere"),
    ]:
        ours, starlettes = await _get(fast, method, path), await _get(linear, method, path)
        if starlettes[0] == 405:  # the same status; ours names the methods the path takes
            assert ours[0] == 405 and "it takes GET or HEAD" in ours[1], (method, path)
        else:
            assert ours == starlettes, (method, path)
    assert await _get(fast, "POST", "/items/search") == (200, "search {}")
    assert (await _get(fast, "POST", "/plain"))[0] == 405


async def test_a_static_path_asked_with_a_method_it_does_not_take_is_a_405_naming_them() -> None:
    routes: list[BaseRoute] = [
        Route("/targets/{id}", _answer("by-id"), methods=["GET"]),
        Route("/targets/search", _answer("search"), methods=["POST"]),
    ]
    fast = StaticFirstRouter(routes)
    status, body = await _get(fast, "GET", "/targets/search")
    assert status == 405, "not GET /targets/{id} with the id 'search'"
    assert "GET is not allowed on /targets/search: it takes POST" in body
    assert await _get(fast, "GET", "/targets/7") == (200, "by-id {'id': '7'}")
