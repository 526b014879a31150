"""The console's pages against the JSON API they render (issue 12): the Deliveries page,
the Overview and the API reference (every operation, unfiltered), each timed from
request to the last byte, interleaved call by call with ListDeliveries,
GetActionsOverview and ``/openapi.json`` over HTTP on the same server. Goal: p95 of
each page ≤ 150 ms with 100,000 deliveries and 1,000,000 events stored
(``make bench-scale`` runs it on the seeded database too).

The console's session cookie is sealed here with the data dir's master key around the
admin PAT (the console calls the operations with whatever token its cookie holds), so
no browser sign-in is needed.

``python bench/console_pages.py`` measures an empty database; ``--data-dir DIR
[--database-url URL]`` an existing one, e.g. one filled by ``bench/seed_scale.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import fresh_database, machine, percentile, start_keyhook, table, wait_http
from keyhook.bootstrap import assemble
from keyhook.clock import now
from keyhook.config import from_environment
from keyhook.console.session import SESSION_COOKIE, ConsoleSession, Sessions
from keyhook.crypto.secretbox import SecretBox
from keyhook.domain.caller import Caller
from keyhook.query.overview import OverviewQueries

GOAL_P95_MS = 150.0


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: bytes | None
    console: bool


CASES = (
    Case("Deliveries page", "GET", "/ui/console/deliveries", None, True),
    Case("ListDeliveries (JSON)", "POST", "/v2/actions/deliveries/search", b"{}", False),
    Case("Overview page", "GET", "/ui/console", None, True),
    Case("GetActionsOverview (JSON)", "GET", "/v2/actions/overview", None, False),
    Case("API reference page", "GET", "/ui/console/api", None, True),
    Case("/openapi.json", "GET", "/openapi.json", None, False),
)


@dataclass(frozen=True)
class Result:
    text: str
    p95_ms: dict[str, float]


def console_cookie(data_dir: Path, token: str) -> str:
    key = base64.b64decode((data_dir / "master.key").read_bytes())
    session = ConsoleSession(token, time.time() + 3600, "bench", "Bench")
    return Sessions(SecretBox(key)).seal(session)


async def measure(base: str, token: str, cookie: str, calls: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {case.name: [] for case in CASES}
    api_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(cookies={SESSION_COOKIE: cookie}) as session:
        for i in range(calls + 20):
            for case in CASES:
                headers = {} if case.console else api_headers
                started = time.perf_counter()
                async with session.request(
                    case.method,
                    base + case.path,
                    data=case.body,
                    headers=headers,
                    allow_redirects=False,
                ) as response:
                    body = await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{case.name}: {response.status} {body[:300]!r}")
                took = (time.perf_counter() - started) * 1000
                if i >= 20:  # the first calls warm every case up
                    samples[case.name].append(took)
    return samples


def report(samples: dict[str, list[float]], label: str) -> Result:
    rows = []
    p95: dict[str, float] = {}
    for case in CASES:
        values = samples[case.name]
        p95[case.name] = percentile(values, 0.95)
        goal = f"≤ {GOAL_P95_MS:.0f}: {'met' if p95[case.name] <= GOAL_P95_MS else 'NOT met'}"
        rows.append(
            [
                case.name,
                len(values),
                f"{percentile(values, 0.5):.1f}",
                f"{p95[case.name]:.1f}",
                goal if case.console else "(baseline)",
            ]
        )
    return Result(f"{label}\n\n" + table(["case", "calls", "p50 ms", "p95 ms", "goal"], rows), p95)


async def computing_overview(data_dir: Path, database_url: str | None, times: int = 5) -> float:
    """The median time of computing one overview, not remembered (in-process)."""
    env = {"KEYHOOK_NO_WORKER": "1"}
    if database_url:
        env["KEYHOOK_DATABASE_URL"] = database_url
    core = await assemble(from_environment(env, data_dir=data_dir))
    try:
        async with core.db.read() as conn:
            instance = (await conn.execute("SELECT * FROM instances")).one()
        caller = Caller(instance.id, "bench", instance.default_org_id, instance.default_org_id)
        queries = OverviewQueries(core.db)
        samples = []
        for _ in range(times):
            started = time.perf_counter()
            await queries.compute(caller, now())
            samples.append((time.perf_counter() - started) * 1000)
    finally:
        await core.stop()
    return statistics.median(samples)


async def run(
    data_dir: Path, database_url: str | None, calls: int = 100, label: str = ""
) -> Result:
    """Start a server on ``data_dir`` (new or existing) and measure the console's pages."""
    server, port = start_keyhook(data_dir, database_url)
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_http(base + "/healthz", timeout=120)
        token = (data_dir / "admin.pat").read_text().strip()
        samples = await measure(base, token, console_cookie(data_dir, token), calls)
    finally:
        server.stop()
    result = report(samples, label or "the console's pages against the JSON they render")
    computing = await computing_overview(data_dir, database_url)
    return Result(
        result.text + "\n\ncomputing one overview, not remembered (median of 5, in-process): "
        f"{computing:.1f} ms; the pages answer a remembered one (at most 5 s old, then "
        "refreshed in the background)",
        result.p95_ms,
    )


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    print(f"Keyhook console pages on {machine()}; database: {args.database_url or 'SQLite'}\n")
    if args.data_dir is not None:
        result = await run(args.data_dir, args.database_url, args.calls)
    else:
        with tempfile.TemporaryDirectory(prefix="keyhook-bench-") as tmp:
            async with fresh_database(args.database_url) as url:
                result = await run(Path(tmp) / "console", url, args.calls)
    print(result.text)
    return 0 if all(v <= GOAL_P95_MS for k, v in result.p95_ms.items() if "page" in k) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
