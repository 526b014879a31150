"""Tokens beside a certified peer, same run: client credentials, refresh tokens,
introspection.

The peer is ``oidc-provider`` (the npm package, a certified OpenID Provider) in
one Node process, started from ``bench/peers/`` and configured for the same
grants with ES256 JWT access tokens (``bench/peers/oidc_provider.mjs``). Three
modes, each measured on both servers:

``client_credentials``
    ``POST`` token, ``grant_type=client_credentials`` with HTTP Basic: Keyhook's
    client is a machine user with a client secret (as in the README), the
    peer's a confidential client. Each answer is one ES256 JWT access token.
``refresh_token``
    ``grant_type=refresh_token`` for a public PKCE client, scope ``openid profile
    email offline_access``: each answer carries a new ES256 JWT access token, a
    new ES256 ID token with the profile and email claims and a new refresh token
    (rotation: the old one stops working, and presenting it again ends the
    grant on both; checked once per server before the rounds). Every worker
    keeps its own chain and always presents the refresh token it got last;
    every answer must be a 200 with a new refresh token. Keyhook's chains start
    with a sign-in through its hosted login page and the code exchange, as
    ``bench/tokens.py``'s do; the peer's from a bench-only route that mints a
    Grant and a RefreshToken with oidc-provider's model API (what its code
    exchange leaves behind), so no browser is needed on either side. The peer
    gets new chains before each of its rounds: its in-memory store indexes every
    refresh token of a grant in one map that each rotation walks, and over a
    long chain that cost grows (measured here: 20 % more CPU per grant after
    ten seconds of rotations); Keyhook's chains go on across rounds, its
    lookups being indexed, so the growth, if any, is its own.
``introspection``
    RFC 7662 ``POST`` introspection with HTTP Basic, of an access token issued to
    the caller by client credentials; every answer must say ``active: true``.
    Keyhook's caller is the machine user, introspecting its own JWT: Keyhook
    checks the signature, then the token's row (revocation), the machine user
    and the user. The peer's is its confidential client, introspecting an
    *opaque* token: oidc-provider refuses to introspect structured (JWT) access
    tokens, so it looks the token up in memory and verifies no signature.

One Python load generator drives both: ``concurrency`` workers, each looping
its request for ``seconds``. Per mode and concurrency, rounds alternate
Keyhook, peer, Keyhook, peer, …, so the machine's drift hits both alike; the
figure is the median of the paired rounds' ratios. Each server's CPU time
(``/proc``) is read around each round: CPU per operation does not depend on how
busy the load generator keeps the machine. On PostgreSQL the database's own CPU
(every ``postgres`` process) is read too and shown beside Keyhook's: the two share
this machine's cores with the load generator, as the peer does not. The machine
column is every core's busy time per operation (server, database, load
generator and the rest): on two cores, what bounds the rate once they are full.

What still differs: Keyhook commits every grant durably (its events and
projections, in SQLite or PostgreSQL) and checks revocation on every
introspection; the peer keeps grants, refresh tokens and opaque tokens in an
in-memory map and does not store JWT access tokens at all. Keyhook verifies an
argon2-hashed secret (once, then from memory); the peer compares the secret
as it is. Keyhook's refresh reads the user and the client from memory (at most
1 s old, dropped by this node's own changes at once) and the grant from its
database; the peer's account is a constant. That is the gap issue 9's goals measure.
Without ``node`` or its packages the peer is skipped and the output says why.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import aiohttp
import orjson

from bench.common import ROOT, Process, free_port, start_keyhook, table, wait_http
from bench.tokens import (
    BenchError,
    Setup,
    cpu_seconds,
    database_cpu_seconds,
    machine_cpu_seconds,
)

PEERS = ROOT / "bench" / "peers"
PEER_CLIENT, PEER_SECRET = "bench-client", "bench-secret-for-the-peer"
PEER_PUBLIC_CLIENT = "bench-public"
PEER_OPAQUE_RESOURCE = "urn:keyhook:bench:opaque"  # oidc_provider.mjs: opaque tokens
MODES = ("client_credentials", "refresh_token", "introspection")
GOAL_RATIO = 0.5
GOAL_CPU_MS = 1.5
# Per mode and server, before the rounds. Node's JIT needs several seconds under load
# before the peer reaches its steady rate (measured here: 1.5-second slices of client
# credentials went from 290 to 1,370 tokens/s over the first ten; after a 5-second
# warm-up, refresh grants still cost it 2.4 ms of CPU where they settle near 1.2).
WARM_UP_SECONDS = 8.0


@dataclass
class Server:
    """One side of the comparison: where to send each mode's request, and the
    per-worker state the requests carry (one slot per worker)."""

    name: str
    pid: int
    token_url: str
    introspection_url: str
    # The Authorization header (Basic) of the client-credentials client, which is also
    # the one that introspects.
    confidential: dict[str, str]
    public_client_id: str  # the refresh-token client (PKCE, no secret)
    refresh_chains: list[str]  # each worker's current refresh token
    # The client-credentials request whose token the introspection mode asks about.
    introspectable_form: dict[str, str]
    introspected: list[str] = field(default_factory=list)  # one token per worker
    on_postgres: bool = False  # its database's CPU is read around each round too


@dataclass(frozen=True)
class Round:
    operations: int
    seconds: float
    cpu_ms: float | None  # server CPU per operation
    database_cpu_ms: float | None = None  # PostgreSQL's CPU per operation (Keyhook on it)
    machine_cpu_ms: float | None = None  # every core's busy time per operation

    @property
    def rate(self) -> float:
        return self.operations / self.seconds


Step = Callable[[aiohttp.ClientSession, int], Awaitable[None]]


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


def basic_auth(client_id: str, secret: str) -> dict[str, str]:
    """HTTP Basic as RFC 6749 §2.3.1 has it (both parts form-urlencoded first)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def _jose_header(token: str) -> dict[str, Any]:
    head = token.split(".")[0]
    decoded: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    return decoded


