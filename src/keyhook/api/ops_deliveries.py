"""The delivery log (``zitadel.action.v2.ActionService``, Keyhook's additions):
search deliveries, read one with its attempts, retry one, replay a target's,
pause and resume a target; the overview and the targets' health. Part of the
Actions API, so never wrapped by `all`; the call record (which target failed), the
overview and the targets' health, and pausing and resuming are in the recovery set
(:mod:`keyhook.api.registry`), the deliveries' reads, retry and replay are not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keyhook.api import messages as m
from keyhook.api.registry import Operation, Registry
from keyhook.clock import now
from keyhook.command.deliveries import DeliveryCommands, checked_range
from keyhook.command.targets import TargetCommands
from keyhook.command.writer import Writer
from keyhook.domain.caller import Caller
from keyhook.query.deliveries import CallQueries, DeliveryQueries
from keyhook.query.overview import OverviewQueries
from keyhook.query.target_health import TargetHealthQueries

SERVICE = "/zitadel.action.v2.ActionService/"


def register(registry: Registry, writer: Writer, wake: Callable[[], None]) -> None:
    queries = DeliveryQueries(writer.db)
    calls = CallQueries(writer.db)
    commands = DeliveryCommands(writer.db)
    targets = TargetCommands(writer)
    overviews = OverviewQueries(writer.db)
    health = TargetHealthQueries(writer.db)

    async def overview(caller: Caller, req: m.Empty) -> dict[str, Any]:
        return await overviews.overview(caller, now())

    async def list_health(caller: Caller, req: m.ListTargetHealthRequest) -> dict[str, Any]:
        return await health.search(
            caller, now(), req.query.offset, req.query.limit, target_ids=req.target_ids
        )

    async def list_deliveries(caller: Caller, req: m.ListDeliveriesRequest) -> dict[str, Any]:
        return await queries.search(
            caller,
            offset=req.query.offset,
            limit=req.query.limit,
            asc=req.query.asc,
            target_id=req.target_id,
            trigger=req.trigger,
            status=req.status,
            since=req.since,
            until=req.until,
            http_status=req.http_status,
        )

    async def list_calls(caller: Caller, req: m.ListCallsRequest) -> dict[str, Any]:
        return await calls.search(
            caller,
            offset=req.query.offset,
            limit=req.query.limit,
            target_id=req.target_id,
            trigger=req.trigger,
            failed_only=req.failed_only,
            # Newest first unless the query asks (Paging's default, oldest first, would
            # change what ListTargetCalls has always answered).
            asc=req.query.asc if "asc" in req.query.model_fields_set else False,
            since=req.since,
            until=req.until,
            http_status=req.http_status,
        )

    async def get_call(caller: Caller, req: m.IdRequest) -> dict[str, Any]:
        return await calls.get(caller, req.id)

    async def get_delivery(caller: Caller, req: m.IdRequest) -> dict[str, Any]:
        return await queries.get(caller, req.id)

    async def retry_delivery(caller: Caller, req: m.IdRequest) -> dict[str, Any]:
        answer = await commands.retry(caller, req.id)
        wake()
        return answer

    async def replay(caller: Caller, req: m.ReplayDeliveriesRequest) -> dict[str, Any]:
        await targets.ensure_exists(caller, req.id)
        answer = await commands.replay(
            caller, req.id, req.since, req.until, req.only_failed, preview=req.preview
        )
        if not req.preview:
            wake()
        return answer

    async def pause(caller: Caller, req: m.IdRequest) -> dict[str, Any]:
        return await targets.set_paused(caller, req.id, True)

    async def resume(caller: Caller, req: m.IdRequest) -> dict[str, Any]:
        answer = await targets.set_paused(caller, req.id, False)
        wake()
        return answer

    base = "/v2/actions"
    for op in (
        Operation(
            SERVICE + "ListDeliveries",
            (("POST", f"{base}/deliveries/search"),),
            m.ListDeliveriesRequest,
            list_deliveries,
            "Search deliveries by target, trigger, status, HTTP status and creation time",
            permission="action.delivery.read",
        ),
        Operation(
            SERVICE + "GetActionsOverview",
            (("GET", f"{base}/overview"),),
            m.Empty,
            overview,
            "Delivery attempts and calls per hour over the last 24 h by outcome, the paused "
            "and failing targets, the oldest pending delivery (Keyhook's)",
            recovery=True,
            permission="action.delivery.read",
        ),
        Operation(
            SERVICE + "ListTargetHealth",
            (("POST", f"{base}/targets/health/search"),),
            m.ListTargetHealthRequest,
            list_health,
            "Each target's last call or attempt, and its success rate and p50/p95 latency "
            "over the last 24 h (Keyhook's)",
            recovery=True,
            permission="action.delivery.read",
        ),
        Operation(
            SERVICE + "ListTargetCalls",
            (("POST", f"{base}/calls/search"),),
            m.ListCallsRequest,
            list_calls,
            "Search the record of synchronous target calls by target, trigger, failure, "
            "HTTP status and time",
            recovery=True,
            permission="action.delivery.read",
        ),
        Operation(
            SERVICE + "GetTargetCall",
            (("GET", f"{base}/calls/{{id}}"),),
            m.IdRequest,
            get_call,
            "Get one synchronous target call: what the target got and answered, what the "
            "caller was told (Keyhook's)",
            recovery=True,
            permission="action.delivery.read",
        ),
        Operation(
            SERVICE + "GetDelivery",
            (("GET", f"{base}/deliveries/{{id}}"),),
            m.IdRequest,
            get_delivery,
            "Get a delivery with its payload and every attempt",
            permission="action.delivery.read",
        ),
        Operation(
            SERVICE + "RetryDelivery",
            (("POST", f"{base}/deliveries/{{id}}/retry"),),
            m.IdRequest,
            retry_delivery,
            "Send a succeeded or failed delivery again, on a fresh schedule",
            permission="action.delivery.write",
        ),
        Operation(
            SERVICE + "ReplayTargetDeliveries",
            (("POST", f"{base}/targets/{{id}}/replay"),),
            m.ReplayDeliveriesRequest,
            replay,
            "Send a target's deliveries created in a time range again (or, with preview, "
            "count them)",
            check=lambda req: checked_range(req.since, req.until),
            permission="action.delivery.write",
        ),
        Operation(
            SERVICE + "PauseTarget",
            (("POST", f"{base}/targets/{{id}}/pause"),),
            m.IdRequest,
            pause,
            "Pause deliveries to a target (they keep being stored)",
            changes_actions=True,
            recovery=True,
            permission="action.delivery.write",
        ),
        Operation(
            SERVICE + "ResumeTarget",
            (("POST", f"{base}/targets/{{id}}/resume"),),
            m.IdRequest,
            resume,
            "Resume deliveries to a target",
            changes_actions=True,
            recovery=True,
            permission="action.delivery.write",
        ),
    ):
        registry.add(op)
