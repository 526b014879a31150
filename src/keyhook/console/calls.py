"""The console's **Calls**: the record of synchronous target calls (request, response
and function executions, and tests), filtered, each with its own page — what the
target got and answered, how long it took, and what the API caller was told — over
ListTargetCalls and GetTargetCall.

May touch the console's frame (:class:`keyhook.console.app.Console`) and the API's
operations through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from keyhook.console.logs import _target_names
from keyhook.console.session import COOKIE_PATH, ConsoleSession

if TYPE_CHECKING:
    from keyhook.console.app import Console, Page

ACTIONS = "/zitadel.action.v2.ActionService/"


def calls(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        q = request.query_params
        names = await _target_names(console, session)
        message: dict[str, Any] = {"query": {"limit": 100}, "failedOnly": q.get("failed") == "on"}
        if q.get("target") in names:
            message["targetId"] = q["target"]
        if q.get("trigger"):
            message["trigger"] = q["trigger"]
        found = await console.call(session, ACTIONS + "ListTargetCalls", message)
        return console.render(
            "calls.html",
            session,
            sealed,
            active="calls",
            calls=found["calls"],
            total=found["pagination"]["totalResult"],
            names=names,
            filters={k: q.get(k, "") for k in ("target", "trigger", "failed")},
        )

    return show


def call(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        found = await console.call(
            session, ACTIONS + "GetTargetCall", {"id": request.path_params["id"]}
        )
        names = await _target_names(console, session)
        return console.render(
            "call.html", session, sealed, active="calls", call=found["call"], names=names
        )

    return show


def routes(console: Console) -> list[BaseRoute]:
    return [
        Route(f"{COOKIE_PATH}/calls", console.page(calls(console)), methods=["GET"]),
        Route(f"{COOKIE_PATH}/calls/{{id}}", console.page(call(console)), methods=["GET"]),
    ]