async def _json_answer(
    response: aiohttp.ClientResponse, server: Server, expected: int = 200
) -> dict[str, Any]:
    body = await response.read()
    if response.status != expected:
        raise BenchError(
            f"{server.name}: {response.method} {response.url.path}: {response.status}"
            f" {body[:300]!r} (expected {expected})"
        )
    answer: dict[str, Any] = orjson.loads(body)
    return answer


# ---------------------------------------------------------------- one request per mode


async def _client_credentials(
    server: Server, session: aiohttp.ClientSession, form: dict[str, str] | None = None
) -> dict[str, Any]:
    async with session.post(
        server.token_url,
        data=form or {"grant_type": "client_credentials"},
        headers=server.confidential,
    ) as response:
        answer = await _json_answer(response, server)
    if "access_token" not in answer:
        raise BenchError(f"{server.name}: no access token in {sorted(answer)}")
    return answer


async def _refresh(server: Server, session: aiohttp.ClientSession, old: str) -> dict[str, Any]:
    """One refresh grant; the answer must carry an ID token and a new refresh token."""
    form = {
        "client_id": server.public_client_id,
        "grant_type": "refresh_token",
        "refresh_token": old,
    }
    async with session.post(server.token_url, data=form) as response:
        answer = await _json_answer(response, server)
    new = answer.get("refresh_token")
    if not isinstance(new, str) or new == old or "id_token" not in answer:
        raise BenchError(f"{server.name}: refresh answered {sorted(answer)}, not a rotation")
    return answer


async def _introspect(server: Server, session: aiohttp.ClientSession, token: str) -> None:
    async with session.post(
        server.introspection_url, data={"token": token}, headers=server.confidential
    ) as response:
        answer = await _json_answer(response, server)
    if answer.get("active") is not True:
        raise BenchError(f"{server.name}: introspection answered {answer}")


async def _issue_introspected(server: Server, session: aiohttp.ClientSession, slots: int) -> None:
    """Fresh tokens for the introspection mode, one per worker, issued just before it
    (the peer's in-memory store is an LRU: the other modes' entries must not have
    pushed them out)."""
    server.introspected = [
        (await _client_credentials(server, session, server.introspectable_form))["access_token"]
        for _ in range(slots)
    ]


