"""The console's replay of a target's deliveries, previewed: a range (the last hour,
24 hours, 7 days, or from and to) and "only failed"; the preview counts what would be
sent again (ReplayTargetDeliveries with ``preview``), and only a confirmation replays.

The preview pins the range's end to the moment it was made, so the confirmation
replays the deliveries that were counted, not ones written since. Both steps are
posts with the CSRF value and both need ``action.delivery.write`` (the operation's
permission): the form is offered only to people who hold it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from keyhook.clock import iso, now
from keyhook.console.forms import LOCAL_FORMAT, field_errors, utc_moment
from keyhook.console.logs import ACTIONS, RANGE_NAMES, RANGES
from keyhook.console.session import COOKIE_PATH, ConsoleSession
from keyhook.errors import KeyhookError, PermissionDenied

if TYPE_CHECKING:
    from keyhook.console.app import Console, Page

REPLAY = ACTIONS + "ReplayTargetDeliveries"


def chosen_range(form: dict[str, str], at: datetime) -> tuple[str, str] | dict[str, str]:
    """The form's range as ReplayTargetDeliveries' ``from`` and ``to`` (the end pinned to
    ``at`` when open), or the problems by field."""
    kind = form.get("range", "")
    if kind in RANGES:
        return iso(at - RANGES[kind]), iso(at)
    if kind != "custom":
        return {"range": "choose the last hour, 24 hours, 7 days, or a custom range"}
    errors: dict[str, str] = {}
    since = utc_moment(form.get("from", "").strip())
    until = utc_moment(form.get("to", "").strip()) if form.get("to", "").strip() else at
    if not form.get("from", "").strip():
        errors["from"] = "is required for a custom range"
    elif since is None:
        errors["from"] = f"is not a date and time (allowed: {LOCAL_FORMAT})"
    if until is None:
        errors["to"] = f"is not a date and time (allowed: {LOCAL_FORMAT}; empty: up to now)"
    if errors or since is None or until is None:
        return errors
    return iso(since), iso(until)


async def _page(
    console: Console,
    session: ConsoleSession,
    sealed: str,
    target_id: str,
    form: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    preview: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    found = await console.call(session, ACTIONS + "GetTarget", {"id": target_id})
    return console.render(
        "replay.html",
        session,
        sealed,
        status=status,
        active="deliveries",
        target=found["target"],
        form=form,
        errors=errors or {},
        preview=preview,
        ranges=RANGE_NAMES,
    )


def replay_form(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        # Refused with the permission named, as the API would refuse the post.
        await console.pipeline.admitted(console.registry.operations[REPLAY], session.access_token)
        q = request.query_params
        form = {"range": "24h", "onlyFailed": "on" if q.get("onlyFailed") == "on" else ""}
        return await _page(console, session, sealed, request.path_params["id"], form)

    return show


def replay(console: Console) -> Page:
    async def post(request: Request, session: ConsoleSession, sealed: str) -> Response:
        target_id = request.path_params["id"]
        form: dict[str, str] = request.state.form
        only_failed = form.get("onlyFailed") == "on"
        if form.get("step") == "confirm":
            message = {"id": target_id, "from": form.get("from", ""), "onlyFailed": only_failed}
            if form.get("to"):
                message["to"] = form["to"]
            done = await console.call(session, REPLAY, message)
            return RedirectResponse(
                f"{COOKIE_PATH}/deliveries?target={target_id}&replayed={done['replayed']}",
                status_code=303,
            )
        chosen = chosen_range(form, now())
        if isinstance(chosen, dict):
            return await _page(console, session, sealed, target_id, form, errors=chosen, status=400)
        since, until = chosen
        message = {
            "id": target_id,
            "from": since,
            "to": until,
            "onlyFailed": only_failed,
            "preview": True,
        }
        try:
            counted = await console.call(session, REPLAY, message)
        except PermissionDenied:
            raise  # the page says so (403), as for any refused call
        except KeyhookError as error:
            errors = field_errors(error) or {"range": error.message}
            return await _page(console, session, sealed, target_id, form, errors=errors, status=400)
        preview = {
            "count": int(counted["count"]),
            "from": since,
            "to": until,
            "onlyFailed": only_failed,
        }
        return await _page(console, session, sealed, target_id, form, preview=preview)

    return post


def routes(console: Console) -> list[BaseRoute]:
    path = f"{COOKIE_PATH}/targets/{{id}}/replay"
    return [
        Route(path, console.page(replay_form(console)), methods=["GET"]),
        Route(path, console.page(replay(console), writes=True), methods=["POST"]),
    ]
