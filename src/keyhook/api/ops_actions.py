"""Actions operations (``zitadel.action.v2.ActionService``): targets and executions.

``recovery=True`` puts an operation in the recovery set (:mod:`keyhook.api.registry`):
reading and changing targets and executions, which is what undoes a broken
execution. CreateTarget stays wrappable: it repairs nothing.
"""

from __future__ import annotations

from typing import Any

from keyhook.api import messages as m
from keyhook.api.registry import Operation, Registry
from keyhook.command.executions import ExecutionCommands
from keyhook.command.targets import TargetCommands
from keyhook.command.writer import Writer
from keyhook.domain.caller import Caller
from keyhook.domain.events import EVENT_TYPES, event_groups
from keyhook.domain.execution import FUNCTIONS
from keyhook.domain.explain import checked_subject
from keyhook.query.targets import TargetQueries

SERVICE = "/zitadel.action.v2.ActionService/"


def _body(req: m.Message) -> dict[str, Any]:
    return req.model_dump(by_alias=True, exclude_none=True)


def register(registry: Registry, writer: Writer, queries: TargetQueries) -> None:
    targets = TargetCommands(writer)

    def check_create_target(req: m.CreateTargetRequest) -> None:
        targets.checked_new(_body(req))

    async def create_target(caller: Caller, req: m.CreateTargetRequest) -> dict[str, Any]:
        return await targets.create(caller, _body(req))

    async def get_target(caller: Caller, req: m.IdRequest) -> dict[str, Any]:
        return await queries.get(caller, req.id)

    async def update_target(caller: Caller, req: m.UpdateTargetRequest) -> dict[str, Any]:
        body = _body(req)
        body.pop("id")
        return await targets.update(caller, req.id, body)

    async def delete_target(caller: Caller, req: m.IdRequest) -> dict[str, Any]:
        return await targets.delete(caller, req.id)

    async def list_targets(caller: Caller, req: m.ListTargetsRequest) -> dict[str, Any]:
        return await queries.search(caller, req.query.offset, req.query.limit, req.name)

    async def set_execution(caller: Caller, req: m.SetExecutionRequest) -> dict[str, Any]:
        commands = ExecutionCommands(
            writer, registry.methods(), registry.services(), registry.recovery_methods()
        )
        return await commands.set(caller, _body(req))

    async def list_executions(caller: Caller, req: m.ListExecutionsRequest) -> dict[str, Any]:
        return await queries.search_executions(caller, req.query.offset, req.query.limit)

    async def list_methods(caller: Caller, req: m.Empty) -> dict[str, Any]:
        return {"methods": registry.wrappable_methods()}

    async def list_services(caller: Caller, req: m.Empty) -> dict[str, Any]:
        return {"services": registry.services()}

    async def list_functions(caller: Caller, req: m.Empty) -> dict[str, Any]:
        return {"functions": list(FUNCTIONS)}

    async def explain_execution(caller: Caller, req: m.ExplainExecutionRequest) -> dict[str, Any]:
        kind, value = checked_subject(
            {
                "request": req.request.method if req.request else None,
                "response": req.response.method if req.response else None,
                "function": req.function.name if req.function else None,
                "event": req.event.event if req.event else None,
            },
            methods=registry.methods(),
            events=EVENT_TYPES,
        )
        unwrapped = kind in ("request", "response") and value in registry.recovery_methods()
        return await queries.explain(caller, kind, value, unwrapped=unwrapped)

    async def list_events(caller: Caller, req: m.Empty) -> dict[str, Any]:
        return {"events": sorted(EVENT_TYPES), "groups": event_groups()}

    base = "/v2/actions"
    for op in (
        Operation(
            SERVICE + "CreateTarget",
            (("POST", f"{base}/targets"),),
            m.CreateTargetRequest,
            create_target,
            "Create a target",
            changes_actions=True,
            check=check_create_target,
            permission="action.target.write",
        ),
        Operation(
            SERVICE + "GetTarget",
            (("GET", f"{base}/targets/{{id}}"),),
            m.IdRequest,
            get_target,
            "Get a target",
            recovery=True,
            permission="action.target.read",
        ),
        Operation(
            SERVICE + "UpdateTarget",
            (("POST", f"{base}/targets/{{id}}"), ("PATCH", f"{base}/targets/{{id}}")),
            m.UpdateTargetRequest,
            update_target,
            "Change a target or rotate its key",
            changes_actions=True,
            recovery=True,
            permission="action.target.write",
        ),
        Operation(
            SERVICE + "DeleteTarget",
            (("DELETE", f"{base}/targets/{{id}}"),),
            m.IdRequest,
            delete_target,
            "Delete a target",
            changes_actions=True,
            recovery=True,
            permission="action.target.delete",
        ),
        Operation(
            SERVICE + "ListTargets",
            (("POST", f"{base}/targets/search"),),
            m.ListTargetsRequest,
            list_targets,
            "Search targets",
            recovery=True,
            permission="action.target.read",
        ),
        Operation(
            SERVICE + "SetExecution",
            (("PUT", f"{base}/executions"),),
            m.SetExecutionRequest,
            set_execution,
            "Set (or with no targets remove) an execution",
            changes_actions=True,
            recovery=True,
            permission="action.execution.write",
        ),
        Operation(
            SERVICE + "ListExecutions",
            (("POST", f"{base}/executions/search"),),
            m.ListExecutionsRequest,
            list_executions,
            "Search executions",
            recovery=True,
            permission="action.execution.read",
        ),
        Operation(
            SERVICE + "ExplainExecution",
            (("POST", f"{base}/executions/explain"),),
            m.ExplainExecutionRequest,
            explain_execution,
            "Which execution fires for a method, function or event, its targets in order, "
            "and the executions it shadows (Keyhook's)",
            recovery=True,
            permission="action.execution.read",
        ),
        Operation(
            SERVICE + "ListExecutionMethods",
            (("GET", f"{base}/executions/methods"),),
            m.Empty,
            list_methods,
            "Methods a request/response condition may name",
            recovery=True,
            permission="action.execution.read",
        ),
        Operation(
            SERVICE + "ListExecutionServices",
            (("GET", f"{base}/executions/services"),),
            m.Empty,
            list_services,
            "Services a request/response condition may name",
            recovery=True,
            permission="action.execution.read",
        ),
        Operation(
            SERVICE + "ListExecutionFunctions",
            (("GET", f"{base}/executions/functions"),),
            m.Empty,
            list_functions,
            "Functions a function condition may name",
            recovery=True,
            permission="action.execution.read",
        ),
        Operation(
            SERVICE + "ListExecutionEvents",
            (("GET", f"{base}/executions/events"),),
            m.Empty,
            list_events,
            "Events and groups an event condition may name",
            recovery=True,
            permission="action.execution.read",
        ),
    ):
        registry.add(op)
