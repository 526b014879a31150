"""The Executions page: every condition with its targets in order, the editor that sets
one (the condition picked from the catalog, the targets numbered, and a new target
created without leaving the editor), and "Which execution fires?".

May touch the console's frame (:class:`keyhook.console.app.Console`) and the API's
operations through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from keyhook.console.forms import field_errors
from keyhook.console.pages import ACTIONS, KINDS, TARGET_TYPES, condition_text, target_body
from keyhook.console.session import COOKIE_PATH, ConsoleSession
from keyhook.errors import KeyhookError, PermissionDenied

if TYPE_CHECKING:
    from keyhook.console.app import Console, Page

#: The new-target fields inside the execution editor are named with this prefix.
NEW = "new-"


async def _executions_page(
    console: Console,
    request: Request,
    session: ConsoleSession,
    sealed: str,
    *,
    form: dict[str, str] | None = None,
    problem: str = "",
    new_target: dict[str, Any] | None = None,
    new_errors: dict[str, str] | None = None,
    new_problem: str = "",
    status: int = 200,
) -> Response:
    found = await console.call(session, ACTIONS + "ListExecutions", {"query": {"limit": 1000}})
    rows = [
        {
            "condition": condition_text(e["condition"]),
            "wire": e["condition"],
            "targets": list(zip(e["targets"], e["targetNames"], strict=True)),
        }
        for e in found["executions"]
    ]
    methods = (await console.call(session, ACTIONS + "ListExecutionMethods"))["methods"]
    services = (await console.call(session, ACTIONS + "ListExecutionServices"))["services"]
    events = await console.call(session, ACTIONS + "ListExecutionEvents")
    functions = (await console.call(session, ACTIONS + "ListExecutionFunctions"))["functions"]
    kind = request.query_params.get("kind", "request")
    value = request.query_params.get("value", "")
    explained: dict[str, Any] | None = None
    explain_problem = ""
    if value and kind in KINDS:
        selector = {"request": "method", "response": "method", "function": "name"}.get(
            kind, "event"
        )
        try:
            explained = await console.call(
                session, ACTIONS + "ExplainExecution", {kind: {selector: value}}
            )
        except KeyhookError as error:
            explain_problem = error.message
    if explained is not None:
        explained = {
            **explained,
            "fires_text": condition_text(explained["fires"]["condition"])
            if explained["fires"]
            else "",
            "shadowed_text": [
                (condition_text(s["condition"]), s["targetNames"]) for s in explained["shadowed"]
            ],
        }
    may_set = await console.allowed(session, ACTIONS + "SetExecution")
    may_create = may_set and await console.allowed(session, ACTIONS + "CreateTarget")
    targets = []
    if may_set:
        listed = await console.call(session, ACTIONS + "ListTargets", {"query": {"limit": 1000}})
        targets = [(t["id"], t["name"]) for t in listed["targets"]]
    return console.render(
        "executions.html",
        session,
        sealed,
        status=status,
        active="executions",
        executions=rows,
        kinds=KINDS,
        kind=kind,
        value=value,
        explained=explained,
        problem=explain_problem,
        choices={
            "request": methods,
            "response": methods,
            "function": functions,
            "event": events["events"],
        },
        catalog=[*methods, *services, *functions, *events["events"], *events["groups"]],
        may_set=may_set,
        targets=targets,
        form=form or {"kind": "request", "selector": "method", NEW + "type": "restWebhook"},
        set_problem=problem,
        may_create=may_create,
        types=TARGET_TYPES,
        created=new_target,
        new_errors=new_errors or {},
        new_problem=new_problem,
    )


def executions(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        return await _executions_page(console, request, session, sealed)

    return show


def _chosen_targets(form: dict[str, str]) -> list[str]:
    """The targets given a position (1, 2, …) in the form, in that order."""
    chosen: list[tuple[int, str]] = []
    for name, value in form.items():
        if name.startswith("position-") and value.strip():
            try:
                chosen.append((int(value), name.removeprefix("position-")))
            except ValueError:
                chosen.append((10_000, name.removeprefix("position-")))
    return [target for _, target in sorted(chosen)]


def set_execution(console: Console) -> Page:
    async def set_(request: Request, session: ConsoleSession, sealed: str) -> Response:
        form: dict[str, str] = request.state.form
        kind, selector = form.get("kind", ""), form.get("selector", "")
        value: Any = True if selector == "all" else form.get("value", "")
        body = {"condition": {kind: {selector: value}}, "targets": _chosen_targets(form)}
        if form.get("remove") == "yes":
            body["targets"] = []
        try:
            await console.call(session, ACTIONS + "SetExecution", body)
        except PermissionDenied:
            raise
        except KeyhookError as error:
            return await _executions_page(
                console, request, session, sealed, form=form, problem=error.message, status=400
            )
        return RedirectResponse(f"{COOKIE_PATH}/executions", status_code=303)

    return set_


def create_target_in_editor(console: Console) -> Page:
    """ "New target" inside the execution editor: the target is created and the editor
    drawn again as it was, with the new target numbered next and its key shown once."""

    async def create(request: Request, session: ConsoleSession, sealed: str) -> Response:
        form: dict[str, str] = dict(request.state.form)
        fields = {k.removeprefix(NEW): v for k, v in form.items() if k.startswith(NEW)}
        try:
            created = await console.call(session, ACTIONS + "CreateTarget", target_body(fields))
        except PermissionDenied:
            raise
        except KeyhookError as error:
            errors = {NEW + k.split(".")[0]: v for k, v in field_errors(error).items()}
            if fields.get("type") not in TARGET_TYPES:
                errors[NEW + "type"] = "choose one of " + ", ".join(TARGET_TYPES)
            return await _executions_page(
                console,
                request,
                session,
                sealed,
                form=form,
                new_errors=errors,
                new_problem=error.message,
                status=400,
            )
        taken = [
            p for p in (_position(v) for k, v in form.items() if k.startswith("position-")) if p
        ]
        form[f"position-{created['id']}"] = str(max(taken, default=0) + 1)
        for key in [k for k in form if k.startswith(NEW)]:
            del form[key]
        form[NEW + "type"] = "restWebhook"
        return await _executions_page(
            console,
            request,
            session,
            sealed,
            form=form,
            new_target={"name": fields.get("name", ""), **created},
        )

    return create


def _position(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def routes(console: Console) -> list[BaseRoute]:
    return [
        Route(f"{COOKIE_PATH}/executions", console.page(executions(console)), methods=["GET"]),
        Route(
            f"{COOKIE_PATH}/executions",
            console.page(set_execution(console), writes=True),
            methods=["POST"],
        ),
        Route(
            f"{COOKIE_PATH}/executions/new-target",
            console.page(create_target_in_editor(console), writes=True),
            methods=["POST"],
        ),
    ]
