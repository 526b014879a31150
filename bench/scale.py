"""``make bench-scale``: the benchmarks on an empty database and on a full one, side by side.

Issue 9, goal 5: with 1,000,000 events, 100,000 users and 100,000 finished
deliveries (and 100,000 call records) already stored, every figure of the
benchmarks stays within 1.2 times the empty database's, and the list operations
answer their first and last pages with a p95 under 20 ms.

The database is seeded once (``bench/seed_scale.py``); each benchmark then runs
on a new empty database and on a fresh copy of the seeded one (the SQLite data
dir copied as it is; on PostgreSQL ``CREATE DATABASE … TEMPLATE`` and the data
dir's keys copied), one after the other, so both meet the machine in the same
state. Every figure compared is itself a ratio to a baseline of the same run
(the floor app, the bare client, the peer), so the machine's drift between the
two runs cancels as far as it can.

Options: --database-url URL (PostgreSQL: the seeded and the per-run databases
are made beside the one named and dropped after), --events/--users/--deliveries
/--calls (the seed's size), --only api|deliveries|peer|lists|console (repeatable).
The console's pages (issue 12) have an absolute goal besides: p95 ≤ 150 ms on the
seeded database (``bench/console_pages.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import api_latency, console_pages, deliveries, lists, tokens_peer
from bench.common import fresh_database, machine, table
from bench.seed_scale import Counts, seed

GOAL_RATIO = 1.2
BENCHES = ("api", "deliveries", "peer", "lists", "console")


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    higher_is_better: bool  # a rate; otherwise a time or a cost


@dataclass(frozen=True)
class Seeded:
    data_dir: Path
    database_url: str | None  # None: the SQLite file inside data_dir


@contextlib.asynccontextmanager
async def _copy_of(seeded: Seeded, into: Path) -> AsyncIterator[str | None]:
    """A fresh copy of the seeded data dir (and database) at ``into``, dropped after."""
    shutil.copytree(seeded.data_dir, into)
    if seeded.database_url is None:
        yield None
        return
    import asyncpg

    base, template = seeded.database_url.rsplit("/", 1)
    name = f"keyhook_scale_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(seeded.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(seeded.database_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


Bench = Callable[[Path, str | None], Awaitable[tuple[list[Figure], str]]]


async def _api(data_dir: Path, url: str | None) -> tuple[list[Figure], str]:
    result = await api_latency.run(data_dir, url, rounds=8, batch=100)
    return [
        Figure("AddHumanUser p50 / floor app p50", result.floor_ratio, False),
    ], result.text


async def _deliveries(data_dir: Path, url: str | None) -> tuple[list[Figure], str]:
    result = await deliveries.run(data_dir, url, events=5000, latency_events=200, rounds=3)
    return [
        Figure("deliveries: Keyhook / bare client", result.ratio, True),
        Figure("commit-to-receipt p50 / paced bare round trip", result.receipt_ratio, False),
        Figure("server RSS, last round (MB)", result.rss_mb[-1], False),
    ], result.text


async def _peer(data_dir: Path, url: str | None) -> tuple[list[Figure], str]:
    result = await tokens_peer.run(data_dir, url, rounds=3, seconds=3.0, levels=(8, 32))
    figures = [
        Figure(f"{mode} at {clients} clients: Keyhook / peer", ratio, True)
        for (mode, clients), ratio in result.ratios.items()
    ]
    return figures, result.text


async def _lists(data_dir: Path, url: str | None) -> tuple[list[Figure], str]:
    result = await lists.run(data_dir, url, calls=200)
    figures = [
        Figure(f"{operation} {page} page p95 (ms)", p95, False)
        for (operation, page), p95 in result.p95_ms.items()
    ]
    return figures, result.text


async def _console(data_dir: Path, url: str | None) -> tuple[list[Figure], str]:
    result = await console_pages.run(data_dir, url, calls=100)
    figures = [Figure(f"{case} p95 (ms)", p95, False) for case, p95 in result.p95_ms.items()]
    return figures, result.text


RUNNERS: dict[str, Bench] = {
    "api": _api,
    "deliveries": _deliveries,
    "peer": _peer,
    "lists": _lists,
    "console": _console,
}


def _verdict(empty: Figure, full: Figure) -> tuple[float, bool]:
    """How many times worse the full database is (1.0: the same), and whether within goal."""
    if empty.value <= 0 or full.value <= 0:
        return float("nan"), False
    worse = empty.value / full.value if empty.higher_is_better else full.value / empty.value
    return worse, worse <= GOAL_RATIO


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    defaults = Counts()
    parser.add_argument("--events", type=int, default=defaults.events)
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--deliveries", type=int, default=defaults.deliveries)
    parser.add_argument("--calls", type=int, default=defaults.calls)
    parser.add_argument("--only", action="append", choices=BENCHES, default=None)
    args = parser.parse_args()
    chosen = args.only or list(BENCHES)
    counts = Counts(args.events, args.users, args.deliveries, args.calls)
    print(f"Keyhook at scale on {machine()}; database: {args.database_url or 'SQLite'}\n")
    rows: list[list[object]] = []
    all_met = True
    with tempfile.TemporaryDirectory(prefix="keyhook-scale-") as tmp:
        async with fresh_database(args.database_url) as seed_url:
            started = time.perf_counter()
            report = await seed(Path(tmp) / "seeded", seed_url, counts)
            print(f"## The seed ({time.perf_counter() - started:.0f} s)\n\n{report.summary()}\n")
            seeded = Seeded(Path(tmp) / "seeded", seed_url)
            for index, name in enumerate(chosen):
                run = RUNNERS[name]
                async with fresh_database(args.database_url) as url:
                    empty, empty_text = await run(Path(tmp) / f"{index}-empty", url)
                async with _copy_of(seeded, Path(tmp) / f"{index}-full") as url:
                    full, full_text = await run(Path(tmp) / f"{index}-full", url)
                print(f"## {name}, empty database\n\n{empty_text}\n")
                print(f"## {name}, seeded database\n\n{full_text}\n")
                for before, after in zip(empty, full, strict=True):
                    worse, met = _verdict(before, after)
                    if name == "lists":  # the goal is the time itself, on both pages
                        met = after.value < lists.GOAL_P95_MS
                    all_met = all_met and met
                    rows.append(
                        [
                            before.name,
                            f"{before.value:.3g}",
                            f"{after.value:.3g}",
                            f"{worse:.2f}",
                            "met" if met else "NOT met",
                        ]
                    )
    print("## Empty vs seeded (issue 9, goal 5)\n")
    print(
        table(
            ["figure", "empty", "seeded", "times worse seeded", f"goal ≤ {GOAL_RATIO}"],
            rows,
        )
    )
    print(
        "\nlists: the goal is p95 < 20 ms on the seeded database (first and last page);"
        " every other figure: at most 1.2 times worse than on the empty database."
    )
    print(f"\nall goals met: {'yes' if all_met else 'no'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
