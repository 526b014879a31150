"""Client-credentials tokens per second: Keyhook beside a certified peer, same run.

The peer is ``oidc-provider`` (the npm package, a certified OpenID Provider) in
one Node process, started from ``bench/peers/`` and configured for the same
grant with ES256 JWT access tokens (``bench/peers/oidc_provider.mjs``). Keyhook
issues its tokens to a machine user with a client secret, as in the README.

One Python load generator drives both: ``concurrency`` workers, each looping
``POST /token`` (``grant_type=client_credentials``, HTTP Basic) for ``seconds``.
Rounds alternate Keyhook, peer, Keyhook, peer, …, so the machine's drift hits
both alike; the figure is the median of the paired rounds' ratios. Each
server's CPU time (``/proc``) is read around each round: CPU per token does not
depend on how busy the load generator keeps the machine.

The two do not do the same work: Keyhook commits every grant durably (an event
and its projection) and verifies an argon2-hashed secret (once, then from
memory); the peer keeps its state in memory and compares the secret as it is.
That is the gap issue 9's goals measure. Without ``node`` or its packages the
peer is skipped and the table says why.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson

from bench.common import ROOT, Process, free_port, start_keyhook, table, wait_http
from bench.tokens import cpu_seconds

PEERS = ROOT / "bench" / "peers"
PEER_CLIENT, PEER_SECRET = "bench-client", "bench-secret-for-the-peer"
GOAL_RATIO = 0.5
GOAL_CPU_MS = 1.5


@dataclass(frozen=True)
class Issuer:
    name: str
    token_url: str
    client_id: str
    secret: str
    pid: int


@dataclass(frozen=True)
class Round:
    tokens: int
    seconds: float
    cpu_ms: float | None  # server CPU per token

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds


def peer_missing() -> str | None:
    """Why the peer cannot run here, installing its packages first if it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (PEERS / "node_modules" / "oidc-provider").exists():
        npm = shutil.which("npm")
        if npm is None:
            return "npm is not installed (needed once, to install bench/peers)"
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=PEERS, capture_output=True, check=False
        )
        if done.returncode != 0:
            return f"npm ci in bench/peers failed: {done.stderr.decode()[-300:]}"
    return None


def _alg(access_token: str) -> str:
    head = access_token.split(".")[0]
    return str(orjson.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["alg"])


async def _load(issuer: Issuer, concurrency: int, seconds: float) -> Round:
    auth = aiohttp.BasicAuth(issuer.client_id, issuer.secret)
    form = {"grant_type": "client_credentials"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        # One token first: the grant works and the token is what is compared.
        async with session.post(issuer.token_url, data=form, auth=auth) as reply:
            body = await reply.json()
            assert reply.status == 200, body
            assert _alg(body["access_token"]) == "ES256", issuer.name
        counts = [0] * concurrency
        deadline = time.perf_counter() + seconds

        async def worker(i: int) -> None:
            while time.perf_counter() < deadline:
                async with session.post(issuer.token_url, data=form, auth=auth) as reply:
                    await reply.read()
                    if reply.status == 200:
                        counts[i] += 1

        cpu_before = cpu_seconds(issuer.pid)
        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
        cpu_after = cpu_seconds(issuer.pid)
    tokens = sum(counts)
    cpu = None
    if cpu_before is not None and cpu_after is not None and tokens:
        cpu = (cpu_after - cpu_before) * 1000 / tokens
    return Round(tokens, elapsed, cpu)


async def _keyhook_issuer(base: str, data_dir: Path, pid: int) -> Issuer:
    admin = {"Authorization": f"Bearer {(data_dir / 'admin.pat').read_text().strip()}"}
    async with aiohttp.ClientSession(headers=admin) as session:
        async with session.post(
            base + "/management/v1/users/machine", json={"userName": "bench-robot", "name": "B"}
        ) as reply:
            user_id = (await reply.json())["userId"]
        async with session.post(f"{base}/v2/users/{user_id}/secret") as reply:
            secret = (await reply.json())["clientSecret"]
    return Issuer("Keyhook", base + "/oauth/v2/token", "bench-robot", secret, pid)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


async def run(
    data_dir: Path, database_url: str | None, rounds: int, seconds: float, levels: tuple[int, ...]
) -> str:
    missing = peer_missing()
    server, port = start_keyhook(data_dir, database_url)
    peer: Process | None = None
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_http(base + "/healthz")
        keyhook = await _keyhook_issuer(base, data_dir, server.proc.pid)
        if missing is not None:
            return f"the peer is SKIPPED: {missing}; nothing to compare Keyhook with"
        peer_port = free_port()
        node = shutil.which("node") or "node"
        peer = Process(
            [node, str(PEERS / "oidc_provider.mjs"), str(peer_port), PEER_CLIENT, PEER_SECRET]
        )
        peer_base = f"http://127.0.0.1:{peer_port}"
        await wait_http(peer_base + "/.well-known/openid-configuration")
        other = Issuer(
            "oidc-provider", peer_base + "/token", PEER_CLIENT, PEER_SECRET, peer.proc.pid
        )
        rows: list[list[object]] = []
        verdicts: list[str] = []
        for concurrency in levels:
            ratios: list[float] = []
            cpus: list[float] = []
            for number in range(1, rounds + 1):
                ours = await _load(keyhook, concurrency, seconds)
                theirs = await _load(other, concurrency, seconds)
                ratio = ours.rate / theirs.rate
                ratios.append(ratio)
                if ours.cpu_ms is not None:
                    cpus.append(ours.cpu_ms)
                rows.append(
                    [
                        concurrency,
                        number,
                        f"{ours.rate:,.0f}",
                        _ms(ours.cpu_ms),
                        f"{theirs.rate:,.0f}",
                        _ms(theirs.cpu_ms),
                        f"{ratio:.3f}",
                    ]
                )
            median = statistics.median(ratios)
            cpu = statistics.median(cpus) if cpus else None
            rows.append([concurrency, "median", "", _ms(cpu), "", "", f"{median:.3f}"])
            verdicts.append(
                f"{concurrency} clients: Keyhook / peer {median:.3f} (goal ≥ {GOAL_RATIO}: "
                f"{'met' if median >= GOAL_RATIO else 'not met'}); server CPU per token "
                f"{_ms(cpu)} ms (goal ≤ {GOAL_CPU_MS}: "
                f"{'met' if cpu is not None and cpu <= GOAL_CPU_MS else 'not met'})"
            )
        header = [
            "clients",
            "round",
            "Keyhook tokens/s",
            "Keyhook CPU ms/token",
            "peer tokens/s",
            "peer CPU ms/token",
            "Keyhook / peer",
        ]
        return table(header, rows) + "\n\n" + "\n".join(verdicts)
    finally:
        if peer is not None:
            peer.stop()
        server.stop()
