"""The delivery log through the API (ops_deliveries): each attempt's request headers as
a real receiver got them, custom header values masked in the log, the body as sent;
ReplayTargetDeliveries' preview counting what a replay then sends.

A server of its own that retries fast, so that deliveries fail for good in a second.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from keyhook.domain.target import HEADER_MASK as MASK
from tests.api.test_roles import make_administrator
from tests.support.api import Api, serving
from tests.support.events import deliveries, metadata_events, wait_until
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import KeyhookServer

FAST = {
    "KEYHOOK_ACTIONS_RETRY_SCHEDULE": "0s,200ms,200ms",
    "KEYHOOK_ACTIONS_THROTTLE_MIN_DELAY": "100ms",
    "KEYHOOK_ACTIONS_POLL_INTERVAL": "100ms",
}
METADATA_SET = {"event": {"event": "user.metadata.set"}}


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[KeyhookServer, Api]]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("deliveries")), extra_env=FAST)
    async with serving(server) as api:
        yield server, api


async def delivery(api: Api, delivery_id: str, attempts: int) -> tuple[dict[str, Any], bytes]:
    """GetDelivery once ``attempts`` attempts are recorded: the delivery and the raw answer."""
    found: dict[str, Any] = {}

    async def recorded() -> bool:
        reply = await api.get(f"/v2/actions/deliveries/{delivery_id}")
        found["reply"] = reply
        return len(reply.ok()["delivery"]["attemptLog"]) >= attempts

    await wait_until(recorded)
    return found["reply"].ok()["delivery"], found["reply"].raw


async def test_each_attempt_records_the_headers_the_receiver_got(
    own: tuple[KeyhookServer, Api], receiver: Receiver
) -> None:
    server, api = own
    secret = f"Bearer s3cret-{secrets.token_hex(8)}"
    path = f"/headers-{secrets.token_hex(3)}"
    answers = [Answer(503, {"status": "busy"})]

    async def once_busy(_: Received) -> Answer:
        return answers.pop(0) if answers else Answer(200)

    target = await api.create_target(
        receiver.endpoint(path, once_busy),
        kind="restAsync",
        headers={"Authorization": secret, "X-Team": "blue"},
    )
    await api.set_execution(METADATA_SET, [target["id"]])
    user = (await api.add_user(f"h-{secrets.token_hex(3)}@example.com")).ok()["userId"]
    # Non-ASCII text (and an emoji): the body's bytes must survive storage exactly.
    items = [{"key": "name", "value": "Jürgen 😀"}]
    (await api.post(f"/v2/users/{user}/metadata", {"metadata": items})).ok()
    got = await receiver.wait_for(path, 2)
    delivery_id = got[0].headers["webhook-id"].removeprefix("msg_")
    found, raw = await delivery(api, delivery_id, 2)
    await api.set_execution(METADATA_SET, [])

    log = found["attemptLog"]
    assert [a["statusCode"] for a in log] == [503, 200]
    for attempt, received in zip(log, got, strict=True):
        recorded = attempt["requestHeaders"]
        # Every header the receiver got, in the order sent, and nothing else; the
        # custom header's value is masked in the log and was sent in clear.
        assert list(recorded) == list(received.headers)
        assert recorded["Authorization"] == MASK
        assert received.headers["Authorization"] == secret
        assert received.headers["X-Team"] == "blue" and recorded["X-Team"] == MASK
        unmasked = {k: v for k, v in recorded.items() if k not in ("Authorization", "X-Team")}
        assert unmasked == {k: received.headers[k] for k in unmasked}
        for name in ("webhook-signature", "ZITADEL-Signature", "X-Zitadel-Signature"):
            assert recorded[name]
        assert recorded["Content-Length"] == str(len(received.body))
    # Each attempt signs anew (its own timestamp); the id stays.
    assert {a["requestHeaders"]["webhook-id"] for a in log} == {f"msg_{delivery_id}"}
    # The body: the stored bytes are the bytes each attempt sent.
    assert [r.body for r in got] == [found["body"].encode()] * 2
    assert "Jürgen 😀" in found["body"]
    # The secret is nowhere in the record, nor in the server's log.
    assert secret.encode() not in raw
    listed = await api.post("/v2/actions/deliveries/search", {"targetId": target["id"]})
    assert secret.encode() not in listed.raw
    assert secret not in server.log


async def test_a_refused_attempt_records_no_headers(
    own: tuple[KeyhookServer, Api], receiver: Receiver
) -> None:
    """Nothing was sent to a deleted target: its attempt has no request headers."""
    _, api = own
    path = f"/deleted-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path), kind="restAsync")
    await api.post(f"/v2/actions/targets/{target['id']}/pause")
    await api.set_execution(METADATA_SET, [target["id"]])
    await metadata_events(api, 1)
    await api.set_execution(METADATA_SET, [])
    (pending,) = await deliveries(api, targetId=target["id"])
    (await api.delete(f"/v2/actions/targets/{target['id']}")).ok()
    found, _ = await delivery(api, pending["id"], 1)
    assert found["attemptLog"][0]["error"] == "the target was deleted"
    assert found["attemptLog"][0]["requestHeaders"] is None
    assert receiver.on(path) == []
    # No HTTP answer: found by the HTTP status "none".
    unanswered = await deliveries(api, targetId=target["id"], httpStatus="none")
    assert [d["id"] for d in unanswered] == [pending["id"]]


async def test_a_preview_counts_what_a_replay_then_sends(
    own: tuple[KeyhookServer, Api], receiver: Receiver
) -> None:
    _, api = own
    path = f"/replay-{secrets.token_hex(3)}"
    mode = {"status": 500}

    async def switchable(_: Received) -> Answer:
        return Answer(mode["status"], {})

    target = await api.create_target(receiver.endpoint(path, switchable), kind="restAsync")
    since = "2000-01-01T00:00:00Z"
    replay = f"/v2/actions/targets/{target['id']}/replay"
    await api.set_execution(METADATA_SET, [target["id"]])
    user = await metadata_events(api, 2)

    async def settled(count: int) -> bool:
        found = await deliveries(api, targetId=target["id"])
        return len(found) == count and all(d["status"] != "pending" for d in found)

    await wait_until(lambda: settled(2))
    mode["status"] = 200
    await metadata_events(api, 3, user)
    await wait_until(lambda: settled(5))
    await api.set_execution(METADATA_SET, [])
    before = await deliveries(api, targetId=target["id"])
    assert sorted(d["status"] for d in before) == ["failed"] * 2 + ["succeeded"] * 3

    by_status = {
        status: len(await deliveries(api, targetId=target["id"], httpStatus=status))
        for status in ("5xx", "500", "200", "2xx", "4xx", "none")
    }
    assert by_status == {"5xx": 2, "500": 2, "200": 3, "2xx": 3, "4xx": 0, "none": 0}
    wrong = await api.post("/v2/actions/deliveries/search", {"httpStatus": "600"})
    assert wrong.status == 400 and wrong.body["details"][0]["field"] == "httpStatus"
    failed = (await api.post(replay, {"from": since, "onlyFailed": True, "preview": True})).ok()
    every = (await api.post(replay, {"from": since, "preview": True})).ok()
    assert (failed, every) == ({"count": "2"}, {"count": "5"})
    # The range: the three later deliveries were written together, after the failed two.
    later = min(d["creationDate"] for d in before if d["status"] == "succeeded")
    none = {"from": since, "to": min(d["creationDate"] for d in before), "preview": True}
    assert (await api.post(replay, none)).ok() == {"count": "0"}
    assert (await api.post(replay, {"from": later, "preview": True})).ok() == {"count": "3"}
    assert (await api.post(replay, {"from": since, "to": later, "preview": True})).ok() == {
        "count": "2"
    }
    # A preview changes nothing.
    assert await deliveries(api, targetId=target["id"]) == before

    received = len(receiver.on(path))
    done = (await api.post(replay, {"from": since, "onlyFailed": True})).ok()
    assert done["replayed"] == failed["count"]
    again = await receiver.wait_for(path, received + 2)
    await wait_until(lambda: settled(5))
    resent = {r.headers["webhook-id"] for r in again[received:]}
    assert resent == {f"msg_{d['id']}" for d in before if d["status"] == "failed"}
    assert (await api.post(replay, {"from": since, "onlyFailed": True, "preview": True})).ok() == {
        "count": "0"
    }


async def test_a_preview_needs_the_permission_to_replay(own: tuple[KeyhookServer, Api]) -> None:
    _, api = own
    target = await api.create_target("http://127.0.0.1:9/none", kind="restAsync")
    viewer = await make_administrator(api, ["IAM_DELIVERY_VIEWER"])
    body = {"from": "2000-01-01T00:00:00Z", "preview": True}
    reply = await api.post(f"/v2/actions/targets/{target['id']}/replay", body, token=viewer.token)
    assert reply.status == 403
    assert "action.delivery.write" in reply.raw.decode()
    bad = {"from": "2000-01-02T00:00:00Z", "to": "2000-01-01T00:00:00Z", "preview": True}
    refused = await api.post(f"/v2/actions/targets/{target['id']}/replay", bad)
    assert refused.status == 400
    assert refused.body["details"][0]["field"] == "to"