def _step(server: Server, mode: str) -> Step:
    if mode == "client_credentials":

        async def issue(session: aiohttp.ClientSession, slot: int) -> None:
            await _client_credentials(server, session)

        return issue
    if mode == "refresh_token":

        async def rotate(session: aiohttp.ClientSession, slot: int) -> None:
            answer = await _refresh(server, session, server.refresh_chains[slot])
            server.refresh_chains[slot] = answer["refresh_token"]

        return rotate
    if mode == "introspection":

        async def introspect(session: aiohttp.ClientSession, slot: int) -> None:
            await _introspect(server, session, server.introspected[slot])

        return introspect
    raise ValueError(f"unknown mode {mode!r}")


async def _probe(server: Server, session: aiohttp.ClientSession, spare_chain: str) -> None:
    """Before the rounds: each mode gives what is compared. ES256 JWTs from both
    grants, and rotation: a refresh token that was replaced is refused."""
    issued = await _client_credentials(server, session)
    if _jose_header(issued["access_token"])["alg"] != "ES256":
        raise BenchError(f"{server.name}: client credentials token is not ES256")
    rotated = await _refresh(server, session, spare_chain)
    for name in ("access_token", "id_token"):
        if _jose_header(rotated[name])["alg"] != "ES256":
            raise BenchError(f"{server.name}: the refresh grant's {name} is not ES256")
    form = {
        "client_id": server.public_client_id,
        "grant_type": "refresh_token",
        "refresh_token": spare_chain,
    }
    async with session.post(server.token_url, data=form) as response:
        refused = await _json_answer(response, server, expected=400)
    if refused.get("error") != "invalid_grant":
        raise BenchError(f"{server.name}: a replaced refresh token answered {refused}")
    await _issue_introspected(server, session, 1)
    await _introspect(server, session, server.introspected[0])


# ---------------------------------------------------------------- the load


async def _load(
    server: Server, session: aiohttp.ClientSession, step: Step, concurrency: int, seconds: float
) -> Round:
    counts = [0] * concurrency
    deadline = time.perf_counter() + seconds

    async def worker(slot: int) -> None:
        while time.perf_counter() < deadline:
            await step(session, slot)
            counts[slot] += 1

    cpu_before = cpu_seconds(server.pid)
    database_before = database_cpu_seconds() if server.on_postgres else None
    machine_before = machine_cpu_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(worker(slot) for slot in range(concurrency)))
    elapsed = time.perf_counter() - started
    cpu_after = cpu_seconds(server.pid)
    database_after = database_cpu_seconds() if server.on_postgres else None
    machine_after = machine_cpu_seconds()
    operations = sum(counts)
    cpu = database = machine = None
    if cpu_before is not None and cpu_after is not None and operations:
        cpu = (cpu_after - cpu_before) * 1000 / operations
    if database_before is not None and database_after is not None and operations:
        database = (database_after - database_before) * 1000 / operations
    if machine_before is not None and machine_after is not None and operations:
        machine = (machine_after - machine_before) * 1000 / operations
    return Round(operations, elapsed, cpu, database, machine)


# ---------------------------------------------------------------- the two servers


async def _keyhook(
    base: str,
    data_dir: Path,
    pid: int,
    session: aiohttp.ClientSession,
    slots: int,
    on_postgres: bool,
) -> tuple[Server, str]:
    """Keyhook's machine user (client credentials, introspection) and public client
    with ``slots`` signed-in refresh chains; and one spare chain for the probe."""
    setup = Setup(
        base,
        {
            "Authorization": f"Bearer {(data_dir / 'admin.pat').read_text().strip()}",
            "Content-Type": "application/json",
        },
    )
    user = await setup.api(
        session, "POST", "/management/v1/users/machine", {"userName": "bench-robot", "name": "B"}
    )
    secret = await setup.api(session, "POST", f"/v2/users/{user['userId']}/secret", {})
    await setup.prepare_client(session)
    chains = [await setup.sign_in() for _ in range(slots + 1)]
    server = Server(
        "Keyhook",
        pid,
        base + "/oauth/v2/token",
        base + "/oauth/v2/introspect",
        basic_auth("bench-robot", secret["clientSecret"]),
        setup.client_id,
        chains[:slots],
        {"grant_type": "client_credentials"},
        on_postgres=on_postgres,
    )
    return server, chains[slots]


