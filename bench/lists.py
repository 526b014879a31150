"""List operations' latency over HTTP: the first and the last page (issue 9, goal 5).

ListUsers, ListDeliveries and ListTargetCalls page with ``offset`` and ``limit``
(``query`` in the request, :mod:`keyhook.query.paging`): every answer carries the
total (``pagination.totalResult``) and at most ``limit`` rows from ``offset``. The
first page is offset 0; the last is what a client asks for to see the end, the
total minus the limit (the API takes offsets up to 10,000,000). Each call is timed
from request to the last byte of the answer; the cases are interleaved call by
call, so drift on the machine hits each alike. Goal: p95 under 20 ms on both pages.

``python bench/lists.py`` measures an empty database (a temporary data dir; with
``--database-url`` a fresh PostgreSQL database beside the one named);
``--data-dir DIR [--database-url URL]`` measures an existing one, e.g. one filled
by ``bench/seed_scale.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import fresh_database, machine, percentile, start_keyhook, table, wait_http

GOAL_P95_MS = 20.0
DEFAULT_LIMIT = 100  # the API's default page size


@dataclass(frozen=True)
class ListOperation:
    name: str
    path: str
    rows_member: str  # where the answer lists its rows


OPERATIONS = (
    ListOperation("ListUsers", "/v2/users/search", "result"),
    ListOperation("ListDeliveries", "/v2/actions/deliveries/search", "deliveries"),
    ListOperation("ListTargetCalls", "/v2/actions/calls/search", "calls"),
)


@dataclass(frozen=True)
class Case:
    operation: ListOperation
    page: str  # "first" or "last"
    offset: int
    total: int
    limit: int

    @property
    def body(self) -> bytes:
        return orjson.dumps({"query": {"offset": self.offset, "limit": self.limit}})

    @property
    def expected_rows(self) -> int:
        return max(0, min(self.limit, self.total - self.offset))


@dataclass
class Result:
    rows: list[list[object]]
    p95_ms: dict[tuple[str, str], float]  # (operation, page) -> p95
    met: bool
    text: str


class _Client:
    def __init__(self, session: aiohttp.ClientSession, base: str, token: str) -> None:
        self.session = session
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def post(self, path: str, body: bytes) -> dict[str, object]:
        async with self.session.post(self.base + path, data=body, headers=self.headers) as reply:
            answer = await reply.read()
            if reply.status != 200:
                raise RuntimeError(f"{path}: {reply.status} {answer[:300]!r}")
        decoded: dict[str, object] = orjson.loads(answer)
        return decoded

    async def total(self, operation: ListOperation) -> int:
        answer = await self.post(operation.path, orjson.dumps({"query": {"limit": 1}}))
        pagination = answer["pagination"]
        assert isinstance(pagination, dict)
        return int(pagination["totalResult"])

    async def timed(self, case: Case) -> float:
        body = case.body
        started = time.perf_counter()
        answer = await self.post(case.operation.path, body)
        elapsed = (time.perf_counter() - started) * 1000
        got = answer[case.operation.rows_member]
        assert isinstance(got, list)
        if len(got) != case.expected_rows:
            raise RuntimeError(
                f"{case.operation.name} {case.page} page: {len(got)} rows, "
                f"expected {case.expected_rows}"
            )
        return elapsed


async def measure(
    base: str, token: str, calls: int, limit: int = DEFAULT_LIMIT, warmup: int = 10
) -> dict[Case, list[float]]:
    """``calls`` timings of each case against the server at ``base``."""
    async with aiohttp.ClientSession() as session:
        client = _Client(session, base, token)
        cases: list[Case] = []
        for operation in OPERATIONS:
            total = await client.total(operation)
            cases.append(Case(operation, "first", 0, total, limit))
            cases.append(Case(operation, "last", max(0, total - limit), total, limit))
        samples: dict[Case, list[float]] = {case: [] for case in cases}
        for _ in range(warmup):  # connections, caches, the database's pages
            for case in cases:
                await client.timed(case)
        for _ in range(calls):
            for case in cases:
                samples[case].append(await client.timed(case))
    return samples


def report(samples: dict[Case, list[float]], label: str) -> Result:
    rows: list[list[object]] = []
    p95: dict[tuple[str, str], float] = {}
    for case, values in samples.items():
        high = percentile(values, 0.95)
        p95[(case.operation.name, case.page)] = high
        rows.append(
            [
                case.operation.name,
                case.page,
                f"{case.offset:,}",
                f"{case.total:,}",
                len(values),
                f"{percentile(values, 0.5):.2f}",
                f"{high:.2f}",
                "met" if high < GOAL_P95_MS else "NOT met",
            ]
        )
    met = all(value < GOAL_P95_MS for value in p95.values())
    text = f"{label}\n\n" + table(
        ["operation", "page", "offset", "total", "calls", "p50 ms", "p95 ms", "p95 < 20 ms"],
        rows,
    )
    missed = [f"{name} ({page} page)" for (name, page), v in p95.items() if v >= GOAL_P95_MS]
    text += f"\n\ngoal p95 < {GOAL_P95_MS:.0f} ms on the first and the last page: " + (
        "met" if met else "NOT met: " + ", ".join(missed)
    )
    return Result(rows, p95, met, text)


async def run(
    data_dir: Path,
    database_url: str | None,
    calls: int = 200,
    limit: int = DEFAULT_LIMIT,
    label: str = "",
) -> Result:
    """Start a server on ``data_dir`` (new or existing) and measure the list operations."""
    server, port = start_keyhook(data_dir, database_url)
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_http(base + "/healthz", timeout=120)
        token = (data_dir / "admin.pat").read_text().strip()
        samples = await measure(base, token, calls, limit)
    finally:
        server.stop()
    return report(samples, label or f"list operations, {limit} rows a page")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT)
    args = parser.parse_args()
    print(f"Keyhook list operations on {machine()}; database: {args.database_url or 'SQLite'}\n")
    if args.data_dir is not None:
        result = await run(args.data_dir, args.database_url, args.calls, args.limit)
    else:
        with tempfile.TemporaryDirectory(prefix="keyhook-bench-") as tmp:
            async with fresh_database(args.database_url) as url:
                result = await run(Path(tmp) / "lists", url, args.calls, args.limit)
    print(result.text)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
