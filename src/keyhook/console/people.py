"""The console's **Users** (list and search, a user's details, metadata and recent
events, lock and unlock) and **Administrators** (who holds which roles; granting,
changing and taking them away) pages, over ListUsers, GetUserByID, ListUserMetadata, ListEvents,
LockUser, UnlockUser and the InternalPermissionService's administrator operations.
The roles offered are the role tables of :mod:`keyhook.domain.roles`; which of them a
person may grant is the server's to say (no one grants above themselves)."""

from __future__ import annotations

from base64 import b64decode
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from keyhook.console.forms import PAGE_SIZE, field_errors, offset_of, page_number, pages
from keyhook.console.session import COOKIE_PATH, ConsoleSession
from keyhook.domain.roles import INSTANCE_ROLES, ORG_ROLES, ROLE_PURPOSES
from keyhook.errors import KeyhookError, PermissionDenied

if TYPE_CHECKING:
    from keyhook.console.app import Console, Page

USERS = "/zitadel.user.v2.UserService/"
EVENTS = "/zitadel.event.v2.EventService/ListEvents"
PERMISSIONS = "/zitadel.internal_permission.v2.InternalPermissionService/"
ADMINS = PERMISSIONS + "ListAdministrators"
ORGS = "/zitadel.org.v2.OrganizationService/"
RECENT_EVENTS = 20


def users(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        text = request.query_params.get("q", "")
        number = page_number(request.query_params)
        message: dict[str, Any] = {"query": {"limit": PAGE_SIZE, "offset": offset_of(number)}}
        if text:
            message["text"] = text
        found = await console.call(session, USERS + "ListUsers", message)
        return console.render(
            "users.html",
            session,
            sealed,
            active="users",
            users=found["result"],
            total=found["details"]["totalResult"],
            pages=pages(request.query_params, number, found["details"]["totalResult"]),
            q=text,
        )

    return show


def user(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        user_id = request.path_params["id"]
        found = (await console.call(session, USERS + "GetUserByID", {"userId": user_id}))["user"]
        listed_metadata = await console.call(
            session,
            USERS + "ListUserMetadata",
            {"userId": user_id, "pagination": {"limit": 1000, "asc": True}},
        )
        metadata = [
            {"key": m["key"], "value": b64decode(m["value"]).decode("utf-8", "replace")}
            for m in listed_metadata["metadata"]
        ]
        events: list[dict[str, Any]] = []
        if await console.allowed(session, EVENTS):
            listed = await console.call(session, EVENTS, {"aggregateId": user_id, "limit": 1000})
            events = listed["events"][-RECENT_EVENTS:][::-1]
        return console.render(
            "user.html",
            session,
            sealed,
            active="users",
            user=found,
            metadata=metadata,
            events=events,
            may_lock=await console.allowed(session, USERS + "LockUser"),
        )

    return show


def lock_or_unlock(console: Console, method: str) -> Page:
    async def change(request: Request, session: ConsoleSession, sealed: str) -> Response:
        user_id = request.path_params["id"]
        await console.call(session, USERS + method, {"userId": user_id})
        return RedirectResponse(f"{COOKIE_PATH}/users/{user_id}", status_code=303)

    return change


async def _administrators_page(
    console: Console,
    session: ConsoleSession,
    sealed: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str = "",
    status: int = 200,
) -> Response:
    found = await console.call(session, ADMINS, {"pagination": {"limit": 1000, "asc": True}})
    may_grant = await console.allowed(session, PERMISSIONS + "CreateAdministrator")
    people: list[dict[str, Any]] = []
    orgs: list[dict[str, Any]] = []
    if may_grant and await console.allowed(session, USERS + "ListUsers"):
        listed = await console.call(session, USERS + "ListUsers", {"query": {"limit": 500}})
        people = listed["result"]
    if may_grant and await console.allowed(session, ORGS + "ListOrganizations"):
        orgs = (await console.call(session, ORGS + "ListOrganizations", {}))["result"]
    return console.render(
        "administrators.html",
        session,
        sealed,
        status=status,
        active="administrators",
        administrators=found["administrators"],
        may_grant=may_grant,
        may_change=await console.allowed(session, PERMISSIONS + "UpdateAdministrator"),
        may_remove=await console.allowed(session, PERMISSIONS + "DeleteAdministrator"),
        instance_roles=[(r, ROLE_PURPOSES[r]) for r in INSTANCE_ROLES],
        org_roles=[(r, ROLE_PURPOSES[r]) for r in ORG_ROLES],
        people=people,
        orgs=orgs,
        form=form or {"resource": "instance"},
        errors=errors or {},
        message=message,
    )


def administrators(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        return await _administrators_page(console, session, sealed)

    return show


def _resource(value: str) -> dict[str, Any]:
    return {"instance": True} if value == "instance" else {"organizationId": value}


def _roles(form: dict[str, str]) -> list[str]:
    return [
        name.removeprefix("role-") for name, v in form.items() if name.startswith("role-") and v
    ]


def change_administrator(console: Console, method: str) -> Page:
    """Grant (CreateAdministrator), change (UpdateAdministrator) or take away
    (DeleteAdministrator) an administrator's roles; refusals show on the page."""

    async def change(request: Request, session: ConsoleSession, sealed: str) -> Response:
        form: dict[str, str] = request.state.form
        body: dict[str, Any] = {
            "userId": form.get("user", "").strip(),
            "resource": _resource(form.get("resource", "instance")),
        }
        if method != "DeleteAdministrator":
            body["roles"] = _roles(form)
        try:
            await console.call(session, PERMISSIONS + method, body)
        except PermissionDenied:
            raise
        except KeyhookError as error:
            errors = {k.split("[")[0].split(".")[0]: v for k, v in field_errors(error).items()}
            return await _administrators_page(
                console,
                session,
                sealed,
                form=form if method == "CreateAdministrator" else None,
                errors=errors if method == "CreateAdministrator" else {},
                message=error.message,
                status=400,
            )
        return RedirectResponse(f"{COOKIE_PATH}/administrators", status_code=303)

    return change


def routes(console: Console) -> list[BaseRoute]:
    return [
        Route(f"{COOKIE_PATH}/users", console.page(users(console)), methods=["GET"]),
        Route(f"{COOKIE_PATH}/users/{{id}}", console.page(user(console)), methods=["GET"]),
        Route(
            f"{COOKIE_PATH}/users/{{id}}/lock",
            console.page(lock_or_unlock(console, "LockUser"), writes=True),
            methods=["POST"],
        ),
        Route(
            f"{COOKIE_PATH}/users/{{id}}/unlock",
            console.page(lock_or_unlock(console, "UnlockUser"), writes=True),
            methods=["POST"],
        ),
        Route(
            f"{COOKIE_PATH}/administrators",
            console.page(administrators(console)),
            methods=["GET"],
        ),
        *(
            Route(
                f"{COOKIE_PATH}/administrators/{action}",
                console.page(change_administrator(console, method), writes=True),
                methods=["POST"],
            )
            for action, method in (
                ("grant", "CreateAdministrator"),
                ("change", "UpdateAdministrator"),
                ("remove", "DeleteAdministrator"),
            )
        ),
    ]