async def _peer(
    base: str, pid: int, session: aiohttp.ClientSession, slots: int
) -> tuple[Server, str]:
    """The peer's clients (its introspection mode asks about opaque tokens) and
    ``slots`` refresh chains; and one spare chain for the probe."""
    chains = await _peer_chains(base, session, slots + 1)
    server = Server(
        "oidc-provider",
        pid,
        base + "/token",
        base + "/token/introspection",
        basic_auth(PEER_CLIENT, PEER_SECRET),
        PEER_PUBLIC_CLIENT,
        chains[:slots],
        {"grant_type": "client_credentials", "resource": PEER_OPAQUE_RESOURCE},
    )
    return server, chains[slots]


async def _peer_chains(base: str, session: aiohttp.ClientSession, count: int) -> list[str]:
    """New refresh chains from the peer's bench-only route (a grant each)."""
    chains: list[str] = []
    for _ in range(count):
        async with session.post(base + "/bench/refresh-token") as response:
            chains.append(str((await response.json())["refresh_token"]))
    return chains


def _start_peer() -> tuple[Process, str]:
    port = free_port()
    node = shutil.which("node") or "node"
    script = str(PEERS / "oidc_provider.mjs")
    args = [node, script, str(port), PEER_CLIENT, PEER_SECRET, PEER_PUBLIC_CLIENT]
    return Process(args), f"http://127.0.0.1:{port}"


# ---------------------------------------------------------------- the report


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _met(ok: bool) -> str:
    return "met" if ok else "not met"


@dataclass
class Comparison:
    """The paired rounds of one mode at one concurrency."""

    mode: str
    concurrency: int
    ours: list[Round]
    theirs: list[Round]

    @property
    def ratios(self) -> list[float]:
        return [o.rate / t.rate for o, t in zip(self.ours, self.theirs, strict=True)]

    @staticmethod
    def _cpu(rounds: Sequence[Round]) -> float | None:
        values = [r.cpu_ms for r in rounds if r.cpu_ms is not None]
        return statistics.median(values) if values else None

    def _database_cpu(self) -> float | None:
        return self._median(r.database_cpu_ms for r in self.ours)

    @staticmethod
    def _median(values: Iterable[float | None]) -> float | None:
        present = [value for value in values if value is not None]
        return statistics.median(present) if present else None

    def rows(self) -> list[list[object]]:
        rows: list[list[object]] = []
        for number, (ours, theirs, ratio) in enumerate(
            zip(self.ours, self.theirs, self.ratios, strict=True), start=1
        ):
            rows.append(
                [
                    self.mode,
                    self.concurrency,
                    number,
                    f"{ours.rate:,.0f}",
                    _ms(ours.cpu_ms),
                    _ms(ours.database_cpu_ms),
                    _ms(ours.machine_cpu_ms),
                    f"{theirs.rate:,.0f}",
                    _ms(theirs.cpu_ms),
                    _ms(theirs.machine_cpu_ms),
                    f"{ratio:.3f}",
                ]
            )
        rows.append(
            [
                self.mode,
                self.concurrency,
                "median",
                f"{statistics.median(o.rate for o in self.ours):,.0f}",
                _ms(self._cpu(self.ours)),
                _ms(self._database_cpu()),
                _ms(self._median(r.machine_cpu_ms for r in self.ours)),
                f"{statistics.median(t.rate for t in self.theirs):,.0f}",
                _ms(self._cpu(self.theirs)),
                _ms(self._median(r.machine_cpu_ms for r in self.theirs)),
                f"{statistics.median(self.ratios):.3f}",
            ]
        )
        return rows

    def verdict(self) -> str:
        ratio = statistics.median(self.ratios)
        cpu = self._cpu(self.ours)
        return (
            f"{self.mode}, {self.concurrency} clients: Keyhook / peer {ratio:.3f}"
            f" (goal ≥ {GOAL_RATIO}: {_met(ratio >= GOAL_RATIO)}); Keyhook's server CPU"
            f" per operation {_ms(cpu)} ms (goal ≤ {GOAL_CPU_MS}:"
            f" {_met(cpu is not None and cpu <= GOAL_CPU_MS)})"
        )


