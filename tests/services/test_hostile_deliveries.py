"""What a hostile receiver answers to deliveries, against a running server (issue 8).

Finding 1 (a gzip bomb), finding 2 (one NUL in one answer poisoned every result
written with it, so healthy targets got each event again at every lease end),
and the property: for arbitrary bytes a receiver may answer, Keyhook's memory
stays bounded, no 5xx outside the documented table reaches a caller, and every
delivery ends succeeded, failed or scheduled, never pending with 0 attempts.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import secrets
import zlib
from typing import Any

import httpx
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.services.conftest import FAST_DELIVERY
from tests.support.api import Api
from tests.support.events import deliveries, metadata_events, wait_until
from tests.support.hostile import HostileReceiver, gzip_bomb, http_answer
from tests.support.receiver import Receiver
from tests.support.server import KeyhookServer

METADATA_SET = {"event": {"event": "user.metadata.set"}}
GET_USER = "/zitadel.user.v2.UserService/GetUserByID"
MiB = 1024 * 1024
LEASE = 3.0  # FAST_DELIVERY's KEYHOOK_ACTIONS_LEASE
assert FAST_DELIVERY["KEYHOOK_ACTIONS_LEASE"] == "3s"


@functools.cache
def bomb(size: int) -> bytes:
    return gzip_bomb(size)


async def test_a_gzip_bomb_answer_to_a_delivery_is_read_only_as_far_as_it_is_kept(
    fast_api: Api, fast_keyhook: KeyhookServer, hostile: HostileReceiver
) -> None:
    api = fast_api
    answer = http_answer(body=bomb(400 * MiB), headers={"Content-Encoding": "gzip"})
    target = await api.create_target(hostile.endpoint("/bomb", answer), kind="restAsync")
    await api.set_execution(METADATA_SET, [target["id"]])
    before = fast_keyhook.rss_mib()
    await metadata_events(api, 20)

    async def delivered() -> bool:
        found = await deliveries(api, targetId=target["id"])
        return len(found) == 20 and all(d["status"] == "succeeded" for d in found)

    await wait_until(delivered)
    assert fast_keyhook.rss_mib() - before < 100
    one = (await deliveries(api, targetId=target["id"]))[0]
    log = (await api.get(f"/v2/actions/deliveries/{one['id']}")).ok()["delivery"]
    assert [a["statusCode"] for a in log["attemptLog"]] == [200]
    assert len(log["attemptLog"][0]["responseBody"]) <= 4096


async def test_a_nul_in_one_answer_fails_no_other_delivery(
    fast_api: Api, receiver: Receiver, hostile: HostileReceiver
) -> None:
    api = fast_api
    nul = http_answer(500, b'{"status":"error","message":"a\\u0000b"} raw \x00 byte')
    poisoned = await api.create_target(hostile.endpoint("/nul", nul), kind="restAsync")
    healthy = [f"/healthy-{secrets.token_hex(3)}" for _ in range(2)]
    targets = [poisoned["id"]]
    for hook in healthy:
        targets.append((await api.create_target(receiver.endpoint(hook), kind="restAsync"))["id"])
    await api.set_execution(METADATA_SET, targets)
    await metadata_events(api, 10)

    async def all_attempted() -> bool:
        found = await deliveries(api)
        mine = [d for d in found if d["targetId"] in targets]
        return len(mine) == 30 and all(
            d["status"] == "succeeded" if d["targetId"] != poisoned["id"] else d["attempts"] > 0
            for d in mine
        )

    await wait_until(all_attempted)
    await asyncio.sleep(LEASE + 1)  # a lease would have ended and brought them back
    for hook in healthy:
        assert len(receiver.on(hook)) == 10, "a healthy target got an event again"
    one = (await deliveries(api, targetId=poisoned["id"]))[0]
    log = (await api.get(f"/v2/actions/deliveries/{one['id']}")).ok()["delivery"]
    assert (
        "a\ufffdb" in log["attemptLog"][0]["responseBody"]
        or "\ufffd" in (log["attemptLog"][0]["responseBody"])
    )


# --- the property ----------------------------------------------------------------------

SYNC_STATUSES_ALLOWED = "the target's own 4xx, 502, 503 or 504 (docs/receivers.md)"


def _encode(body: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(body)
    if how == "deflate":
        return zlib.compress(body)
    return body


@st.composite
def raw_answers(draw: st.DrawFn) -> bytes | None:
    """Any bytes a receiver could answer: well-formed or not, compressed or not."""
    kind = draw(st.sampled_from(["http"] * 8 + ["garbage", "hang"]))
    if kind == "garbage":
        return draw(st.binary(max_size=300))
    if kind == "hang":
        return None
    # 410 pauses the target by design (its own tests cover it); 1xx are not final answers.
    status = draw(st.integers(200, 599).filter(lambda s: s != 410))
    json_body = st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**64 - 1)  # what orjson writes; bigger ones below
        | st.floats(allow_nan=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=12,
    ).map(orjson.dumps)
    body = draw(
        st.one_of(
            st.binary(max_size=2000),
            json_body,
            st.just(b'{"status":"error","message":"n\\u0000ul"}'),
            st.just(b'{"status":"success","claims":{"n":123456789012345678901234567890}}'),
            st.just(b'{"status":"success","request":{"userId":"1","x":"\\u0000"}}'),
            st.just(b"x" * (2 * MiB)),
            st.just(bomb(64 * MiB)),
        )
    )
    encoding = draw(st.sampled_from(["", "gzip", "deflate", "br", "identity", "gzip, gzip", "?"]))
    if encoding in {"gzip", "deflate"} and body is not bomb(64 * MiB) and draw(st.booleans()):
        body = _encode(body, encoding)
    if body is bomb(64 * MiB):
        encoding = "gzip"
    headers: dict[str, str] = {}
    if encoding:
        headers["Content-Encoding"] = encoding
    if draw(st.booleans()):
        headers["Retry-After"] = draw(
            st.sampled_from(
                ["0", "1", "99999999999999999999", "soon", "²", "Wed, 21 Oct 2015 07:28:00 GMT"]
            )
        )
    length = draw(st.sampled_from(["exact", "missing", "short", "long", "chunked-lie"]))
    if length == "chunked-lie":
        headers["Transfer-Encoding"] = "chunked"  # but the body is not chunked
        return http_answer(status, body, headers, length=False)
    answer = http_answer(status, body, headers, length=length == "exact")
    if length in {"short", "long"}:
        declared = max(0, len(body) - 5) if length == "short" else len(body) + 100
        head, _, rest = answer.partition(b"\r\n\r\n")
        answer = head + f"\r\nContent-Length: {declared}".encode() + b"\r\n\r\n" + rest
    return answer


def _explore(url: str, token: str, user_id: str, hostile: HostileReceiver, path: str) -> list[int]:
    """Runs in a thread (Hypothesis is synchronous); the receiver runs on the test's loop."""
    statuses: list[int] = []
    headers = {"Authorization": f"Bearer {token}"}

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(answer=raw_answers())
    def example(answer: bytes | None) -> None:
        hostile.answers[path] = answer
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            reply = http.get(f"/v2/users/{user_id}")
            statuses.append(reply.status_code)
            assert (
                reply.status_code == 200
                or 400 <= reply.status_code < 500
                or (reply.status_code in {502, 503, 504})
            ), f"{reply.status_code} {reply.text[:300]}: not {SYNC_STATUSES_ALLOWED}"
            assert reply.headers["content-type"].startswith("application/json")
            meta = {"metadata": [{"key": "k", "value": secrets.token_hex(2)}]}
            assert http.post(f"/v2/users/{user_id}/metadata", json=meta).status_code == 200

    example()
    return statuses


