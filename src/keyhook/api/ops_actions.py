"""Actions operations (``zitadel.action.v2.ActionService``): targets and executions.

``recovery=True`` puts an operation in the recovery set (:mod:`keyhook.api.registry`):
reading and changing targets and executions, which is what undoes a broken
execution. CreateTarget stays wrappable: it repairs nothing.
"""

from __future__ import annotations

from typing import Any

from keyhook.actions.engine import ActionsEngine, CallContext, function_payload
from keyhook.actions.testcall import sample_event, test_call
from keyhook.api import messages as m
from keyhook.api.registry import Operation, Registry
from keyhook.command.executions import ExecutionCommands
from keyhook.command.targets import TargetCommands
from keyhook.command.writer import Writer
from keyhook.domain.caller import Caller
from keyhook.domain.events import EVENT_TYPES, event_groups
from keyhook.domain.execution import FUNCTIONS, not_found
from keyhook.domain.explain import checked_subject
from keyhook.domain.payload import redact
from keyhook.domain.roles import holds_in, may_read_some_users
from keyhook.domain.target import Target
from keyhook.errors import NotFound, PermissionDenied, field_error
from keyhook.query.oidc import OidcQueries
from keyhook.query.targets import TargetQueries
from keyhook.services.oidc_tokens import function_context, test_claims

SERVICE = "/zitadel.action.v2.ActionService/"


def _body(req: m.Message) -> dict[str, Any]:
    return req.model_dump(by_alias=True, exclude_none=True)


def register(
    registry: Registry, writer: Writer, queries: TargetQueries, engine: ActionsEngine
) -> None:
    targets = TargetCommands(writer)
    users = OidcQueries(writer.db)

    async def test_target(caller: Caller, req: m.TestTargetRequest) -> dict[str, Any]:
        named = [n for n in (req.request, req.response, req.function, req.event) if n is not None]
        if len(named) != 1:
            raise field_error(
                "body",
                "must name exactly one of request, response, function, event",
                '{"request": {"method", "message"}}, {"response": {"method", "message", '
                '"response"}}, {"function": {"name", "userId", "clientId", "scopes"}}, '
                '{"event": {"event", "eventData"}}',
            )
        await queries.get(caller, req.id)  # a target of the caller's instance, or GetTarget's 404
        target = (await engine.catalog.current()).targets.get(req.id)
        if target is None:
            raise NotFound(f"target {req.id} does not exist")
        if req.event is not None:
            if req.event.event not in EVENT_TYPES:
                raise not_found(
                    "event", req.event.event, EVENT_TYPES, "GET /v2/actions/executions/events"
                )
            data = dict(req.event.event_data)
            payload = sample_event(req.event.event, data, caller.instance_id, caller.org_id)
            exchange = await test_call(
                engine, target, "event", payload, data, req.event.event, caller.instance_id
            )
            return exchange.to_wire()
        if req.function is not None:
            return await _test_function(caller, target, req.function)
        call = req.request or req.response
        assert call is not None
        member = "request" if req.request is not None else "response"
        if call.method not in registry.methods():
            raise not_found(
                "method", call.method, registry.methods(), "GET /v2/actions/executions/methods"
            )
        ctx = CallContext(caller, call.method, caller.user_id)
        message = dict(call.message)
        body: dict[str, Any] = {"request": redact(message)}
        if req.response is not None:
            message = dict(req.response.response)
            body["response"] = redact(message)
        payload = {**engine.base_payload(ctx), **body}
        exchange = await test_call(
            engine, target, member, payload, message, call.method, caller.instance_id
        )
        return exchange.to_wire()

    async def _test_function(
        caller: Caller, target: Target, call: m.TestFunctionCall
    ) -> dict[str, Any]:
        if call.name not in FUNCTIONS:
            raise not_found(
                "function", call.name, FUNCTIONS, "GET /v2/actions/executions/functions"
            )
        user_id = call.user_id or caller.user_id
        # Keyhook itself (no grants) and one's own data need nothing more.
        grants = caller.grants if user_id != caller.user_id else None
        if grants is not None and not may_read_some_users(grants):
            # Refused before the lookup, so the answer says nothing of which ids exist.
            raise PermissionDenied(
                "a test with another user's data needs the permission user.read for that "
                "user's organization, which none of the caller's roles grants",
                details=[{"permission": "user.read"}],
            )
        user = await users.user(user_id)
        if (
            user is None
            or user.instance_id != caller.instance_id
            or not caller.sees_org(user.org_id)
            or (grants is not None and not holds_in(grants, "user.read", user.org_id))
        ):
            # A user the caller may not read is answered as one that does not exist.
            raise NotFound(
                f"user {user_id} does not exist",
                details=[{"field": "function.userId", "problem": "unknown"}],
            )
        scopes = tuple(call.scopes)
        ctx = function_context(
            user, call.client_id, scopes, test_claims(call.name, user, scopes, call.client_id)
        )
        payload = function_payload(call.name, ctx, ctx.claims)
        exchange = await test_call(
            engine, target, "function", payload, {}, call.name, caller.instance_id
        )
        return exchange.to_wire()

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
            SERVICE + "TestTarget",
            (("POST", f"{base}/targets/{{id}}/test"),),
            m.TestTargetRequest,
            test_target,
            "Send a target the payload Keyhook would send for a request, response, function "
            "(with a real user's data) or event, "
            "signed, and read its answer as Keyhook would (Keyhook's)",
            recovery=True,
            permission="action.target.write",
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
