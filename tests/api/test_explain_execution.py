"""ExplainExecution (issue 12): which execution fires for a method, function or event,
its targets in order, and the executions it shadows — what the console's "Which
execution fires?" and `keyhook executions explain` show."""

from __future__ import annotations

import pytest

from tests.support.api import Api

ADD_HUMAN = "/zitadel.user.v2.UserService/AddHumanUser"
SERVICE = "zitadel.user.v2.UserService"


@pytest.fixture
async def three_levels(clean_actions: Api) -> dict[str, str]:
    api = clean_actions
    ids = {}
    for level in ("method", "service", "all"):
        ids[level] = (await api.create_target(f"http://127.0.0.1:9/{level}", kind="restAsync"))[
            "id"
        ]
    await api.set_execution({"request": {"method": ADD_HUMAN}}, [ids["method"]])
    await api.set_execution({"request": {"service": SERVICE}}, [ids["service"]])
    await api.set_execution({"request": {"all": True}}, [ids["all"], ids["method"]])
    return ids


async def test_the_method_level_execution_fires_and_shadows_the_others(
    clean_actions: Api, three_levels: dict[str, str]
) -> None:
    explained = (
        await clean_actions.post(
            "/v2/actions/executions/explain", {"request": {"method": ADD_HUMAN}}
        )
    ).ok()
    assert explained["fires"]["condition"] == {"request": {"method": ADD_HUMAN}}
    assert explained["fires"]["targets"] == [three_levels["method"]]
    assert [s["condition"] for s in explained["shadowed"]] == [
        {"request": {"service": SERVICE}},
        {"request": {"all": True}},
    ]
    assert explained["shadowed"][1]["targets"] == [three_levels["all"], three_levels["method"]]
    assert len(explained["shadowed"][1]["targetNames"]) == 2
    assert [t["set"] for t in explained["tried"]] == [True, True, True]
    assert "shadows service, all" in explained["note"]
    # Another method of the service: the service-level one fires, `all` is shadowed.
    other = (
        await clean_actions.post(
            "/zitadel.action.v2.ActionService/ExplainExecution",
            {"request": {"method": "/zitadel.user.v2.UserService/LockUser"}},
        )
    ).ok()
    assert other["fires"]["condition"] == {"request": {"service": SERVICE}}
    assert [s["condition"] for s in other["shadowed"]] == [{"request": {"all": True}}]
    # A response of the same method: nothing is set.
    response = (
        await clean_actions.post(
            "/v2/actions/executions/explain", {"response": {"method": ADD_HUMAN}}
        )
    ).ok()
    assert response["fires"] is None and response["shadowed"] == []
    assert response["note"] == "no execution matches: nothing is called"


async def test_events_functions_the_recovery_set_and_bad_input(clean_actions: Api) -> None:
    api = clean_actions
    target = (await api.create_target("http://127.0.0.1:9/ev", kind="restAsync"))["id"]
    await api.set_execution({"event": {"group": "user"}}, [target])
    locked = (
        await api.post("/v2/actions/executions/explain", {"event": {"event": "user.locked"}})
    ).ok()
    assert locked["fires"]["condition"] == {"event": {"group": "user"}}
    assert [t["condition"] for t in locked["tried"]] == [
        {"event": {"event": "user.locked"}},
        {"event": {"group": "user"}},
        {"event": {"all": True}},
    ]
    function = (
        await api.post("/v2/actions/executions/explain", {"function": {"name": "preuserinfo"}})
    ).ok()
    assert function["fires"] is None
    recovery = (
        await api.post(
            "/v2/actions/executions/explain",
            {"request": {"method": "/zitadel.action.v2.ActionService/SetExecution"}},
        )
    ).ok()
    assert recovery["tried"] == [] and "recovery set" in recovery["note"]
    typo = await api.post(
        "/v2/actions/executions/explain", {"request": {"method": ADD_HUMAN + "s"}}
    )
    assert typo.status == 404 and "did you mean" in typo.body["message"]
    two = await api.post(
        "/v2/actions/executions/explain",
        {"request": {"method": ADD_HUMAN}, "event": {"event": "user.locked"}},
    )
    assert two.status == 400 and "exactly one" in two.body["message"]
    none = await api.post("/v2/actions/executions/explain", {})
    assert none.status == 400
