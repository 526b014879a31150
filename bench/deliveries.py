"""Event delivery: throughput and commit-to-receipt latency, next to the bare client.

* Throughput: the target is paused while ``events`` user.metadata.set events are
  written (100 per API call), then resumed; the clock runs until the receiver
  has them all, and the run then checks the server recorded every one as
  succeeded.
* Baseline: the bare aiohttp client posting the same number of bodies of the
  same size to the same receiver, 64 at a time, in the same run.
* Latency: with the worker idle, one event at a time; the receiver notes how
  long after the event's ``createdAt`` each delivery arrived. ``createdAt`` is
  taken before the transaction commits, so this slightly overstates the
  commit-to-receipt time.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path

import aiohttp
import orjson

from bench.common import percentile, start_keyhook, start_receiver, table, wait_http

CONDITION = {"event": {"event": "user.metadata.set"}}


async def _json(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    headers: dict[str, str],
    body: object = None,
) -> dict[str, object]:
    data = None if body is None else orjson.dumps(body)
    async with session.request(method, url, data=data, headers=headers) as response:
        payload = await response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {url}: {response.status} {payload[:300]!r}")
        result: dict[str, object] = orjson.loads(payload) if payload else {}
        return result


async def _bare_throughput(url: str, count: int, body: bytes, concurrency: int = 64) -> float:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        queue = iter(range(count))

        async def sender() -> None:
            for _ in queue:
                async with session.post(
                    url, data=body, headers={"Content-Type": "application/json"}
                ) as r:
                    await r.read()

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)


async def run(data_dir: Path, database_url: str | None, events: int, latency_events: int) -> str:
    receiver, receiver_port = start_receiver()
    server, port = start_keyhook(data_dir, database_url)
    base = f"http://127.0.0.1:{port}"
    rbase = f"http://127.0.0.1:{receiver_port}"
    try:
        await wait_http(base + "/healthz")
        await wait_http(rbase + "/stats")
        token = (data_dir / "admin.pat").read_text().strip()
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with aiohttp.ClientSession() as session:
            target = await _json(
                session,
                "POST",
                base + "/v2/actions/targets",
                auth,
                {
                    "name": "bench-events",
                    "endpoint": rbase + "/events",
                    "timeout": "5s",
                    "restAsync": {},
                },
            )
            target_id = str(target["id"])
            await _json(
                session,
                "PUT",
                base + "/v2/actions/executions",
                auth,
                {"condition": CONDITION, "targets": [target_id]},
            )
            user = await _json(
                session,
                "POST",
                base + "/v2/users/human",
                auth,
                {
                    "user": {
                        "profile": {"givenName": "Bench", "familyName": "Events"},
                        "email": {"email": f"bench-{secrets.token_hex(4)}@example.com"},
                    }
                },
            )
            user_id = str(user["userId"])
            await _json(session, "POST", f"{base}/v2/actions/targets/{target_id}/pause", auth)
            for start in range(0, events, 100):
                items = [{"key": f"k{start + i}", "value": "v" * 40} for i in range(100)]
                await _json(
                    session,
                    "POST",
                    f"{base}/v2/users/{user_id}/metadata",
                    auth,
                    {"metadata": items},
                )
            sample = await _json(
                session,
                "POST",
                base + "/v2/actions/deliveries/search",
                auth,
                {"targetId": target_id, "query": {"limit": 1}},
            )
            delivery = await _json(
                session,
                "GET",
                base + "/v2/actions/deliveries/" + str(sample["deliveries"][0]["id"]),
                auth,
            )  # type: ignore[index]
            body = orjson.dumps(delivery["delivery"]["payload"])  # type: ignore[index]

            await _json(session, "DELETE", rbase + "/stats", {})
            started = time.perf_counter()
            await _json(session, "POST", f"{base}/v2/actions/targets/{target_id}/resume", auth)
            while True:  # ask the receiver, not the server, so the server is left alone
                stats = await _json(session, "GET", rbase + "/stats", {})
                if int(stats["count"]) >= events:  # type: ignore[call-overload]
                    break
                if time.perf_counter() - started > 300:
                    raise RuntimeError("deliveries did not finish within 300 s")
                await asyncio.sleep(0.02)
            throughput = events / (time.perf_counter() - started)
            for _ in range(100):
                done = await _json(
                    session,
                    "POST",
                    base + "/v2/actions/deliveries/search",
                    auth,
                    {"targetId": target_id, "status": "succeeded", "query": {"limit": 1}},
                )
                if int(done["pagination"]["totalResult"]) >= events:  # type: ignore[index]
                    break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the receiver got everything but not all were recorded")

            bare = await _bare_throughput(rbase + "/bare", events, body)

            await _json(
                session,
                "POST",
                base + "/v2/actions/targets",
                auth,
                {
                    "name": "bench-latency",
                    "endpoint": rbase + "/latency",
                    "timeout": "5s",
                    "restAsync": {},
                },
            )
            latency_target = (
                await _json(
                    session,
                    "POST",
                    base + "/v2/actions/targets/search",
                    auth,
                    {"name": "bench-latency"},
                )
            )["targets"]
            await _json(
                session,
                "PUT",
                base + "/v2/actions/executions",
                auth,
                {"condition": CONDITION, "targets": [latency_target[0]["id"]]},
            )  # type: ignore[index]
            await _json(session, "DELETE", rbase + "/stats", {})
            for i in range(latency_events):
                await _json(
                    session,
                    "POST",
                    f"{base}/v2/users/{user_id}/metadata",
                    auth,
                    {"metadata": [{"key": f"lat{i}", "value": "v"}]},
                )
                await asyncio.sleep(0.02)  # idle between events
            await asyncio.sleep(0.5)
            stats = await _json(session, "GET", rbase + "/stats", {})
            delays = list(stats["delaysMs"])  # type: ignore[call-overload]
    finally:
        server.stop()
        receiver.stop()
    rows = [
        [
            "Keyhook event deliveries (worker, signed, recorded)",
            events,
            f"{throughput:,.0f}",
            f"{100 * throughput / bare:.0f} %",
        ],
        [
            "bare aiohttp client, 64 concurrent, same receiver and body",
            events,
            f"{bare:,.0f}",
            "100 %",
        ],
    ]
    text = table(["case", "requests", "per second", "of bare"], rows)
    text += "\n\n" + table(
        ["commit-to-receipt, idle worker", "events", "p50 ms", "p99 ms"],
        [
            [
                "event createdAt → receiver",
                len(delays),
                f"{percentile(delays, 0.5):.2f}",
                f"{percentile(delays, 0.99):.2f}",
            ]
        ],
    )
    goals = [
        ("≥ 2,000 deliveries/s", throughput >= 2000),
        ("≥ 40 % of the bare client", throughput >= 0.4 * bare),
        ("p50 ≤ 10 ms", percentile(delays, 0.5) <= 10),
    ]
    text += "\n\ngoals: " + "; ".join(f"{g}: {'met' if ok else 'NOT met'}" for g, ok in goals)
    return text
