"""A target's own page: its settings, editing them, its custom headers (write-only),
and rotating its signing key with an overlap chosen from a list.

Custom header values never come back from the API (it shows a mask); the form sends
the mask for a header it keeps, a new value for one it replaces, and leaves out one
it removes, so a value is typed only to change it. May touch the console's frame
(:class:`keyhook.console.app.Console`) and the API's operations through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from keyhook.console.forms import field_errors
from keyhook.console.pages import ACTIONS, TARGET_TYPES, condition_text, target_body
from keyhook.console.session import COOKIE_PATH, ConsoleSession
from keyhook.domain.target import HEADER_MASK
from keyhook.errors import KeyhookError, PermissionDenied

if TYPE_CHECKING:
    from keyhook.console.app import Console, Page

#: How long the old key keeps signing after a rotation (the API takes 0s to 720h).
OVERLAPS = {
    "0s": "None: the old key stops now (for a leaked key)",
    "1h": "1 hour",
    "24h": "24 hours",
    "168h": "7 days",
    "720h": "30 days",
}
DEFAULT_OVERLAP = "24h"
#: Empty rows the form offers for new headers.
NEW_HEADER_ROWS = 2


def _form_of(target: dict[str, Any]) -> dict[str, str]:
    kind = next((k for k in TARGET_TYPES if k in target), "")
    form = {
        "name": target["name"],
        "endpoint": target["endpoint"],
        "timeout": target["timeout"],
        "type": kind,
    }
    if kind and target[kind].get("interruptOnError"):
        form["interruptOnError"] = "on"
    return form


def headers_of(form: dict[str, str]) -> tuple[dict[str, str], bool]:
    """The headers the form asks for, masked where kept, and whether that changes
    anything (a form that only keeps every saved header sends none)."""
    headers: dict[str, str] = {}
    changed = False
    try:
        rows = min(int(form.get("header-rows", "0")), 40)
    except ValueError:
        rows = 0
    for i in range(rows):
        name = form.get(f"h{i}-name", "").strip()
        value = form.get(f"h{i}-value", "")
        saved = form.get(f"h{i}-saved") == "yes"
        if not name or (not saved and not value):
            continue
        if form.get(f"h{i}-remove") == "on":
            changed = changed or saved
            continue
        if saved and not value:
            value = HEADER_MASK
        else:
            changed = True
        headers[name] = value
    return headers, changed


async def _target_page(
    console: Console,
    session: ConsoleSession,
    sealed: str,
    target_id: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str = "",
    rotated: dict[str, Any] | None = None,
    saved: bool = False,
    status: int = 200,
) -> Response:
    target = (await console.call(session, ACTIONS + "GetTarget", {"id": target_id}))["target"]
    found = await console.call(session, ACTIONS + "ListExecutions", {"query": {"limit": 1000}})
    using = [
        condition_text(e["condition"]) for e in found["executions"] if target_id in e["targets"]
    ]
    kind = next((k for k in TARGET_TYPES if k in target), "")
    return console.render(
        "target.html",
        session,
        sealed,
        status=status,
        active="targets",
        target=target,
        kind=kind,
        interrupt=bool(target.get(kind, {}).get("interruptOnError")),
        using=using,
        headers=sorted(target["headers"]),
        new_rows=range(len(target["headers"]), len(target["headers"]) + NEW_HEADER_ROWS),
        may_update=await console.allowed(session, ACTIONS + "UpdateTarget"),
        types=TARGET_TYPES,
        overlaps=OVERLAPS,
        overlap=DEFAULT_OVERLAP,
        form=form or _form_of(target),
        errors=errors or {},
        message=message,
        rotated=rotated,
        saved=saved,
    )


def show_target(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        saved = request.query_params.get("saved") == "1"
        return await _target_page(console, session, sealed, request.path_params["id"], saved=saved)

    return show


def update_target(console: Console) -> Page:
    async def update(request: Request, session: ConsoleSession, sealed: str) -> Response:
        target_id = request.path_params["id"]
        form: dict[str, str] = request.state.form
        # The form replaces every header: one opened before another change would undo
        # it, so a save from a page older than the target is refused, not applied.
        # (Checked for a person who may save at all: for anyone else the operation's
        # own refusal answers.)
        current = (await console.call(session, ACTIONS + "GetTarget", {"id": target_id}))["target"]
        may_save = await console.allowed(session, ACTIONS + "UpdateTarget")
        if may_save and form.get("changeDate") != current["changeDate"]:
            return await _target_page(
                console,
                session,
                sealed,
                target_id,
                message="The target was changed since this page was opened (at "
                f"{current['changeDate']}): nothing was saved. Its settings are shown as "
                "they are now; make your change again.",
                status=409,
            )
        body = {"id": target_id, **target_body(form)}
        headers, headers_changed = headers_of(form)
        if headers_changed:
            body["headers"] = headers
        try:
            await console.call(session, ACTIONS + "UpdateTarget", body)
        except PermissionDenied:
            raise
        except KeyhookError as error:
            # Header values typed are not written back into the page: they are secrets.
            kept = {k: v for k, v in form.items() if not k.endswith("-value")}
            return await _target_page(
                console,
                session,
                sealed,
                target_id,
                form=kept,
                errors=field_errors(error),
                message=error.message,
                status=400,
            )
        return RedirectResponse(f"{COOKIE_PATH}/targets/{target_id}?saved=1", status_code=303)

    return update


def rotate_key(console: Console) -> Page:
    async def rotate(request: Request, session: ConsoleSession, sealed: str) -> Response:
        target_id = request.path_params["id"]
        overlap = request.state.form.get("overlap", "")
        if overlap not in OVERLAPS:
            return await _target_page(
                console,
                session,
                sealed,
                target_id,
                errors={"overlap": "choose one of the listed overlaps"},
                status=400,
            )
        answer = await console.call(
            session, ACTIONS + "UpdateTarget", {"id": target_id, "expirationSigningKey": overlap}
        )
        return await _target_page(
            console,
            session,
            sealed,
            target_id,
            rotated={"key": answer["signingKey"], "overlap": overlap},
        )

    return rotate


def routes(console: Console) -> list[BaseRoute]:
    return [
        Route(f"{COOKIE_PATH}/targets/{{id}}", console.page(show_target(console)), methods=["GET"]),
        Route(
            f"{COOKIE_PATH}/targets/{{id}}",
            console.page(update_target(console), writes=True),
            methods=["POST"],
        ),
        Route(
            f"{COOKIE_PATH}/targets/{{id}}/rotate",
            console.page(rotate_key(console), writes=True),
            methods=["POST"],
        ),
    ]
