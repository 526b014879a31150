"""Integer fields are JSON numbers (issue 8, finding 12).

``"maxPasswordAttempts": false`` used to be read as 0 and switched lockout off.
Booleans, fractions and other strings are refused naming the field; the fields
ZITADEL encodes as 64-bit numbers (protobuf JSON writes them as strings, and so
does Keyhook when it answers) also take a string of ASCII digits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.api import Api, Reply

LOCKOUT = "/v2/settings/lockout"
NOT_INTEGERS: list[Any] = [False, True, 3.5, 3.0, None, [3], {"value": 3}]
NOT_DIGITS = [" 3", "3 ", "+3", "-3", "3.0", "", "0x3", "\u0663", "\uff13", "3\n"]


def assert_refused(reply: Reply, field: str) -> None:
    assert reply.status == 400, reply.body
    assert reply.body["code"] == "invalid_argument"
    assert reply.body["details"][0]["field"] == field
    assert reply.body["message"].startswith(f"{field}: must be a whole JSON number such as 3")


async def attempts(api: Api) -> str:
    return str((await api.get(LOCKOUT)).ok()["settings"]["maxPasswordAttempts"])


@pytest.fixture
async def lockout(api: Api) -> AsyncIterator[Api]:
    """The instance's lockout policy set to 5 for the test and put back afterwards."""
    before = await attempts(api)
    (await api.put(LOCKOUT, {"maxPasswordAttempts": 5})).ok()
    yield api
    (await api.put(LOCKOUT, {"maxPasswordAttempts": int(before)})).ok()


@pytest.mark.parametrize("value", [*NOT_INTEGERS, *NOT_DIGITS, "three"])
async def test_max_password_attempts_refuses_what_is_not_a_whole_number(
    lockout: Api, value: Any
) -> None:
    reply = await lockout.put(LOCKOUT, {"maxPasswordAttempts": value})
    assert_refused(reply, "maxPasswordAttempts")
    assert await attempts(lockout) == "5"  # false did not become 0 (lockout off)


@pytest.mark.parametrize(("value", "shown"), [(3, "3"), ("3", "3"), (0, "0"), ("100", "100")])
async def test_max_password_attempts_takes_a_number_or_its_string_form(
    lockout: Api, value: Any, shown: str
) -> None:
    (await lockout.put(LOCKOUT, {"maxPasswordAttempts": value})).ok()
    assert await attempts(lockout) == shown


async def test_a_value_read_back_can_be_sent_again(lockout: Api) -> None:
    read = (await lockout.get(LOCKOUT)).ok()["settings"]
    (await lockout.put(LOCKOUT, read)).ok()
    assert await attempts(lockout) == "5"


@pytest.mark.parametrize("value", [101, "101", -1])
async def test_max_password_attempts_out_of_range_is_refused(lockout: Api, value: Any) -> None:
    reply = await lockout.put(LOCKOUT, {"maxPasswordAttempts": value})
    assert reply.status == 400, reply.body
    assert reply.body["details"][0]["field"] == "maxPasswordAttempts"
    assert await attempts(lockout) == "5"


SEARCHES = ["/v2/users/search", "/v2/actions/targets/search", "/v2beta/projects/search"]


@pytest.mark.parametrize("path", SEARCHES)
@pytest.mark.parametrize("value", [*NOT_INTEGERS, "3"])
async def test_the_page_limit_is_a_json_number(api: Api, path: str, value: Any) -> None:
    assert_refused(await api.post(path, {"query": {"limit": value}}), "query.limit")


@pytest.mark.parametrize("value", [*NOT_INTEGERS, *NOT_DIGITS])
async def test_the_page_offset_is_a_number_or_its_string_form(api: Api, value: Any) -> None:
    path = "/v2/users/search"
    assert_refused(await api.post(path, {"query": {"offset": value}}), "query.offset")
    by_number = (await api.post(path, {"query": {"offset": 1, "limit": 1}})).ok()
    by_string = (await api.post(path, {"query": {"offset": "1", "limit": 1}})).ok()
    assert by_string["result"] == by_number["result"]


async def test_the_events_position_is_a_number_or_the_string_events_show(api: Api) -> None:
    page = (await api.post("/v2/events/search", {"limit": 2})).ok()["events"]
    position = page[0]["position"]
    assert isinstance(position, str)
    after = (await api.post("/v2/events/search", {"afterPosition": position, "limit": 1})).ok()
    assert after["events"][0]["position"] == page[1]["position"]
    for value in NOT_INTEGERS:
        assert_refused(
            await api.post("/v2/events/search", {"afterPosition": value}), "afterPosition"
        )
    for value in [*NOT_INTEGERS, "1"]:
        assert_refused(await api.post("/v2/events/search", {"limit": value}), "limit")
