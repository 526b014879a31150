"""No execution locks administrators out of the Actions API (issue 8, finding 7).

The recovery set — reading and changing targets and executions, the call record,
pausing and resuming — is never wrapped by request or response executions; a
``service`` condition on the Actions service still wraps its other operations
(CreateTarget here), and a ``method`` condition naming a recovery operation is a
400 that says why.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

from tests.support.api import Api
from tests.support.receiver import Receiver, answer
from tests.support.server import KeyhookServer

ACTIONS = "zitadel.action.v2.ActionService"
RECOVERY = (
    "GetTarget",
    "UpdateTarget",
    "DeleteTarget",
    "ListTargets",
    "SetExecution",
    "ListExecutions",
    "ListExecutionMethods",
    "ListExecutionServices",
    "ListExecutionFunctions",
    "ListExecutionEvents",
    "ListTargetCalls",
    "PauseTarget",
    "ResumeTarget",
)


async def break_the_actions_service(api: Api, receiver: Receiver) -> tuple[str, str]:
    """A failing interruptOnError target on every request and response of the service."""
    path = f"/broken-actions-{secrets.token_hex(3)}"
    broken = await api.create_target(receiver.endpoint(path, answer(500)), interrupt=True)
    for kind in ("request", "response"):
        await api.set_execution({kind: {"service": ACTIONS}}, [broken["id"]])
    return broken["id"], path


def new_target(receiver: Receiver) -> dict[str, Any]:
    name = f"new-{secrets.token_hex(3)}"
    return {"name": name, "endpoint": receiver.endpoint("/x"), "timeout": "1s", "restAsync": {}}


async def recorded_calls(api: Api, target_id: str) -> list[Any]:
    """The target's calls in the call record, which is written in the background."""
    for _ in range(100):
        found = (await api.post("/v2/actions/calls/search", {"targetId": target_id})).ok()
        if found["calls"]:
            return list(found["calls"])
        await asyncio.sleep(0.1)
    return []


async def assert_recovery_works(api: Api, target_id: str) -> None:
    """Find the culprit and take it out, with the service still wrapped."""
    listed = (await api.post("/v2/actions/targets/search", {})).ok()
    assert target_id in [t["id"] for t in listed["targets"]]
    (await api.get(f"/v2/actions/targets/{target_id}")).ok()
    executions = (await api.post("/v2/actions/executions/search", {})).ok()["executions"]
    assert {"request": {"service": ACTIONS}} in [e["condition"] for e in executions]
    for what in ("methods", "services", "functions", "events"):
        (await api.get(f"/v2/actions/executions/{what}")).ok()
    assert await recorded_calls(api, target_id), "the call record shows the failing target"
    (await api.post(f"/v2/actions/targets/{target_id}/pause")).ok()
    (await api.post(f"/v2/actions/targets/{target_id}/resume")).ok()
    (await api.post(f"/v2/actions/targets/{target_id}", {"timeout": "3s"})).ok()
    await api.set_execution({"response": {"service": ACTIONS}}, [])
    (await api.delete(f"/v2/actions/targets/{target_id}")).ok()


async def test_a_failing_target_on_the_actions_service_does_not_block_recovery(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    target_id, path = await break_the_actions_service(api, receiver)
    # The service condition wraps what is not in the recovery set, and it fails.
    refused = await api.post("/v2/actions/targets", new_target(receiver))
    assert refused.status == 502
    assert refused.body["code"] == "target_failed"
    calls_before = len(receiver.on(path))
    await assert_recovery_works(api, target_id)
    # No recovery call reached the broken target, so none could fail or be rewritten.
    assert len(receiver.on(path)) == calls_before
    # Deleting the target took it out of the executions: the API is whole again.
    await api.create_target(receiver.endpoint("/after"))


async def test_recovery_works_after_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    server = KeyhookServer(data_dir=tmp_path / "keyhook")
    await server.start()
    try:
        api = Api(server.url, server.token)
        try:
            target_id, _ = await break_the_actions_service(api, receiver)
            assert (await api.post("/v2/actions/targets", new_target(receiver))).status == 502
        finally:
            await api.close()
        server.terminate()
        await server.start()
        api = Api(server.url, server.token)
        try:
            assert (await api.post("/v2/actions/targets", new_target(receiver))).status == 502, (
                "still set"
            )
            await assert_recovery_works(api, target_id)
        finally:
            await api.close()
    finally:
        await server.stop()


async def test_an_event_execution_still_sees_execution_changes(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    path = f"/audit-{secrets.token_hex(3)}"
    audit = await api.create_target(receiver.endpoint(path), kind="restAsync")
    await api.set_execution({"event": {"group": "execution"}}, [audit["id"]])
    target_id, _ = await break_the_actions_service(api, receiver)
    seen = [r.json for r in await receiver.wait_for(path, 3)]
    assert [e["event"] for e in seen[:3]] == ["execution.set"] * 3
    # Deliveries may arrive in any order (docs/receivers.md): order them by eventID.
    last = max(seen, key=lambda e: int(e["eventID"]))
    assert last["eventData"]["condition"] == {"response": {"service": ACTIONS}}
    assert last["eventData"]["targets"] == [target_id]


async def test_a_method_condition_naming_a_recovery_operation_is_refused(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    target = await api.create_target(receiver.endpoint("/never-called"))
    for kind in ("request", "response"):
        for name in RECOVERY:
            method = f"/{ACTIONS}/{name}"
            body: dict[str, Any] = {
                "condition": {kind: {"method": method}},
                "targets": [target["id"]],
            }
            reply = await api.put("/v2/actions/executions", body)
            assert reply.status == 400, (kind, name, reply.body)
            assert reply.body["code"] == "invalid_argument"
            message = reply.body["message"]
            assert f"{method} is never wrapped by request or response executions" in message
            assert "recovery set" in message and "lock administrators out" in message
            assert reply.body["details"][0]["field"] == f"condition.{kind}.method"
    assert (await api.post("/v2/actions/executions/search", {})).ok()["executions"] == []
    methods = (await api.get("/v2/actions/executions/methods")).ok()["methods"]
    assert f"/{ACTIONS}/CreateTarget" in methods
    assert not {f"/{ACTIONS}/{name}" for name in RECOVERY} & set(methods)
    # CreateTarget can still be named on its own.
    await api.set_execution({"request": {"method": f"/{ACTIONS}/CreateTarget"}}, [target["id"]])
