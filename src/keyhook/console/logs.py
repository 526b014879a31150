"""The console's **Deliveries** pages (event and ``restAsync`` deliveries, found by id
or ``webhook-id``, their attempts with the request each sent, retry), over
ListDeliveries, GetDelivery and RetryDelivery. Replaying a target's deliveries is
replay.py; the record of synchronous calls is calls.py."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from keyhook.clock import iso
from keyhook.console.forms import (
    LOCAL_FORMAT,
    field_errors,
    offset_of,
    page_number,
    pages,
    utc_moment,
)
from keyhook.console.session import COOKIE_PATH, ConsoleSession
from keyhook.errors import KeyhookError, NotFound, PermissionDenied

if TYPE_CHECKING:
    from keyhook.console.app import Console, Page

ACTIONS = "/zitadel.action.v2.ActionService/"
RANGES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
RANGE_NAMES = {"1h": "in the last hour", "24h": "in the last 24 hours", "7d": "in the last 7 days"}
STATES = ("pending", "succeeded", "failed")
ANSWER_SHOWN = 4096  # bytes of a receiver's answer the timeline shows
LIVE_POLL = 0.4  # seconds between the live tail's looks: a change shows within ~0.5 s
LIVE_SECONDS = 60.0  # a stream's length; the browser reconnects
# Streams open at once in this process: per person (a few tabs), and in all, so live
# tails cannot take the connections and the database from everything else.
LIVE_PER_PERSON = 3
LIVE_IN_ALL = 32
# The Deliveries page's filters (its query's names), and the API's names for them.
_FILTERS = ("target", "status", "trigger", "http", "range", "from", "to", "order")
API_FIELDS = {"httpStatus": "http", "targetId": "target"}
# What the search box takes: a delivery id, or its webhook-id (msg_<id>).
_DELIVERY_ID = re.compile(r"(?:msg_)?([0-9]{1,19})")


async def target_names(console: Console, session: ConsoleSession) -> dict[str, str]:
    found = await console.call(session, ACTIONS + "ListTargets", {"query": {"limit": 1000}})
    return {t["id"]: t["name"] for t in found["targets"]}


def _delivery_filter(
    q: Mapping[str, str], names: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """ListDeliveries' message for the page's filters, and the problems by field of
    those the console reads itself (a custom range's times)."""
    message, errors = log_filter(q, names)
    if q.get("status") in STATES:
        message["status"] = q["status"]
    return message, errors


def log_filter(
    q: Mapping[str, str], names: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The filters the delivery and the call logs share (order, target, trigger, HTTP
    status, time range) as the API's message, and the custom times' problems."""
    message: dict[str, Any] = {"query": {"limit": 100, "asc": q.get("order") == "oldest"}}
    if q.get("target") in names:
        message["targetId"] = q["target"]
    if q.get("trigger"):
        message["trigger"] = q["trigger"]
    if q.get("http", "").strip():
        message["httpStatus"] = q["http"].strip()
    moments, errors = range_filter(q)
    message.update(moments)
    return message, errors


def range_filter(q: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The API's ``from`` and ``to`` for a page's time range (a preset, or a custom
    from - to in UTC), and the problems by field of the custom times."""
    moments: dict[str, str] = {}
    errors: dict[str, str] = {}
    if q.get("range") in RANGES:
        moments["from"] = iso(datetime.now(UTC) - RANGES[q["range"]])
        return moments, errors
    for name in ("from", "to"):  # when given (the range "from - to", or none chosen)
        text = q.get(name, "").strip()
        moment = utc_moment(text) if text else None
        if moment is not None:
            moments[name] = iso(moment)
        elif text:
            errors[name] = f"is not a date and time (allowed: {LOCAL_FORMAT})"
    return moments, errors


async def _find(console: Console, session: ConsoleSession, wanted: str) -> str | Response:
    """The search box: the delivery's page for an exact id or webhook-id, else why not."""
    match = _DELIVERY_ID.fullmatch(wanted)
    if match is None:
        return "is not a delivery id or webhook-id (allowed: digits, or msg_ and digits)"
    try:
        await console.call(session, ACTIONS + "GetDelivery", {"id": match.group(1)})
    except NotFound:
        return f"no delivery has the id {match.group(1)}"
    return RedirectResponse(f"{COOKIE_PATH}/deliveries/{match.group(1)}", status_code=303)


def deliveries(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        q = request.query_params
        find = q.get("find", "").strip()
        not_found = ""
        if find:
            found_one = await _find(console, session, find)
            if not isinstance(found_one, str):
                return found_one
            not_found = found_one
        names = await target_names(console, session)
        message, errors = _delivery_filter(q, names)
        number = page_number(q)
        message["query"]["offset"] = offset_of(number)
        found: dict[str, Any] = {"deliveries": [], "pagination": {"totalResult": "0"}}
        if not errors:
            try:
                found = await console.call(session, ACTIONS + "ListDeliveries", message)
            except PermissionDenied:
                raise  # the page says so (403), as for any refused call
            except KeyhookError as error:
                # The API's field names are the form's: httpStatus is the "http" field.
                errors = {API_FIELDS.get(k, k): v for k, v in field_errors(error).items()}
                errors = errors or {"": error.message}
        return console.render(
            "deliveries.html",
            session,
            sealed,
            status=400 if errors else 200,
            active="deliveries",
            deliveries=found["deliveries"],
            total=found["pagination"]["totalResult"],
            pages=pages(q, number, found["pagination"]["totalResult"]),
            names=names,
            errors=errors,
            filters={k: q.get(k, "") for k in _FILTERS},
            states=STATES,
            ranges=RANGE_NAMES,
            query=request.url.query,
            find=find,
            not_found=not_found,
            replayed=q.get("replayed", "") if q.get("replayed", "").isdigit() else "",
            may_replay=q.get("target") in names
            and await console.allowed(session, ACTIONS + "ReplayTargetDeliveries"),
        )

    return show


def live(console: Console) -> Page:
    """The live tail (server-sent events): each delivery of the page's filters that is
    new or changed (an attempt, a state) since the page was drawn, as the row to show,
    newest last. Polled every ``LIVE_POLL`` seconds through ListDeliveries, as the
    person; a stream ends after ``LIVE_SECONDS`` and the browser opens the next."""

    async def stream(request: Request, session: ConsoleSession, sealed: str) -> Response:
        mine, everyone = console.streams.get(session.user_id, 0), console.streams.get("", 0)
        if mine >= LIVE_PER_PERSON or everyone >= LIVE_IN_ALL:
            return Response(
                f"too many live views open (at most {LIVE_PER_PERSON} a person, "
                f"{LIVE_IN_ALL} in all): close one, or reload this page later",
                status_code=429,
                media_type="text/plain",
            )
        # The slot is taken before anything is awaited, so streams opened at once are
        # counted at once; it is given back exactly once, however the stream ends (or
        # if it never starts: the response's background task runs in every case).
        console.streams[session.user_id] = mine + 1
        console.streams[""] = everyone + 1
        given_back = False

        def give_back() -> None:
            nonlocal given_back
            if not given_back:
                given_back = True
                console.streams[session.user_id] -= 1
                console.streams[""] -= 1

        try:
            q = request.query_params
            names = await target_names(console, session)
            message, _ = _delivery_filter(q, names)  # a time not understood is left out
            message["query"] = {"limit": 50, "asc": False}
            first = await console.call(session, ACTIONS + "ListDeliveries", message)
        except BaseException:
            give_back()
            raise
        seen = {d["id"]: d["changeDate"] for d in first["deliveries"]}
        row = console.templates.get_template("delivery_row.html")

        async def events() -> AsyncIterator[str]:
            try:
                async for event in changes():
                    yield event
            finally:
                give_back()

        async def changes() -> AsyncIterator[str]:
            yield "retry: 2000\n\n"
            ends = time.monotonic() + LIVE_SECONDS
            while time.monotonic() < ends and not await request.is_disconnected():
                await asyncio.sleep(LIVE_POLL)
                try:
                    found = await console.call(session, ACTIONS + "ListDeliveries", message)
                except KeyhookError:  # signed out, or no longer allowed: the tail stops
                    yield "event: end\ndata: \n\n"
                    return
                for d in reversed(found["deliveries"]):
                    if seen.get(d["id"]) == d["changeDate"]:
                        continue
                    seen[d["id"]] = d["changeDate"]
                    if d["targetId"] not in names:
                        names.update(await target_names(console, session))
                    html = " ".join(row.render(d=d, names=names).split())
                    yield f"id: {d['id']}\nevent: delivery\ndata: {html}\n\n"

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            background=BackgroundTask(give_back),
        )

    return stream


def delivery(console: Console) -> Page:
    async def show(request: Request, session: ConsoleSession, sealed: str) -> Response:
        found = await console.call(
            session, ACTIONS + "GetDelivery", {"id": request.path_params["id"]}
        )
        item = found["delivery"]
        attempts = [
            {**a, "answer": (a["responseBody"] or "")[:ANSWER_SHOWN]} for a in item["attemptLog"]
        ]
        listed = await console.call(session, ACTIONS + "ListTargets", {"query": {"limit": 1000}})
        target = next((t for t in listed["targets"] if t["id"] == item["targetId"]), None)
        return console.render(
            "delivery.html",
            session,
            sealed,
            active="deliveries",
            delivery=item,
            target_name=item["targetId"] if target is None else target["name"],
            target_paused=target is not None and bool(target.get("paused")),
            due_in=_due_in(item["nextAttemptDate"]),
            payload=orjson.dumps(item["payload"], option=orjson.OPT_INDENT_2).decode(),
            body_bytes=len(item["body"].encode()),
            attempts=attempts,
            may_retry=await console.allowed(session, ACTIONS + "RetryDelivery")
            and item["status"] != "pending",
        )

    return show


def _due_in(moment: str | None) -> str:
    """When a pending delivery's next attempt is due, from now: ``in 4 min 10 s``."""
    if moment is None:
        return ""
    seconds = (datetime.fromisoformat(moment) - datetime.now(UTC)).total_seconds()
    if seconds <= 1:
        return "due now"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"in {hours} h {minutes} min"
    return f"in {minutes} min {rest} s" if minutes else f"in {rest} s"


def retry(console: Console) -> Page:
    async def send(request: Request, session: ConsoleSession, sealed: str) -> Response:
        delivery_id = request.path_params["id"]
        await console.call(session, ACTIONS + "RetryDelivery", {"id": delivery_id})
        return RedirectResponse(f"{COOKIE_PATH}/deliveries/{delivery_id}", status_code=303)

    return send


def routes(console: Console) -> list[BaseRoute]:
    return [
        Route(f"{COOKIE_PATH}/deliveries", console.page(deliveries(console)), methods=["GET"]),
        Route(f"{COOKIE_PATH}/deliveries/live", console.page(live(console)), methods=["GET"]),
        Route(f"{COOKIE_PATH}/deliveries/{{id}}", console.page(delivery(console)), methods=["GET"]),
        Route(
            f"{COOKIE_PATH}/deliveries/{{id}}/retry",
            console.page(retry(console), writes=True),
            methods=["POST"],
        ),
    ]
