"""The deliveries' live tail (issue 12): how long after a delivery's attempt reaches its
receiver the console's live tail (server-sent events) shows it succeeded, against a
client polling the JSON API's ListDeliveries at the tail's own interval, measured on
the same deliveries in the same run. Goal: the tail shows an attempt within 1 s.

Each round locks a user (a ``user.locked`` event to a ``restAsync`` target whose
receiver runs in this process, so one clock times all three): the receiver notes when
the attempt arrives, the tail and the poller when they first show the delivery
succeeded. Rounds are spaced by a random 0.3 to 0.9 s so that neither is in step with
the deliveries. ``python bench/live_tail.py [--rounds N] [--database-url URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    free_port,
    fresh_database,
    machine,
    percentile,
    start_keyhook,
    table,
    wait_http,
)
from bench.console_pages import console_cookie
from keyhook.console.logs import LIVE_POLL
from keyhook.console.session import SESSION_COOKIE

GOAL_MS = 1000.0
_ROW = re.compile(r'<tr data-id="(\d+)">.*?state-(\w+)')


class Seen:
    """When each delivery (by id) was first seen by each observer, in perf_counter time."""

    def __init__(self) -> None:
        self.at: dict[str, dict[str, float]] = {"receiver": {}, "tail": {}, "poll": {}}

    def note(self, who: str, delivery_id: str) -> None:
        self.at[who].setdefault(delivery_id, time.perf_counter())


async def receiver(seen: Seen) -> tuple[web.AppRunner, int]:
    async def handle(request: web.Request) -> web.Response:
        seen.note("receiver", request.headers["webhook-id"].removeprefix("msg_"))
        return web.json_response({"status": "success"})

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


async def tail(base: str, cookie: str, seen: Seen, stop: asyncio.Event) -> None:
    """Follow the live tail as the browser does, reconnecting when a stream ends."""
    async with aiohttp.ClientSession(cookies={SESSION_COOKIE: cookie}) as session:
        while not stop.is_set():
            async with session.get(base + "/ui/console/deliveries/live") as response:
                if response.status != 200:
                    raise RuntimeError(f"live tail: {response.status} {await response.text()}")
                async for line in response.content:
                    if stop.is_set():
                        return
                    match = _ROW.search(line.decode())
                    if line.startswith(b"data:") and match and match.group(2) == "succeeded":
                        seen.note("tail", match.group(1))


async def poll(base: str, token: str, seen: Seen, stop: asyncio.Event) -> None:
    """The baseline: ListDeliveries every LIVE_POLL seconds, the newest 50."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = orjson.dumps({"query": {"limit": 50}})
    async with aiohttp.ClientSession(headers=headers) as session:
        while not stop.is_set():
            await asyncio.sleep(LIVE_POLL)
            async with session.post(base + "/v2/actions/deliveries/search", data=body) as reply:
                for d in orjson.loads(await reply.read())["deliveries"]:
                    if d["status"] == "succeeded":
                        seen.note("poll", d["id"])


async def run(data_dir: Path, database_url: str | None, rounds: int) -> tuple[str, float]:
    seen = Seen()
    runner, receiver_port = await receiver(seen)
    server, port = start_keyhook(data_dir, database_url)
    stop = asyncio.Event()
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_http(base + "/healthz", timeout=120)
        token = (data_dir / "admin.pat").read_text().strip()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with aiohttp.ClientSession(base_url=base, headers=headers) as api:

            async def call(path: str, body: object) -> dict[str, object]:
                async with api.post(path, data=orjson.dumps(body)) as reply:
                    answer: dict[str, object] = orjson.loads(await reply.read())
                    if reply.status != 200:
                        raise RuntimeError(f"{path}: {reply.status} {answer}")
                    return answer

            target = await call(
                "/v2/actions/targets",
                {
                    "name": "live-tail",
                    "endpoint": f"http://127.0.0.1:{receiver_port}/hook",
                    "timeout": "5s",
                    "restAsync": {},
                },
            )
            async with api.put(
                "/v2/actions/executions",
                data=orjson.dumps(
                    {"condition": {"event": {"event": "user.locked"}}, "targets": [target["id"]]}
                ),
            ) as reply:
                reply.raise_for_status()
            user = await call(
                "/v2/users/human",
                {
                    "user": {
                        "profile": {"givenName": "Live", "familyName": "Tail"},
                        "email": {"email": "live-tail@example.com"},
                    }
                },
            )
            watchers = [
                asyncio.create_task(tail(base, console_cookie(data_dir, token), seen, stop)),
                asyncio.create_task(poll(base, token, seen, stop)),
            ]
            await asyncio.sleep(1.0)  # both are watching before the first delivery
            for _ in range(rounds):
                await call(f"/v2/users/{user['userId']}/lock", {})
                await call(f"/v2/users/{user['userId']}/unlock", {})
                await asyncio.sleep(random.uniform(0.3, 0.9))
            ends = time.perf_counter() + 5
            while time.perf_counter() < ends and not (
                len(seen.at["tail"]) >= rounds and len(seen.at["poll"]) >= rounds
            ):
                await asyncio.sleep(0.1)
            stop.set()
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
    finally:
        server.stop()
        await runner.cleanup()
    arrived = seen.at["receiver"]
    rows = []
    p95: dict[str, float] = {}
    for who, label in (("tail", "console live tail (SSE)"), ("poll", "ListDeliveries poll")):
        lags = [(seen.at[who][d] - at) * 1000 for d, at in arrived.items() if d in seen.at[who]]
        missed = len(arrived) - len(lags)
        p95[who] = percentile(lags, 0.95) if lags else float("inf")
        rows.append(
            [
                label,
                len(lags),
                missed,
                f"{percentile(lags, 0.5):.0f}" if lags else "—",
                f"{p95[who]:.0f}",
                f"{max(lags):.0f}" if lags else "—",
                f"≤ {GOAL_MS:.0f}: {'met' if p95[who] <= GOAL_MS else 'NOT met'}"
                if who == "tail"
                else "(baseline)",
            ]
        )
    text = table(
        ["shown by", "deliveries", "missed", "p50 ms", "p95 ms", "max ms", "goal (p95)"], rows
    )
    ratio = p95["tail"] / p95["poll"] if p95["poll"] else float("inf")
    text += (
        f"\n\nlag from the attempt reaching the receiver to being shown succeeded; "
        f"both look every {LIVE_POLL} s; tail p95 / poll p95 = {ratio:.2f}"
    )
    return text, p95["tail"]


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(f"Keyhook live tail on {machine()}; database: {args.database_url or 'SQLite'}\n")
    with tempfile.TemporaryDirectory(prefix="keyhook-bench-") as tmp:
        async with fresh_database(args.database_url) as url:
            text, tail_p95 = await run(Path(tmp) / "live", url, args.rounds)
    print(text)
    return 0 if tail_p95 <= GOAL_MS else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
