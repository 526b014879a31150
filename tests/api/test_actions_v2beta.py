"""``zitadel.action.v2beta.ActionService`` at its REST paths and its Connect form."""

from __future__ import annotations

import secrets
from typing import Any

from tests.support.api import Api
from tests.support.receiver import Receiver

V2BETA = "/zitadel.action.v2beta.ActionService/"
BASE = "/v2beta/actions"
TARGET_MEMBERS = {
    "id",
    "creationDate",
    "changeDate",
    "name",
    "restWebhook",
    "restCall",
    "restAsync",
    "timeout",
    "endpoint",
    "signingKey",
}


def names(found: dict[str, Any]) -> list[str]:
    return [t["name"] for t in found.get("targets", [])]  # protojson leaves [] out


async def test_targets_through_the_v2beta_rest_paths(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    tag = secrets.token_hex(3)
    created = []
    for name in (f"Beta-{tag}-b", f"beta-{tag}-a", f"beta-{tag}-c"):
        body = {
            "name": name,
            "endpoint": receiver.endpoint(f"/{name}"),
            "timeout": "1500ms",
            "restCall": {"interruptOnError": False},
            "headers": {"X-Key": "secret"},
        }
        created.append((await api.post(f"{BASE}/targets", body)).ok())
    got = (await api.get(f"{BASE}/targets/{created[0]['id']}")).ok()["target"]
    # Exactly v2beta's Target: no masked headers, no paused flag (the v2 API has those);
    # the default interruptOnError (false) is left out, as protojson does.
    assert set(got) <= TARGET_MEMBERS
    assert got["timeout"] == "1.500s"
    assert got["restCall"] == {}
    v2 = (await api.get(f"/v2/actions/targets/{created[0]['id']}")).ok()["target"]
    assert v2["headers"] == {"X-Key": "********"} and v2["timeout"] == "1.5s"

    async def search(method: str, text: str, **extra: Any) -> list[str]:
        body = {"filters": [{"targetNameFilter": {"targetName": text, "method": method}}], **extra}
        return names((await api.post(f"{BASE}/targets/_search", body)).ok())

    assert await search("TEXT_FILTER_METHOD_EQUALS", f"beta-{tag}-b") == []
    assert await search("TEXT_FILTER_METHOD_EQUALS_IGNORE_CASE", f"beta-{tag}-b") == [
        f"Beta-{tag}-b"
    ]
    by_name = {"sortingColumn": "TARGET_FIELD_NAME_NAME"}
    ascending = await search(
        "TEXT_FILTER_METHOD_STARTS_WITH", "beta-" + tag, **by_name, pagination={"asc": True}
    )
    assert ascending == [f"beta-{tag}-a", f"beta-{tag}-c"]
    descending = await search("TEXT_FILTER_METHOD_STARTS_WITH", "beta-" + tag, **by_name)
    assert descending == [f"beta-{tag}-c", f"beta-{tag}-a"]  # asc is false by default
    any_case = await search("TEXT_FILTER_METHOD_STARTS_WITH_IGNORE_CASE", "BETA-" + tag)
    assert sorted(any_case) == sorted([f"Beta-{tag}-b", f"beta-{tag}-a", f"beta-{tag}-c"])
    assert await search("TEXT_FILTER_METHOD_ENDS_WITH", f"{tag}-c") == [f"beta-{tag}-c"]
    ends = await search("TEXT_FILTER_METHOD_ENDS_WITH_IGNORE_CASE", f"{tag}-B")
    assert ends == [f"Beta-{tag}-b"]
    assert await search("TEXT_FILTER_METHOD_CONTAINS", f"A-{tag}") == []
    contained = await search("TEXT_FILTER_METHOD_CONTAINS_IGNORE_CASE", f"A-{tag}")
    assert sorted(contained) == sorted([f"Beta-{tag}-b", f"beta-{tag}-a", f"beta-{tag}-c"])
    by_ids = {
        "filters": [{"inTargetIdsFilter": {"targetIds": [created[2]["id"], created[1]["id"]]}}],
        "sortingColumn": "TARGET_FIELD_NAME_CREATED_DATE",
        "pagination": {"asc": True, "limit": 1},
    }
    page = (await api.post(f"{BASE}/targets/_search", by_ids)).ok()
    assert names(page) == [f"beta-{tag}-a"]
    assert page["pagination"] == {"totalResult": "2", "appliedLimit": "1"}

    bad = await api.post(f"{BASE}/targets/_search", {"filters": [{}]})
    assert bad.status == 400 and "filters[0]" in bad.body["message"]
    bad = await api.post(f"{BASE}/targets/_search", {"sortingColumn": "TARGET_FIELD_NAME_COLOUR"})
    assert bad.status == 400 and "TARGET_FIELD_NAME_NAME" in bad.body["message"]

    changed = (await api.post(f"{BASE}/targets/{created[0]['id']}", {"timeout": "2s"})).ok()
    assert set(changed) <= {"changeDate", "signingKey"}
    (await api.delete(f"{BASE}/targets/{created[0]['id']}")).ok()
    assert (await api.get(f"{BASE}/targets/{created[0]['id']}")).status == 404


async def test_executions_through_the_v2beta_rest_paths(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    one = await api.create_target(receiver.endpoint("/beta-one"))
    two = await api.create_target(receiver.endpoint("/beta-two"))
    add_human = {"request": {"method": "/zitadel.user.v2.UserService/AddHumanUser"}}
    locked = {"event": {"event": "user.locked"}}
    for condition, targets in ((add_human, [one["id"]]), (locked, [one["id"], two["id"]])):
        set_ = (
            await api.put(f"{BASE}/executions", {"condition": condition, "targets": targets})
        ).ok()
        assert set(set_) == {"setDate"}

    async def search(*filters: dict[str, Any]) -> list[dict[str, Any]]:
        found = (await api.post(f"{BASE}/executions/_search", {"filters": list(filters)})).ok()
        return [e["condition"] for e in found.get("executions", [])]

    assert sorted(map(str, await search())) == sorted(map(str, [add_human, locked]))
    assert await search({"executionTypeFilter": {"executionType": "EXECUTION_TYPE_EVENT"}}) == [
        locked
    ]
    assert await search({"targetFilter": {"targetId": two["id"]}}) == [locked]
    assert await search({"inConditionsFilter": {"conditions": [add_human]}}) == [add_human]
    assert (
        await search(
            {"targetFilter": {"targetId": two["id"]}},
            {"executionTypeFilter": {"executionType": "EXECUTION_TYPE_REQUEST"}},
        )
        == []
    )
    execution = (
        await api.post(
            f"{BASE}/executions/_search",
            {"filters": [{"inConditionsFilter": {"conditions": [locked]}}]},
        )
    ).ok()["executions"][0]
    assert set(execution) == {
        "condition",
        "targets",
        "creationDate",
        "changeDate",
    }  # no targetNames
    assert execution["targets"] == [one["id"], two["id"]]

    methods = (await api.get(f"{BASE}/executions/methods")).ok()["methods"]
    assert V2BETA + "CreateTarget" in methods and V2BETA + "GetTarget" not in methods
    services = (await api.get(f"{BASE}/executions/services")).ok()["services"]
    assert "zitadel.action.v2beta.ActionService" in services
    assert (await api.get(f"{BASE}/executions/functions")).ok()["functions"]


async def test_v2beta_is_wrappable_like_v2_and_immune_to_all(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    path = f"/beta-wrap-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path))
    await api.set_execution({"request": {"all": True}}, [target["id"]])
    body = {
        "name": f"t-{secrets.token_hex(3)}",
        "endpoint": receiver.endpoint("/unused"),
        "timeout": "5s",
        "restAsync": {},
    }
    (await api.post(f"{BASE}/targets", body)).ok()
    (await api.post(f"{BASE}/targets/_search", {})).ok()
    assert receiver.on(path) == []  # `all` never wraps the Actions API, in either version

    await api.set_execution(
        {"request": {"service": "zitadel.action.v2beta.ActionService"}}, [target["id"]]
    )
    body["name"] = f"t-{secrets.token_hex(3)}"
    (await api.post(V2BETA + "CreateTarget", body)).ok()
    (await api.post(V2BETA + "ListTargets", {})).ok()  # in the recovery set: never wrapped
    calls = await receiver.wait_for(path)
    assert [c.json["fullMethod"] for c in calls] == [V2BETA + "CreateTarget"]

    refused = await api.put(
        "/v2/actions/executions",
        {"condition": {"request": {"method": V2BETA + "SetExecution"}}, "targets": [target["id"]]},
    )
    assert refused.status == 400 and "recovery set" in refused.body["message"]
