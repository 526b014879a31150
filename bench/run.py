"""``make bench``: every benchmark of Keyhook, each with its baseline from the same run.

Options: --database-url URL (default: SQLite in a temporary data dir; with
PostgreSQL each benchmark gets a fresh database beside the one named),
--rounds N and --batch N (API latency: N rounds of N calls per case),
--events N and --delivery-rounds N (event deliveries), --token-rounds N and
--token-seconds S (token issuance: N paired rounds of S seconds per mode),
--peer-rounds N and --peer-seconds S (tokens beside oidc-provider: N paired rounds of S
seconds per mode and concurrency), --peer-modes client_credentials,refresh_token,introspection
(a subset, comma-separated),
--authorize-calls N (the authorize step: N paired calls),
--live-rounds N (the console's live tail: N deliveries),
--listen-rounds N and --listen-batch N (keyhook listen: N interleaved batches of N
calls per target),
--signing-rounds N (RS256 beside ES256: N interleaved rounds of signatures and of
client-credentials grants),
--only api|authorize|engine|deliveries|console|live|receiver|tokens|signing|peer|listen
(console: the console's pages on a database seeded with 1,000,000 events and 100,000 deliveries).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import (
    api_latency,
    authorize,
    console_pages,
    deliveries,
    engine_overhead,
    listen,
    live_tail,
    receiver_verify,
    signing,
    tokens,
    tokens_peer,
)
from bench.common import fresh_database, machine
from bench.seed_scale import Counts, seed


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--batch", type=int, default=125)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--delivery-rounds", type=int, default=3)
    parser.add_argument("--token-rounds", type=int, default=5)
    parser.add_argument("--token-seconds", type=float, default=3.0)
    parser.add_argument("--signing-rounds", type=int, default=5)
    parser.add_argument("--peer-rounds", type=int, default=3)
    parser.add_argument("--peer-seconds", type=float, default=4.0)
    parser.add_argument("--peer-modes", default=",".join(tokens_peer.MODES))
    parser.add_argument("--authorize-calls", type=int, default=3000)
    parser.add_argument("--live-rounds", type=int, default=40)
    parser.add_argument("--listen-rounds", type=int, default=10)
    parser.add_argument("--listen-batch", type=int, default=100)
    parser.add_argument(
        "--only",
        choices=[
            "api",
            "authorize",
            "engine",
            "deliveries",
            "console",
            "live",
            "receiver",
            "tokens",
            "signing",
            "peer",
            "listen",
        ],
        default=None,
    )
    args = parser.parse_args()
    peer_modes = [mode for mode in args.peer_modes.split(",") if mode]
    unknown = set(peer_modes) - set(tokens_peer.MODES)
    if unknown:
        parser.error(f"--peer-modes: unknown {', '.join(sorted(unknown))}")
    print(f"Keyhook benchmarks on {machine()}; database: {args.database_url or 'SQLite'}\n")
    if args.only in (None, "api"):
        with tempfile.TemporaryDirectory(prefix="keyhook-bench-") as tmp:
            async with fresh_database(args.database_url) as url:
                result = await api_latency.run(Path(tmp) / "api", url, args.rounds, args.batch)
        print("## API call latency with a request execution\n")
        print(result.text)
    if args.only in (None, "authorize"):
        async with fresh_database(args.database_url) as url:
            text = await authorize.run(args.authorize_calls, url)
        print("\n## The authorize step's cost per API call (in-process)\n")
        print(text)
    if args.only in (None, "engine"):
        print("\n## The actions engine's own cost per target call (in-process)\n")
        print(await engine_overhead.run(2000))
    if args.only in (None, "deliveries"):
        with tempfile.TemporaryDirectory(prefix="keyhook-bench-") as tmp:
            async with fresh_database(args.database_url) as url:
                delivered = await deliveries.run(
                    Path(tmp) / "events", url, args.events, 200, args.delivery_rounds
                )
        print("\n## Event deliveries\n")
        print(delivered.text)
    if args.only in (None, "console"):
        with tempfile.TemporaryDirectory(prefix="keyhook-bench-") as tmp:
            async with fresh_database(args.database_url) as url:
                await seed(Path(tmp) / "console", url, Counts())
                pages = await console_pages.run(Path(tmp) / "console", url, calls=100)
        print("\n## The console's pages, seeded (1,000,000 events, 100,000 deliveries)\n")
        print(pages.text)
    if args.only in (None, "receiver"):
        text, _ = receiver_verify.run(rounds=9, calls=2000)
        print("\n## keyhook-receiver's verification cost\n")
        print(text)
    if args.only in (None, "live"):
        with tempfile.TemporaryDirectory(prefix="keyhook-bench-") as tmp:
            async with fresh_database(args.database_url) as url:
                text, _ = await live_tail.run(Path(tmp) / "live", url, args.live_rounds)
        print("\n## The console's live tail\n")
        print(text)
    if args.only in (None, "tokens"):
        with tempfile.TemporaryDirectory(prefix="keyhook-bench-") as tmp:
            async with fresh_database(args.database_url) as url:
                text = await tokens.run(
                    Path(tmp) / "tokens", url, args.token_rounds, args.token_seconds
                )
        print("\n## Token issuance (refresh_token grants)\n")
        print(text)
    if args.only in (None, "signing"):
        with tempfile.TemporaryDirectory(prefix="keyhook-bench-") as tmp:
            async with fresh_database(args.database_url) as url:
                text = await signing.run(
                    Path(tmp) / "signing", url, args.signing_rounds, args.token_seconds
                )
        print("\n## What RS256 costs per token beside ES256\n")
        print(text)
    if args.only in (None, "peer"):
        with tempfile.TemporaryDirectory(prefix="keyhook-bench-") as tmp:
            async with fresh_database(args.database_url) as url:
                compared = await tokens_peer.run(
                    Path(tmp) / "peer",
                    url,
                    args.peer_rounds,
                    args.peer_seconds,
                    (8, 32),
                    peer_modes,
                )
        print("\n## Tokens beside oidc-provider: grants and introspection (issue 9, goal 4)\n")
        print(compared.text)
    if args.only in (None, "listen"):
        with tempfile.TemporaryDirectory(prefix="keyhook-bench-") as tmp:
            async with fresh_database(args.database_url) as url:
                text = await listen.run(
                    Path(tmp) / "listen", url, args.listen_rounds, args.listen_batch
                )
        print("\n## keyhook listen: a request execution through a relay target\n")
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
