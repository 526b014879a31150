"""The console's log pages: **Deliveries** (event and ``restAsync`` deliveries, their
attempts, retry) and **Calls** (the record of synchronous target calls), over
ListDeliveries, GetDelivery, RetryDelivery and ListTargetCalls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from keyhook.clock import iso
from keyhook.console.session import COOKIE_PATH, ConsoleSession

if TYPE_CHECKING:
    from keyhook.console.app import Console, Page

ACTIONS = "/zitadel.action.v2.ActionService/"
RANGES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
STATES = ("pending", "succeeded", "failed")
ANSWER_SHOWN = 4096  # bytes of a receiver's answer the timeline shows


async def _target_names(console: Console, session: ConsoleSession) -> dict[str, str]:
    found = await console.call(session, ACTIONS + "ListTargets", {"query": {"limit": 1000}})
    return {t["id"]: t["name"] for t in found["targets"]}


def deliveries(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        q = request.query_params
        names = await _target_names(console, session)
        message: dict[str, Any] = {"query": {"limit": 100, "asc": q.get("order") == "oldest"}}
        if q.get("target") in names:
            message["targetId"] = q["target"]
        if q.get("status") in STATES:
            message["status"] = q["status"]
        if q.get("trigger"):
            message["trigger"] = q["trigger"]
        if q.get("range") in RANGES:
            message["from"] = iso(datetime.now(UTC) - RANGES[q["range"]])
        found = await console.call(session, ACTIONS + "ListDeliveries", message)
        return console.render(
            "deliveries.html",
            session,
            sealed,
            active="deliveries",
            deliveries=found["deliveries"],
            total=found["pagination"]["totalResult"],
            names=names,
            filters={k: q.get(k, "") for k in ("target", "status", "trigger", "range", "order")},
            states=STATES,
            ranges=RANGES,
        )

    return show


def delivery(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        found = await console.call(
            session, ACTIONS + "GetDelivery", {"id": request.path_params["id"]}
        )
        item = found["delivery"]
        attempts = [
            {**a, "answer": (a["responseBody"] or "")[:ANSWER_SHOWN]} for a in item["attemptLog"]
        ]
        names = await _target_names(console, session)
        return console.render(
            "delivery.html",
            session,
            sealed,
            active="deliveries",
            delivery=item,
            target_name=names.get(item["targetId"], item["targetId"]),
            payload=orjson.dumps(item["payload"], option=orjson.OPT_INDENT_2).decode(),
            attempts=attempts,
            may_retry=await console.allowed(session, ACTIONS + "RetryDelivery")
            and item["status"] != "pending",
        )

    return show


def retry(console: Console) -> Page:
    async def send(request: Request, session: ConsoleSession, sealed: str) -> Response:
        delivery_id = request.path_params["id"]
        await console.call(session, ACTIONS + "RetryDelivery", {"id": delivery_id})
        return RedirectResponse(f"{COOKIE_PATH}/deliveries/{delivery_id}", status_code=303)

    return send


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


def routes(console: Console) -> list[BaseRoute]:
    return [
        Route(f"{COOKIE_PATH}/deliveries", console.page(deliveries(console)), methods=["GET"]),
        Route(f"{COOKIE_PATH}/deliveries/{{id}}", console.page(delivery(console)), methods=["GET"]),
        Route(
            f"{COOKIE_PATH}/deliveries/{{id}}/retry",
            console.page(retry(console), writes=True),
            methods=["POST"],
        ),
        Route(f"{COOKIE_PATH}/calls", console.page(calls(console)), methods=["GET"]),
    ]
