"""What events really carry matches what docs/events.md says they carry.

Drives the API through as many event types as it can reach, then compares every
event's ``eventData`` members with the table in ``keyhook.domain.events``.
"""

from __future__ import annotations

import secrets

from keyhook.domain.events import EVENT_TYPES
from tests.support.api import Api
from tests.support.receiver import Receiver

TARGET_FIELDS = {"name", "endpoint", "timeoutSeconds", "targetType", "interruptOnError"}


async def test_event_data_members_are_the_documented_ones(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    login = f"doc-{secrets.token_hex(3)}@example.com"
    user_id = (
        await api.add_user(
            login, password={"password": "first password"}, metadata=[{"key": "a", "value": "b"}]
        )
    ).ok()["userId"]
    await api.call("PUT", f"/v2/users/human/{user_id}", {"profile": {"nickName": "doc"}})
    await api.post(f"/v2/users/{user_id}/metadata", {"metadata": [{"key": "c", "value": "d"}]})
    await api.post(f"/v2/users/{user_id}/password", {"newPassword": {"password": "second pw!"}})
    await api.post(
        "/v2/sessions",
        {"checks": {"user": {"loginName": login}, "password": {"password": "wrong one"}}},
    )
    session = (
        await api.post(
            "/v2/sessions",
            {"checks": {"user": {"loginName": login}, "password": {"password": "second pw!"}}},
        )
    ).ok()
    await api.delete(f"/v2/sessions/{session['sessionId']}")
    for verb in ("lock", "unlock", "deactivate", "reactivate"):
        (await api.post(f"/v2/users/{user_id}/{verb}")).ok()
    machine_id = await api.add_machine_user(f"doc-robot-{secrets.token_hex(3)}", "Doc robot")
    await api.add_secret(machine_id)
    (await api.delete(f"/v2/users/{machine_id}/secret")).ok()
    target = await api.create_target(receiver.endpoint("/doc-events"), kind="restAsync")
    await api.post(f"/v2/actions/targets/{target['id']}", {"timeout": "3s"})
    await api.post(f"/v2/actions/targets/{target['id']}/pause")
    await api.post(f"/v2/actions/targets/{target['id']}/resume")
    await api.set_execution({"event": {"event": "user.removed"}}, [target["id"]])
    (await api.delete(f"/v2/users/{user_id}")).ok()
    await api.delete(f"/v2/actions/targets/{target['id']}")

    events = (await api.post("/v2/events/search", {"limit": 1000})).ok()["events"]
    seen: set[str] = set()
    for event in events:
        documented = set(EVENT_TYPES[event["eventType"]].data_fields)
        emitted = set(event["eventData"])
        if event["eventType"] == "target.changed":
            emitted -= TARGET_FIELDS
        assert emitted == documented, (event["eventType"], emitted ^ documented)
        seen.add(event["eventType"])
    assert len(seen) >= 20, sorted(seen)
