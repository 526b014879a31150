"""What GetTarget and ListExecutions show an operator (issue 10, finding 9): during a
key rotation which older keys still sign and until when; with each execution the
names of its targets, not only their ids."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from tests.support.api import Api


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_get_target_shows_until_when_the_older_keys_still_sign(api: Api) -> None:
    made = await api.create_target("http://127.0.0.1:9/x", kind="restAsync")
    path = f"/v2/actions/targets/{made['id']}"
    assert (await api.get(path)).ok()["target"]["previousSigningKeys"] == []

    rotated = (await api.post(path, {"expirationSigningKey": "1h"})).ok()
    shown = (await api.get(path)).ok()["target"]
    assert shown["signingKey"] == rotated["signingKey"] != made["signingKey"]
    [previous] = shown["previousSigningKeys"]
    assert set(previous) == {"expirationDate"}, "the old key's value is not shown again"
    ends = _moment(previous["expirationDate"])
    assert timedelta(minutes=59) < ends - datetime.now(UTC) <= timedelta(hours=1)

    (await api.post(path, {"expirationSigningKey": "2h"})).ok()  # a second overlap
    later = (await api.get(path)).ok()["target"]["previousSigningKeys"]
    assert later[0] == previous
    assert len(later) == 2 and _moment(later[1]["expirationDate"]) > ends, "soonest first"

    (await api.post(path, {"expirationSigningKey": "0s"})).ok()  # a leak: all replaced
    assert (await api.get(path)).ok()["target"]["previousSigningKeys"] == []


async def test_list_executions_names_each_target_in_order(clean_actions: Api) -> None:
    api = clean_actions
    first = await api.create_target("http://127.0.0.1:9/a", name=f"crm-{secrets.token_hex(3)}")
    second = await api.create_target("http://127.0.0.1:9/b", name=f"audit-{secrets.token_hex(3)}")
    condition = {"request": {"method": "/zitadel.user.v2.UserService/AddHumanUser"}}
    await api.set_execution(condition, [second["id"], first["id"]])
    [execution] = (await api.post("/v2/actions/executions/search", {})).ok()["executions"]
    assert execution["targets"] == [second["id"], first["id"]]
    names = [
        (await api.get(f"/v2/actions/targets/{t}")).ok()["target"]["name"]
        for t in execution["targets"]
    ]
    assert execution["targetNames"] == names
