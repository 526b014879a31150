"""Event delivery: throughput and commit-to-receipt latency, next to the bare client.

* Throughput, in paired rounds: the target is paused while ``events`` new
  user.metadata.set events are written (100 per API call), then resumed; the
  clock runs until the receiver has them all (the run then checks the server
  recorded every one as succeeded). Right after, the bare aiohttp client posts
  the same number of the same bodies to the same receiver at the worker's
  concurrency for one target (``WorkerConfig.target_concurrency``). Each round
  gives a ratio; the machine drifts between rounds, so the median round is the
  figure (issue 9, goal 2: at least 75 %).
* Memory: the server's resident set (``VmRSS``) after each round; goal 6 asks
  at most 200 MB and no growth per delivery (the last round within 5 % of the
  first).
* Latency: with the worker idle, one event at a time; the receiver notes how
  long after the event's ``createdAt`` each delivery arrived. ``createdAt`` is
  taken before the transaction commits, so this slightly overstates the
  commit-to-receipt time. Each event is paired with one bare POST to the
  receiver after the same idle pause (the paced bare round trip); goal 2 asks
  a commit-to-receipt p50 at most 4 times that.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.common import percentile, start_keyhook, start_receiver, table, wait_http
from bench.tokens import cpu_seconds, database_cpu_seconds, machine_cpu_seconds
from keyhook.services.delivery import WorkerConfig

CONDITION = {"event": {"event": "user.metadata.set"}}


class Client:
    def __init__(self, session: aiohttp.ClientSession, base: str, token: str) -> None:
        self.session = session
        self.base = base
        self.auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def call(self, method: str, url: str, body: object = None, auth: bool = True) -> Any:
        data = None if body is None else orjson.dumps(body)
        headers = self.auth if auth else {}
        async with self.session.request(method, url, data=data, headers=headers) as response:
            payload = await response.read()
            if response.status >= 300:
                raise RuntimeError(f"{method} {url}: {response.status} {payload[:300]!r}")
            return orjson.loads(payload) if payload else {}

    async def api(self, method: str, path: str, body: object = None) -> Any:
        return await self.call(method, self.base + path, body)


CONCURRENCY = WorkerConfig().target_concurrency


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def _bare_throughput(
    url: str, count: int, body: bytes, concurrency: int = CONCURRENCY
) -> tuple[float, Spent]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        queue = iter(range(count))
        headers = {"Content-Type": "application/json"}

        async def sender() -> None:
            for _ in queue:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()

        clock = _CpuClock(None, on_postgres=False)
        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        return count / (time.perf_counter() - started), clock.per(count)


@dataclass(frozen=True)
class Spent:
    """CPU per delivery (ms) while deliveries ran: the server, its PostgreSQL, every core."""

    server: float | None
    database: float | None
    machine: float | None


class _CpuClock:
    def __init__(self, pid: int | None, on_postgres: bool) -> None:
        self.pid, self.on_postgres = pid, on_postgres
        self.start = self._read()

    def _read(self) -> tuple[float | None, float | None, float | None]:
        return (
            cpu_seconds(self.pid) if self.pid is not None else None,
            database_cpu_seconds() if self.on_postgres else None,
            machine_cpu_seconds(),
        )

    def per(self, count: int) -> Spent:
        end = self._read()
        spent = [
            None if a is None or b is None else (b - a) * 1000 / count
            for a, b in zip(self.start, end, strict=True)
        ]
        return Spent(*spent)


async def _round(
    client: Client,
    rbase: str,
    target_id: str,
    user_id: str,
    events: int,
    round_no: int,
    server_pid: int,
    on_postgres: bool,
) -> tuple[float, bytes, Spent]:
    await client.api("POST", f"/v2/actions/targets/{target_id}/pause")
    for start in range(0, events, 100):
        items = [{"key": f"r{round_no}k{start + i}", "value": "v" * 40} for i in range(100)]
        await client.api("POST", f"/v2/users/{user_id}/metadata", {"metadata": items})
    before = await client.api(
        "POST",
        "/v2/actions/deliveries/search",
        {"targetId": target_id, "status": "succeeded", "query": {"limit": 1}},
    )
    succeeded_before = int(before["pagination"]["totalResult"])
    await client.call("DELETE", rbase + "/stats", auth=False)
    clock = _CpuClock(server_pid, on_postgres)
    started = time.perf_counter()
    await client.api("POST", f"/v2/actions/targets/{target_id}/resume")
    while True:  # ask the receiver, not the server, so the server is left alone
        stats = await client.call("GET", rbase + "/stats", auth=False)
        if int(stats["count"]) >= events:
            break
        if time.perf_counter() - started > 300:
            raise RuntimeError("deliveries did not finish within 300 s")
        await asyncio.sleep(0.02)
    throughput = events / (time.perf_counter() - started)
    spent = clock.per(events)
    for _ in range(100):
        done = await client.api(
            "POST",
            "/v2/actions/deliveries/search",
            {"targetId": target_id, "status": "succeeded", "query": {"limit": 1}},
        )
        if int(done["pagination"]["totalResult"]) >= succeeded_before + events:
            break
        await asyncio.sleep(0.1)
    else:
        raise RuntimeError("the receiver got everything but not all were recorded")
    sample = await client.api(
        "POST", "/v2/actions/deliveries/search", {"targetId": target_id, "query": {"limit": 1}}
    )
    delivery = await client.api("GET", "/v2/actions/deliveries/" + sample["deliveries"][0]["id"])
    return throughput, orjson.dumps(delivery["delivery"]["payload"]), spent


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _median(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


@dataclass(frozen=True)
class Result:
    ratio: float  # Keyhook / bare client, median of the rounds
    receipt_ratio: float  # commit-to-receipt p50 / paced bare round trip p50
    rss_mb: list[float]  # the server's resident set after each round
    text: str


async def run(
    data_dir: Path, database_url: str | None, events: int, latency_events: int, rounds: int = 3
) -> Result:
    receiver, receiver_port = start_receiver()
    server, port = start_keyhook(data_dir, database_url)
    rbase = f"http://127.0.0.1:{receiver_port}"
    pairs: list[tuple[float, float]] = []
    spending: list[tuple[Spent, Spent]] = []  # Keyhook's round, the bare client's
    on_postgres = database_url is not None and database_url.startswith("postgres")
    rss: list[float] = []
    paced_bare: list[float] = []
    try:
        await wait_http(f"http://127.0.0.1:{port}/healthz")
        await wait_http(rbase + "/stats")
        token = (data_dir / "admin.pat").read_text().strip()
        async with aiohttp.ClientSession() as session:
            client = Client(session, f"http://127.0.0.1:{port}", token)
            target = await client.api(
                "POST",
                "/v2/actions/targets",
                {
                    "name": "bench-events",
                    "endpoint": rbase + "/events",
                    "timeout": "5s",
                    "restAsync": {},
                },
            )
            await client.api(
                "PUT", "/v2/actions/executions", {"condition": CONDITION, "targets": [target["id"]]}
            )
            user = await client.api(
                "POST",
                "/v2/users/human",
                {
                    "user": {
                        "profile": {"givenName": "Bench", "familyName": "Events"},
                        "email": {"email": f"bench-{secrets.token_hex(4)}@example.com"},
                    }
                },
            )
            for round_no in range(rounds):
                throughput, body, spent = await _round(
                    client,
                    rbase,
                    target["id"],
                    user["userId"],
                    events,
                    round_no,
                    server.proc.pid,
                    on_postgres,
                )
                rss.append(rss_mb(server.proc.pid))
                bare, bare_spent = await _bare_throughput(rbase + "/bare", events, body)
                pairs.append((throughput, bare))
                spending.append((spent, bare_spent))

            latency_target = await client.api(
                "POST",
                "/v2/actions/targets",
                {
                    "name": "bench-latency",
                    "endpoint": rbase + "/latency",
                    "timeout": "5s",
                    "restAsync": {},
                },
            )
            await client.api(
                "PUT",
                "/v2/actions/executions",
                {"condition": CONDITION, "targets": [latency_target["id"]]},
            )
            await client.call("DELETE", rbase + "/stats", auth=False)
            small = orjson.dumps({"metadata": [{"key": "lat", "value": "v"}]})
            for i in range(latency_events):
                await client.api(
                    "POST",
                    f"/v2/users/{user['userId']}/metadata",
                    {"metadata": [{"key": f"lat{i}", "value": "v"}]},
                )
                await asyncio.sleep(0.02)  # idle between events
                started = time.perf_counter()
                async with session.post(rbase + "/bare", data=small) as response:
                    await response.read()
                paced_bare.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.5)
            delays = list((await client.call("GET", rbase + "/stats", auth=False))["delaysMs"])
    finally:
        server.stop()
        receiver.stop()
    rows = [
        [
            f"round {i + 1}",
            events,
            f"{t:,.0f}",
            _ms(ours.server),
            _ms(ours.database),
            _ms(ours.machine),
            f"{b:,.0f}",
            _ms(bare.machine),
            f"{100 * t / b:.0f} %",
        ]
        for i, ((t, b), (ours, bare)) in enumerate(zip(pairs, spending, strict=True))
    ]
    ratios = [t / b for t, b in pairs]
    throughput = statistics.median(t for t, _ in pairs)
    ratio = statistics.median(ratios)
    rows.append(
        [
            "median",
            events,
            f"{throughput:,.0f}",
            _ms(_median(ours.server for ours, _ in spending)),
            _ms(_median(ours.database for ours, _ in spending)),
            _ms(_median(ours.machine for ours, _ in spending)),
            f"{statistics.median(b for _, b in pairs):,.0f}",
            _ms(_median(bare.machine for _, bare in spending)),
            f"{100 * ratio:.0f} %",
        ]
    )
    text = table(
        [
            "deliveries, each round",
            "events",
            "Keyhook per s",
            "server CPU ms each",
            "its PostgreSQL's CPU ms each",
            "machine CPU ms each",
            f"bare aiohttp per s ({CONCURRENCY} concurrent)",
            "machine CPU ms each (bare)",
            "Keyhook / bare",
        ],
        rows,
    )
    text += "\n\n" + table(
        ["server RSS after round", *[str(i + 1) for i in range(len(rss))]],
        [["MB", *[f"{m:.0f}" for m in rss]]],
    )
    text += "\n\n" + table(
        ["commit-to-receipt, idle worker", "events", "p50 ms", "p99 ms"],
        [
            [
                "event createdAt → receiver",
                len(delays),
                f"{percentile(delays, 0.5):.2f}",
                f"{percentile(delays, 0.99):.2f}",
            ],
            [
                "bare round trip, paced the same (baseline)",
                len(paced_bare),
                f"{percentile(paced_bare, 0.5):.2f}",
                f"{percentile(paced_bare, 0.99):.2f}",
            ],
        ],
    )
    receipt = percentile(delays, 0.5) / percentile(paced_bare, 0.5)
    goals = [
        (f"≥ 75 % of the bare client ({100 * ratio:.0f} %)", ratio >= 0.75),
        (
            f"commit-to-receipt p50 ≤ 4 times the paced bare round trip ({receipt:.1f} times)",
            receipt <= 4,
        ),
        (f"RSS ≤ 200 MB (at most {max(rss):.0f})", max(rss) <= 200),
        (
            f"RSS flat: last round within 5 % of the first ({rss[0]:.0f} → {rss[-1]:.0f} MB)",
            rss[-1] <= rss[0] * 1.05,
        ),
    ]
    text += "\n\ngoals (issue 9, medians):\n" + "\n".join(
        f"  {g}: {'met' if ok else 'NOT met'}" for g, ok in goals
    )
    return Result(ratio, receipt, rss, text)
