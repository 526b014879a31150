"""The console's **Users** (list and search, a user's details, metadata and recent
events, lock and unlock) and **Administrators** (who holds which roles) pages, over
ListUsers, GetUserByID, ListEvents, LockUser, UnlockUser and ListAdministrators."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from keyhook.console.session import COOKIE_PATH, ConsoleSession

if TYPE_CHECKING:
    from keyhook.console.app import Console, Page

USERS = "/zitadel.user.v2.UserService/"
EVENTS = "/zitadel.event.v2.EventService/ListEvents"
ADMINS = "/zitadel.internal_permission.v2.InternalPermissionService/ListAdministrators"
RECENT_EVENTS = 20


def users(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        text = request.query_params.get("q", "")
        message: dict[str, Any] = {"query": {"limit": 100}}
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
            q=text,
        )

    return show


def user(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        user_id = request.path_params["id"]
        found = (await console.call(session, USERS + "GetUserByID", {"userId": user_id}))["user"]
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


def administrators(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        found = await console.call(session, ADMINS, {"pagination": {"limit": 1000, "asc": True}})
        return console.render(
            "administrators.html",
            session,
            sealed,
            active="administrators",
            administrators=found["administrators"],
        )

    return show


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
    ]
