"""The router: Starlette's, with exact static paths found in a dict first.

Starlette matches a request against each route's regular expression in turn; with
some 130 routes (every operation twice, the console, OIDC) that linear scan was
≈5 % of a token request's CPU (docs/performance.md). Most requests go to a path
without parameters, so those are looked up by ``(method, path)`` first. The
answer is always the route Starlette's own scan would pick: a static route enters
the dict only if no route before it matches its path in full, and every other
request (parameters, 405, slash redirects, lifespan) takes Starlette's path — with
one exception: a request to an exact static path with a method no route declares
for it is a ``405`` naming the methods the path takes (``GET
/v2/actions/targets/search``: it takes POST), not a match of a parameter route
(``GET /v2/actions/targets/{id}`` with the id ``search``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send


class StaticFirstRouter(Router):
    def __init__(self, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes=list(routes), **kwargs)
        self.static: dict[tuple[str, str], Route] = {}
        for index, route in enumerate(self.routes):
            if not isinstance(route, Route) or route.param_convertors or not route.methods:
                continue
            for method in route.methods:
                key = (method, route.path)
                if key not in self.static and not _shadowed(self.routes[:index], *key):
                    self.static[key] = route

        # Which methods each static path takes: a request to one with another method is
        # meant for it (GET /v2/actions/targets/search), not for a route with a
        # parameter that happens to match it (GET /v2/actions/targets/{id}).
        self.static_methods: dict[str, set[str]] = {}
        for route in self.routes:
            if isinstance(route, Route) and not route.param_convertors and route.methods:
                self.static_methods.setdefault(route.path, set()).update(route.methods)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = get_route_path(scope)
            route = self.static.get((scope["method"], path))
            if route is not None:
                scope.setdefault("router", self)
                scope["route"] = route
                scope["endpoint"] = route.endpoint
                scope["path_params"] = dict(scope.get("path_params", {}))
                await route.handle(scope, receive, send)
                return
            allowed = self.static_methods.get(path)
            if allowed and scope["method"] not in allowed | {"HEAD", "OPTIONS"}:
                await _wrong_method(scope["method"], path, allowed)(scope, receive, send)
                return
        await super().app(scope, receive, send)


def _wrong_method(method: str, path: str, allowed: set[str]) -> Response:
    takes = " or ".join(sorted(allowed))
    return JSONResponse(
        {
            "code": "unimplemented",
            "message": f"{method} is not allowed on {path}: it takes {takes} (see /openapi.json)",
            "details": [
                {"field": "method", "problem": f"{method} is not allowed", "allowed": takes}
            ],
        },
        status_code=405,
        headers={"Allow": ", ".join(sorted(allowed))},
    )


def _shadowed(earlier: Sequence[BaseRoute], method: str, path: str) -> bool:
    """Whether Starlette's scan would stop at one of ``earlier`` for this request."""
    probe: Scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    return any(route.matches(probe)[0] is Match.FULL for route in earlier)
