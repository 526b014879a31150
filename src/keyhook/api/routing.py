"""The router: Starlette's, with exact static paths found in a dict first.

Starlette matches a request against each route's regular expression in turn; with
some 130 routes (every operation twice, the console, OIDC) that linear scan was
≈5 % of a token request's CPU (docs/performance.md). Most requests go to a path
without parameters, so those are looked up by ``(method, path)`` first. The
answer is always the route Starlette's own scan would pick: a static route enters
the dict only if no route before it matches its path in full, and every other
request (parameters, 405, slash redirects, lifespan) takes Starlette's path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette._utils import get_route_path
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

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self.static.get((scope["method"], get_route_path(scope)))
            if route is not None:
                scope.setdefault("router", self)
                scope["route"] = route
                scope["endpoint"] = route.endpoint
                scope["path_params"] = dict(scope.get("path_params", {}))
                await route.handle(scope, receive, send)
                return
        await super().app(scope, receive, send)


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
