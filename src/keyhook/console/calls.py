"""The console's **Calls**: the record of synchronous target calls (request, response
and function executions, and tests), filtered, each with its own page — what the
target got and answered, how long it took, and what the API caller was told — over
ListTargetCalls and GetTargetCall.

May touch the console's frame (:class:`keyhook.console.app.Console`) and the API's
operations through it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from keyhook.console.forms import field_errors, offset_of, page_number, pages
from keyhook.console.logs import API_FIELDS, RANGE_NAMES, log_filter, target_names
from keyhook.console.session import COOKIE_PATH, ConsoleSession
from keyhook.errors import KeyhookError, NotFound, PermissionDenied

if TYPE_CHECKING:
    from keyhook.console.app import Console, Page

ACTIONS = "/zitadel.action.v2.ActionService/"


_FILTERS = ("target", "trigger", "failed", "http", "range", "from", "to", "order")
_CALL_ID = re.compile(r"[0-9]{1,19}")


def _call_filter(
    q: Mapping[str, str], names: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """ListTargetCalls' message for the page's filters, and the custom times' problems."""
    message, errors = log_filter(q, names)
    message["failedOnly"] = q.get("failed") == "on"
    return message, errors


def calls(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        q = request.query_params
        find = q.get("find", "").strip()
        not_found = ""
        if find:
            if not _CALL_ID.fullmatch(find):
                not_found = "is not a call id (allowed: digits)"
            else:
                try:
                    await console.call(session, ACTIONS + "GetTargetCall", {"id": find})
                    return RedirectResponse(f"{COOKIE_PATH}/calls/{find}", status_code=303)
                except NotFound:
                    not_found = f"no call has the id {find}"
        names = await target_names(console, session)
        message, errors = _call_filter(q, names)
        number = page_number(q)
        message["query"]["offset"] = offset_of(number)
        found: dict[str, Any] = {"calls": [], "pagination": {"totalResult": "0"}}
        if not errors:
            try:
                found = await console.call(session, ACTIONS + "ListTargetCalls", message)
            except PermissionDenied:
                raise
            except KeyhookError as error:
                errors = {API_FIELDS.get(k, k): v for k, v in field_errors(error).items()}
                errors = errors or {"": error.message}
        return console.render(
            "calls.html",
            session,
            sealed,
            status=400 if errors or not_found else 200,
            active="calls",
            calls=found["calls"],
            total=found["pagination"]["totalResult"],
            pages=pages(q, number, found["pagination"]["totalResult"]),
            names=names,
            filters={k: q.get(k, "") for k in _FILTERS},
            ranges=RANGE_NAMES,
            errors=errors,
            find=find,
            not_found=not_found,
        )

    return show


def call(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        found = await console.call(
            session, ACTIONS + "GetTargetCall", {"id": request.path_params["id"]}
        )
        names = await target_names(console, session)
        return console.render(
            "call.html", session, sealed, active="calls", call=found["call"], names=names
        )

    return show


def routes(console: Console) -> list[BaseRoute]:
    return [
        Route(f"{COOKIE_PATH}/calls", console.page(calls(console)), methods=["GET"]),
        Route(f"{COOKIE_PATH}/calls/{{id}}", console.page(call(console)), methods=["GET"]),
    ]
