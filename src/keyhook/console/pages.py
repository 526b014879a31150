"""The console's pages: what each shows and which operations it calls.

Every page is an operation's answer rendered (the same calls a curl would make);
writes are forms that post, then redirect to the page showing the new state
(read-your-writes), or render the form again with the server's field errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from keyhook.console.forms import field_errors
from keyhook.console.session import COOKIE_PATH, ConsoleSession
from keyhook.errors import KeyhookError, PermissionDenied

if TYPE_CHECKING:
    from keyhook.console.app import Console, Page

ACTIONS = "/zitadel.action.v2.ActionService/"
TARGET_TYPES = {
    "restWebhook": "Webhook: called during the API call; its answer's status decides, "
    "its body is ignored.",
    "restCall": "Call: called during the API call; its answer may change the request or "
    "the response.",
    "restAsync": "Async: delivered after the call, durably, with retries; the API call "
    "does not wait for it.",
}
KINDS = {
    "request": "a request (before the method runs)",
    "response": "a response (after the method ran)",
    "function": "a function (token issuance)",
    "event": "an event",
}


def condition_text(condition: dict[str, Any]) -> str:
    """``request: method /x.y/Z`` for ``{"request": {"method": "/x.y/Z"}}``."""
    kind, inner = next(iter(condition.items()))
    scope, value = next(iter(inner.items()))
    return f"{kind}: all" if scope == "all" else f"{kind}: {scope} {value}"


CHART_HEIGHT = 120
BAR_WIDTH = 14


def _bars(hours: list[dict[str, Any]], what: str, outcomes: tuple[str, ...]) -> dict[str, Any]:
    """A stacked bar per hour, in SVG units, for the server-drawn chart."""
    totals = [sum(h[what][o] for o in outcomes) for h in hours]
    top = max(totals) or 1
    bars = []
    for i, hour in enumerate(hours):
        y = CHART_HEIGHT
        parts = []
        for outcome in outcomes:
            height = round(hour[what][outcome] * CHART_HEIGHT / top, 2)
            y -= height
            parts.append({"outcome": outcome, "y": round(y, 2), "height": height})
        bars.append({"x": i * (BAR_WIDTH + 4), "parts": parts, "hour": hour["hour"][11:16]})
    return {"bars": bars, "top": top, "total": sum(totals), "outcomes": outcomes}


def home(console: Console) -> Page:
    """The overview: the last 24 hours of deliveries and calls, what needs a look."""

    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        if not await console.allowed(session, ACTIONS + "GetActionsOverview"):
            return RedirectResponse(f"{COOKIE_PATH}/users", status_code=303)
        found = await console.call(session, ACTIONS + "GetActionsOverview")
        hours = found["hours"]
        return console.render(
            "overview.html",
            session,
            sealed,
            active="overview",
            overview=found,
            hours=hours,
            deliveries=_bars(hours, "deliveries", ("succeeded", "failed", "pending")),
            calls=_bars(hours, "calls", ("succeeded", "failed")),
            width=len(hours) * (BAR_WIDTH + 4),
            height=CHART_HEIGHT,
            bar_width=BAR_WIDTH,
        )

    return show


def _target_row(target: dict[str, Any]) -> dict[str, Any]:
    kind = next((k for k in TARGET_TYPES if k in target), "")
    interrupt = bool(target.get(kind, {}).get("interruptOnError", False)) if kind else False
    return {**target, "kind": kind, "interrupt": interrupt}


async def _targets_page(
    console: Console,
    session: ConsoleSession,
    sealed: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str = "",
    created: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    found = await console.call(session, ACTIONS + "ListTargets", {"query": {"limit": 1000}})
    return console.render(
        "targets.html",
        session,
        sealed,
        status=status,
        active="targets",
        targets=[_target_row(t) for t in found["targets"]],
        total=found["pagination"]["totalResult"],
        may_create=await console.allowed(session, ACTIONS + "CreateTarget"),
        may_pause=await console.allowed(session, ACTIONS + "PauseTarget"),
        may_delete=await console.allowed(session, ACTIONS + "DeleteTarget"),
        types=TARGET_TYPES,
        form=form or {"type": "restWebhook", "timeout": "10s"},
        errors=errors or {},
        message=message,
        created=created,
    )


def targets(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        return await _targets_page(console, session, sealed)

    return show


def target_body(form: dict[str, str]) -> dict[str, Any]:
    kind = form.get("type", "")
    settings: dict[str, Any] = {}
    if kind in ("restWebhook", "restCall"):
        settings["interruptOnError"] = form.get("interruptOnError") == "on"
    body: dict[str, Any] = {
        "name": form.get("name", ""),
        "endpoint": form.get("endpoint", ""),
        "timeout": form.get("timeout", ""),
    }
    if kind in TARGET_TYPES:
        body[kind] = settings
    return body


def create_target(console: Console) -> Page:
    async def create(request: Request, session: ConsoleSession, sealed: str) -> Response:
        form: dict[str, str] = request.state.form
        try:
            created = await console.call(session, ACTIONS + "CreateTarget", target_body(form))
        except PermissionDenied:
            raise  # the page says so (403), as for any refused call
        except KeyhookError as error:
            errors = {k.split(".")[0]: v for k, v in field_errors(error).items()}
            if form.get("type") not in TARGET_TYPES:
                errors["type"] = "choose one of " + ", ".join(TARGET_TYPES)
            return await _targets_page(
                console,
                session,
                sealed,
                form=form,
                errors=errors,
                message=error.message,
                status=400,
            )
        # The key is shown once, now; the list below already holds the new target.
        return await _targets_page(
            console, session, sealed, created={"name": form.get("name", ""), **created}
        )

    return create


async def _target(console: Console, session: ConsoleSession, target_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await console.call(session, ACTIONS + "GetTarget", {"id": target_id}))[
        "target"
    ]
    return found


def pause_or_resume(console: Console, method: str) -> Page:
    async def change(request: Request, session: ConsoleSession, sealed: str) -> Response:
        await console.call(session, ACTIONS + method, {"id": request.path_params["id"]})
        return RedirectResponse(f"{COOKIE_PATH}/targets", status_code=303)

    return change


def confirm_delete(console: Console) -> Page:
    """Deleting a target, confirmed: the executions that call it are listed first."""

    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        target_id = request.path_params["id"]
        target = await _target(console, session, target_id)
        found = await console.call(session, ACTIONS + "ListExecutions", {"query": {"limit": 1000}})
        using = [
            condition_text(e["condition"]) for e in found["executions"] if target_id in e["targets"]
        ]
        return console.render(
            "target_delete.html", session, sealed, active="targets", target=target, using=using
        )

    return show


def delete_target(console: Console) -> Page:
    async def delete(request: Request, session: ConsoleSession, sealed: str) -> Response:
        await console.call(session, ACTIONS + "DeleteTarget", {"id": request.path_params["id"]})
        return RedirectResponse(f"{COOKIE_PATH}/targets", status_code=303)

    return delete


def routes(console: Console) -> list[BaseRoute]:
    return [
        Route(f"{COOKIE_PATH}/targets", console.page(targets(console)), methods=["GET"]),
        Route(
            f"{COOKIE_PATH}/targets",
            console.page(create_target(console), writes=True),
            methods=["POST"],
        ),
        Route(
            f"{COOKIE_PATH}/targets/{{id}}/pause",
            console.page(pause_or_resume(console, "PauseTarget"), writes=True),
            methods=["POST"],
        ),
        Route(
            f"{COOKIE_PATH}/targets/{{id}}/resume",
            console.page(pause_or_resume(console, "ResumeTarget"), writes=True),
            methods=["POST"],
        ),
        Route(
            f"{COOKIE_PATH}/targets/{{id}}/delete",
            console.page(confirm_delete(console)),
            methods=["GET"],
        ),
        Route(
            f"{COOKIE_PATH}/targets/{{id}}/delete",
            console.page(delete_target(console), writes=True),
            methods=["POST"],
        ),
    ]
