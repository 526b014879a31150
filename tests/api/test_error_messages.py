"""Errors a newcomer meets say what is wrong and what is allowed (issue 10, finding 9).

Against a running server: a search sent with GET, a duration written as a number, a
time without its offset, a missing field, an id that is no id, and a misspelt
method in an execution's condition.
"""

from __future__ import annotations

from tests.support.api import Api


async def test_a_search_sent_with_get_says_it_takes_post(api: Api) -> None:
    reply = await api.get("/v2/actions/targets/search")
    assert reply.status == 405
    assert reply.body["message"].startswith("GET is not allowed on /v2/actions/targets/search")
    assert "it takes POST" in reply.body["message"]


async def test_a_duration_written_as_a_number_asks_for_a_duration_string(api: Api) -> None:
    reply = await api.post(
        "/v2/actions/targets",
        {"name": "t", "endpoint": "http://127.0.0.1:9/x", "timeout": 10, "restAsync": {}},
    )
    assert reply.status == 400
    assert reply.body["message"] == (
        'timeout: must be a duration string such as "10s", "500ms" or "1h30m", not 10'
    )


async def test_a_time_without_its_offset_asks_for_one(api: Api) -> None:
    reply = await api.post("/v2/actions/deliveries/search", {"from": "2026-01-01T00:00:00"})
    assert reply.status == 400
    assert "from: must be an RFC 3339 time with its offset" in reply.body["message"]
    assert '"2026-01-01T00:00:00Z"' in reply.body["message"]


async def test_a_missing_field_is_required_and_a_bad_id_says_what_an_id_is(api: Api) -> None:
    missing = await api.post("/v2/actions/targets", {"name": "t", "restAsync": {}})
    assert missing.status == 400
    assert "endpoint: is required" in missing.body["message"]
    assert "timeout: is required" in missing.body["message"]
    bad_id = await api.get("/v2/actions/deliveries/abc")
    assert bad_id.status == 400
    assert bad_id.body["message"] == (
        "id: must be an id (1 to 19 ASCII digits), not the string 'abc'"
    )


async def test_a_misspelt_method_gets_a_did_you_mean(clean_actions: Api) -> None:
    reply = await clean_actions.put(
        "/v2/actions/executions",
        {
            "condition": {"request": {"method": "/zitadel.user.v2.UserService/AddHumanUsr"}},
            "targets": [],
        },
    )
    assert reply.status == 404
    assert "did you mean '/zitadel.user.v2.UserService/AddHumanUser'" in reply.body["message"]
    assert reply.body["details"][0]["didYouMean"][0] == "/zitadel.user.v2.UserService/AddHumanUser"
    assert len(reply.body["message"]) < 400, "not every method of every service"