@dataclass(frozen=True)
class Result:
    ratios: dict[tuple[str, int], float]  # (mode, clients) -> median Keyhook / peer
    text: str


def _report(comparisons: list[Comparison], seconds: float) -> Result:
    header = [
        "mode",
        "clients",
        "round",
        "Keyhook ops/s",
        "Keyhook CPU ms/op",
        "its PostgreSQL's CPU ms/op",
        "machine CPU ms/op",
        "peer ops/s",
        "peer CPU ms/op",
        "machine CPU ms/op (peer)",
        "Keyhook / peer",
    ]
    rows = [row for comparison in comparisons for row in comparison.rows()]
    intro = (
        f"Rounds of {seconds:g} s, Keyhook and the peer alternating; an operation is one"
        " token response (client_credentials, refresh_token) or one introspection answer"
        " (Keyhook: its own JWT; the peer: an opaque token, as it cannot introspect JWTs)."
        " Median rows: the median of each column, the ratio the median of the rounds'.\n\n"
    )
    verdicts = "\n".join(comparison.verdict() for comparison in comparisons)
    ratios = {(c.mode, c.concurrency): statistics.median(c.ratios) for c in comparisons}
    return Result(ratios, intro + table(header, rows) + "\n\n" + verdicts)


async def run(
    data_dir: Path,
    database_url: str | None,
    rounds: int,
    seconds: float,
    levels: tuple[int, ...],
    modes: Sequence[str] = MODES,
) -> Result:
    missing = peer_missing()
    on_postgres = database_url is not None and database_url.startswith("postgres")
    server, port = start_keyhook(data_dir, database_url)
    peer: Process | None = None
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_http(base + "/healthz")
        if missing is not None:
            return Result({}, f"the peer is SKIPPED: {missing}; nothing to compare Keyhook with")
        peer, peer_base = _start_peer()
        await wait_http(peer_base + "/.well-known/openid-configuration")
        slots = max(levels)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            keyhook, keyhook_spare = await _keyhook(
                base, data_dir, server.proc.pid, session, slots, on_postgres
            )
            other, other_spare = await _peer(peer_base, peer.proc.pid, session, slots)
            await _probe(keyhook, session, keyhook_spare)
            await _probe(other, session, other_spare)
            comparisons: list[Comparison] = []
            for mode in modes:
                if mode == "introspection":
                    for target in (keyhook, other):
                        await _issue_introspected(target, session, slots)
                steps = (_step(keyhook, mode), _step(other, mode))
                for target, step in zip((keyhook, other), steps, strict=True):
                    await _load(target, session, step, slots, WARM_UP_SECONDS)
                for concurrency in levels:
                    comparison = Comparison(mode, concurrency, [], [])
                    for _ in range(rounds):
                        comparison.ours.append(
                            await _load(keyhook, session, steps[0], concurrency, seconds)
                        )
                        if mode == "refresh_token":
                            other.refresh_chains = await _peer_chains(peer_base, session, slots)
                        comparison.theirs.append(
                            await _load(other, session, steps[1], concurrency, seconds)
                        )
                    comparisons.append(comparison)
        return _report(comparisons, seconds)
    except BaseException:
        for name, process in (("Keyhook", server), ("peer", peer)):
            if process is not None:
                log = Path(process.log.name).read_text(errors="replace")
                print(
                    f"{name} log ({process.log.name}), last lines:\n{log[-2000:]}", file=sys.stderr
                )
        raise
    finally:
        if peer is not None:
            peer.stop()
        server.stop()
