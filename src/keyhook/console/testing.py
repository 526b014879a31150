"""The console's **Test a hook** page: a target, a method, function or event, a payload
(a sample, editable, or filled from a real user picked from a list), sent signed
through TestTarget, and the whole exchange with how Keyhook reads the answer.

A function is always tested for a real user (the payload token issuance would send
for them): the one picked, else the person testing."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from keyhook.console.forms import field_errors
from keyhook.console.session import COOKIE_PATH, ConsoleSession
from keyhook.errors import KeyhookError, PermissionDenied

if TYPE_CHECKING:
    from keyhook.console.app import Console, Page

ACTIONS = "/zitadel.action.v2.ActionService/"
ADD_HUMAN = "/zitadel.user.v2.UserService/AddHumanUser"
SAMPLE_REQUEST = {
    "user": {
        "userName": "jane@example.com",
        "profile": {"givenName": "Jane", "familyName": "Roe"},
        "email": {"email": "jane@example.com"},
    }
}
SAMPLE_EVENT = {
    "userId": "100000000000000001",
    "userName": "jane@example.com",
    "lockedAt": "2026-01-01T00:00:00Z",
    "reason": "Locked by administrator",
}
KINDS = {
    "request": "a request",
    "response": "a response",
    "function": "a function (token issuance)",
    "event": "an event",
}
USERS = "/zitadel.user.v2.UserService/"
USERS_LISTED = 200


def from_user(kind: str, subject: str, user: dict[str, Any], message: str) -> dict[str, Any]:
    """A payload built from a real user (GetUserByID's answer): for AddHumanUser the
    user as it would be added, for another method the user's id, for an event its data
    with the user's id and name (merged into what the form held)."""
    human = user.get("human") or {}
    if kind in ("request", "response") and subject == ADD_HUMAN and human:
        profile = human.get("profile", {})
        return {
            "user": {
                "userName": user["username"],
                "profile": {
                    k: profile[k]
                    for k in ("givenName", "familyName", "displayName")
                    if k in profile
                },
                "email": {"email": human.get("email", {}).get("email", "")},
            }
        }
    if kind == "event":
        try:
            held = orjson.loads(message or "{}")
        except orjson.JSONDecodeError:
            held = {}
        held = held if isinstance(held, dict) else {}
        return {**held, "userId": user["userId"], "userName": user["username"]}
    return {"userId": user["userId"]}


# TestTarget's field names, by the form field they concern.
_FORM_FIELDS = {
    "id": "target",
    "method": "subject",
    "name": "subject",
    "event": "subject",
    "userId": "user",
    "message": "message",
    "eventData": "message",
    "response": "response",
}


def form_errors(error: KeyhookError) -> dict[str, str]:
    """TestTarget's problems (``request.method``, ``function.userId``, …) by the form
    field beside which each shows; a bare "unknown" shows the whole message (which
    names the nearest known values)."""
    shown: dict[str, str] = {}
    for name, problem in field_errors(error).items():
        if problem.startswith("unknown"):
            problem = error.message
        parts = name.split(".")
        leaf = parts[1] if len(parts) > 1 else parts[0]
        shown.setdefault(_FORM_FIELDS.get(leaf, _FORM_FIELDS.get(parts[0], "")), problem)
    shown.pop("", None)
    return shown


def _pretty(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


def message_diff(sent: Any, returned: Any) -> list[tuple[str, str]]:
    """What a target changed in the message, as a unified diff of the two pretty
    JSON texts (keys sorted, so only real changes show): (kind, line) with kind
    ``add``, ``del``, ``hunk`` or ``same``."""
    lines = difflib.unified_diff(
        _pretty(sent).splitlines(), _pretty(returned).splitlines(), "sent", "returned", n=2
    )
    kinds = {"+": "add", "-": "del", "@": "hunk"}
    return [
        (kinds.get(line[:1], "same"), line) for line in lines if not line.startswith(("+++", "---"))
    ]


async def _page(
    console: Console,
    session: ConsoleSession,
    sealed: str,
    form: dict[str, str],
    *,
    result: dict[str, Any] | None = None,
    problem: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    listed = await console.call(session, ACTIONS + "ListTargets", {"query": {"limit": 1000}})
    methods = (await console.call(session, ACTIONS + "ListExecutionMethods"))["methods"]
    events = (await console.call(session, ACTIONS + "ListExecutionEvents"))["events"]
    functions = (await console.call(session, ACTIONS + "ListExecutionFunctions"))["functions"]
    people: list[tuple[str, str]] = []
    if await console.allowed(session, USERS + "ListUsers"):
        found = await console.call(
            session, USERS + "ListUsers", {"query": {"limit": USERS_LISTED, "asc": True}}
        )
        people = [(u["userId"], u["username"]) for u in found["result"]]
    shown = None
    if result is not None:
        reading = result["reading"]
        shown = {
            **result,
            "body_pretty": _pretty(orjson.loads(result["sent"]["body"])),
            "changed_pretty": _pretty(reading[form.get("kind", "request")])
            if reading.get("outcome") == "modified"
            else "",
            "diff": message_diff(
                orjson.loads(result["sent"]["body"]).get(form.get("kind", "request")),
                reading[form.get("kind", "request")],
            )
            if reading.get("outcome") == "modified"
            else [],
            "claims_pretty": _pretty({**reading.get("claims", {}), **reading.get("logClaims", {})}),
        }
    return console.render(
        "test.html",
        session,
        sealed,
        status=status,
        active="test",
        targets=[(t["id"], t["name"]) for t in listed["targets"]],
        catalog=[*methods, *functions, *events],
        people=people,
        kinds=KINDS,
        form=form,
        result=shown,
        problem=problem,
        errors=errors or {},
    )


def _defaults() -> dict[str, str]:
    return {
        "kind": "request",
        "subject": ADD_HUMAN,
        "message": _pretty(SAMPLE_REQUEST),
        "response": _pretty({"userId": "100000000000000001"}),
    }


def show_test(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        form = _defaults()
        if request.query_params.get("kind") == "event":
            form.update(kind="event", subject="user.locked", message=_pretty(SAMPLE_EVENT))
        if request.query_params.get("kind") == "function":
            form.update(kind="function", subject="preaccesstoken", message="")
        return await _page(console, session, sealed, form)

    return show


def run_test(console: Console) -> Page:
    async def run(request: Request, session: ConsoleSession, sealed: str) -> Response:
        form: dict[str, str] = dict(request.state.form)
        kind, subject = form.get("kind", "request"), form.get("subject", "")
        if kind not in KINDS:
            return await _page(
                console,
                session,
                sealed,
                {**form, "kind": "request"},
                problem=f"Call for: choose one of {', '.join(KINDS)}.",
                status=400,
            )
        if form.get("action") == "fill":
            if not form.get("user"):
                return await _page(
                    console, session, sealed, form, problem="Pick a user to fill from.", status=400
                )
            found = await console.call(session, USERS + "GetUserByID", {"userId": form["user"]})
            form["message"] = _pretty(
                from_user(kind, subject, found["user"], form.get("message", ""))
            )
            return await _page(console, session, sealed, form)
        parsed: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name in ("message", "response"):
            try:
                parsed[name] = orjson.loads(form.get(name) or "{}")
            except orjson.JSONDecodeError as exc:
                errors[name] = f"is not JSON: {exc}"
        if errors:
            return await _page(
                console,
                session,
                sealed,
                form,
                problem="The payload is not JSON.",
                errors=errors,
                status=400,
            )
        message, response = parsed["message"], parsed["response"]
        body: dict[str, Any] = {"id": form.get("target", "")}
        if kind == "function":
            body["function"] = {"name": subject}
            if form.get("user"):
                body["function"]["userId"] = form["user"]
        elif kind == "event":
            body["event"] = {"event": subject, "eventData": message}
        elif kind == "response":
            body["response"] = {"method": subject, "message": message, "response": response}
        else:
            body["request"] = {"method": subject, "message": message}
        try:
            result = await console.call(session, ACTIONS + "TestTarget", body)
        except PermissionDenied:
            raise
        except KeyhookError as error:
            return await _page(
                console,
                session,
                sealed,
                form,
                problem=error.message,
                errors=form_errors(error),
                status=400,
            )
        return await _page(console, session, sealed, form, result=result)

    return run


def routes(console: Console) -> list[BaseRoute]:
    return [
        Route(f"{COOKIE_PATH}/test", console.page(show_test(console)), methods=["GET"]),
        Route(
            f"{COOKIE_PATH}/test", console.page(run_test(console), writes=True), methods=["POST"]
        ),
    ]