async def test_any_answer_bytes_cost_bounded_memory_and_leave_no_delivery_stuck(
    fast_api: Api, fast_keyhook: KeyhookServer, hostile: HostileReceiver
) -> None:
    api = fast_api
    user = str((await api.add_user(f"p-{secrets.token_hex(4)}@example.com")).ok()["userId"])
    path = "/anything"
    sync = await api.create_target(
        hostile.endpoint(path, None), kind="restCall", interrupt=True, timeout="1s"
    )
    events = await api.create_target(hostile.url + path, kind="restAsync", timeout="1s")
    await api.set_execution({"request": {"method": GET_USER}}, [sync["id"]])
    await api.set_execution(METADATA_SET, [events["id"]])
    before = fast_keyhook.rss_mib()
    statuses = await asyncio.to_thread(
        _explore, fast_keyhook.url, fast_keyhook.token, user, hostile, path
    )
    assert len(statuses) >= 40
    assert len(set(statuses)) >= 3, "the examples should reach several outcomes"
    assert fast_keyhook.rss_mib() - before < 150

    def stuck(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [d for d in found if d["status"] == "pending" and d["attempts"] == 0]

    async def none_stuck() -> bool:
        return not stuck(await deliveries(api, targetId=events["id"]))

    # Every delivery is attempted within its lease (3 s) plus the 1 s timeout.
    await wait_until(none_stuck, timeout=30)
    found = await deliveries(api, targetId=events["id"])
    assert len(found) == len(statuses)
    assert {d["status"] for d in found} <= {"succeeded", "failed", "pending"}
    assert all(d["nextAttemptDate"] for d in found if d["status"] == "pending")
    assert (await api.get(f"/v2/actions/targets/{events['id']}")).ok()["target"]["paused"] is False
