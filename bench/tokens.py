"""Token issuance: refresh-token grants per second with no function execution (A)
vs one ``complement_token`` restWebhook target (B), measured in the same run.

A public OIDC client (PKCE, JWT access tokens, refresh tokens) and one user.
Each of ``workers`` concurrent workers signs in once through the hosted login
page (scope ``openid profile email offline_access``) and then loops
``grant_type=refresh_token`` for ``seconds``: every response is a new JWT
access token, a new ID token and a new refresh token (rotation: the old one
stops working), written as events. Rounds alternate A, B, A, B, …; the
execution is switched between rounds, so slow drift (the database growing,
the machine's other work) hits both modes alike, and the median of the paired
rounds' ratios B/A is the figure.

In mode B the server makes one signed HTTP call per token to a receiver (its
own process, started from this file) that answers with the claims of the
seed's "Enrich Token Claims" example. The run checks, in every round, that the
access token carries ``department`` in B and not in A, and at the end that
the receiver got exactly one call per token issued in B.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import orjson

from bench.common import ROOT, Process, free_port, percentile, start_keyhook, table, wait_http

REDIRECT_URI = "http://127.0.0.1:9/callback"  # loopback, never opened
SCOPE = "openid profile email offline_access"
CLAIMS = {"department": "R&D", "employee_id": "E-1", "manager_email": "m@example.com"}
CONDITION = {"function": {"name": "complement_token"}}


# ---------------------------------------------------------------- the receiver


def serve_claims(port: int) -> None:
    """The target's receiver: every POST gets the claims at once; ``GET /stats``
    returns how many calls arrived."""
    from aiohttp import web

    body = orjson.dumps({"status": "success", "claims": CLAIMS})
    calls = {"count": 0}

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        if request.method == "GET" and request.path == "/stats":
            return web.Response(body=orjson.dumps(calls), content_type="application/json")
        calls["count"] += 1
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def start_claims_receiver() -> tuple[Process, int]:
    port = free_port()
    args = [sys.executable, "-m", "bench.tokens", str(port)]
    return Process(args, {"PYTHONPATH": str(ROOT)}), port


# ---------------------------------------------------------------- the client side


def jwt_payload(token: str) -> dict[str, Any]:
    """The payload of a JWT, not verified (only to see which claims it carries)."""
    part = token.split(".")[1]
    decoded: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


class BenchError(RuntimeError):
    pass


async def _check(response: aiohttp.ClientResponse, *expected: int) -> bytes:
    body = await response.read()
    if response.status not in expected:
        raise BenchError(
            f"{response.method} {response.url}: {response.status} {body[:500]!r}"
            f" (expected {expected})"
        )
    return body


@dataclass
class Setup:
    base: str
    auth: dict[str, str]
    client_id: str = ""
    login: str = ""
    password: str = "Correct horse 42!"
    target_id: str = ""

    async def api(
        self, session: aiohttp.ClientSession, method: str, path: str, body: object
    ) -> Any:
        async with session.request(
            method, self.base + path, headers=self.auth, data=orjson.dumps(body)
        ) as response:
            return orjson.loads(await _check(response, 200))

    async def prepare(self, session: aiohttp.ClientSession, hook_url: str) -> None:
        await self.prepare_client(session)
        await self.add_target(session, hook_url)

    async def prepare_client(self, session: aiohttp.ClientSession) -> None:
        """A project with the public PKCE client (JWT access tokens, refresh tokens) and
        a user with a password to sign in with."""
        project = await self.api(
            session, "POST", "/v2beta/projects", {"name": f"bench-{secrets.token_hex(4)}"}
        )
        app = await self.api(
            session,
            "POST",
            "/v2beta/applications",
            {
                "projectId": project["id"],
                "name": "bench",
                "oidcRequest": {
                    "redirectUris": [REDIRECT_URI],
                    "grantTypes": [
                        "OIDC_GRANT_TYPE_AUTHORIZATION_CODE",
                        "OIDC_GRANT_TYPE_REFRESH_TOKEN",
                    ],
                    "appType": "OIDC_APP_TYPE_USER_AGENT",
                    "authMethodType": "OIDC_AUTH_METHOD_TYPE_NONE",
                    "accessTokenType": "OIDC_TOKEN_TYPE_JWT",
                    "devMode": True,
                },
            },
        )
        self.client_id = app["oidcResponse"]["clientId"]
        self.login = f"bench-{secrets.token_hex(4)}@example.com"
        await self.api(
            session,
            "POST",
            "/v2/users/human",
            {
                "user": {
                    "profile": {"givenName": "Bench", "familyName": "Mark"},
                    "email": {"email": self.login},
                    "password": {"password": self.password},
                }
            },
        )

    async def add_target(self, session: aiohttp.ClientSession, hook_url: str) -> None:
        """The complement_token target (its execution is set per round)."""
        target = await self.api(
            session,
            "POST",
            "/v2/actions/targets",
            {
                "name": "bench-claims",
                "endpoint": hook_url,
                "timeout": "5s",
                "restWebhook": {"interruptOnError": True},
            },
        )
        self.target_id = target["id"]

    async def set_execution(self, session: aiohttp.ClientSession, on: bool) -> None:
        body = {"condition": CONDITION, "targets": [self.target_id] if on else []}
        async with session.put(
            self.base + "/v2/actions/executions", headers=self.auth, data=orjson.dumps(body)
        ) as response:
            await _check(response, 200, 404)  # 404: clearing one that is not set

    async def sign_in(self) -> str:
        """The hosted login page as a browser drives it, then the code exchange:
        a refresh token."""
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        query = urlencode(
            {
                "client_id": self.client_id,
                "redirect_uri": REDIRECT_URI,
                "response_type": "code",
                "scope": SCOPE,
                "state": secrets.token_urlsafe(8),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        # The login page's cookie is set for 127.0.0.1: aiohttp keeps cookies for IP
        # hosts only with an unsafe jar.
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(base_url=self.base, cookie_jar=jar) as http:
            async with http.get(f"/oauth/v2/authorize?{query}", allow_redirects=False) as response:
                await _check(response, 302)
                location = response.headers["Location"]
            async with http.get(location, allow_redirects=False) as response:
                html = (await _check(response, 200)).decode()
            form = {
                "authRequest": _hidden(html, "authRequest"),
                "csrf": _hidden(html, "csrf"),
                "loginName": self.login,
                "password": self.password,
            }
            async with http.post("/ui/login", data=form, allow_redirects=False) as response:
                await _check(response, 302, 303)
                callback = parse_qs(urlsplit(response.headers["Location"]).query)
            code = callback["code"][0]
            async with http.post(
                "/oauth/v2/token",
                data={
                    "client_id": self.client_id,
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT_URI,
                    "code_verifier": verifier,
                },
            ) as response:
                tokens = orjson.loads(await _check(response, 200))
        refresh: str = tokens["refresh_token"]
        return refresh


def _hidden(html: str, name: str) -> str:
    marker = f'name="{name}" value="'
    start = html.find(marker)
    if start < 0:
        raise BenchError(f"no hidden field {name} in the login page")
    start += len(marker)
    return html[start : html.index('"', start)]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float | None:
    """CPU time every core of this machine spent busy (not idle, not waiting for I/O),
    from /proc/stat; None without it."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    ticks = [int(value) for value in first[1:9]]  # user nice system idle iowait irq softirq steal
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds() -> float | None:
    """User + system CPU time of every PostgreSQL process on this machine (its backends,
    WAL writer, checkpointer…): what the database spends for the server. None without
    /proc."""
    total = 0.0
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return None
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@dataclass
class Round:
    mode: str
    tokens: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    server_cpu_ms: float | None = None  # per token
    receiver_cpu_ms: float | None = None  # per token

    @property
    def per_second(self) -> float:
        return self.tokens / self.seconds


async def _round(
    session: aiohttp.ClientSession,
    base: str,
    client_id: str,
    refresh_tokens: list[str],
    mode: str,
    seconds: float,
) -> Round:
    """Every worker loops refresh grants until the deadline; the clock stops when the
    last response is in. The first access token is checked for the target's claims."""
    latencies: list[float] = []
    first: list[str] = []

    async def worker(slot: int) -> None:
        while time.perf_counter() < deadline:
            form = {
                "client_id": client_id,
                "grant_type": "refresh_token",
                "refresh_token": refresh_tokens[slot],
            }
            sent = time.perf_counter()
            async with session.post(base + "/oauth/v2/token", data=form) as response:
                body = await _check(response, 200)
            latencies.append((time.perf_counter() - sent) * 1000)
            tokens = orjson.loads(body)
            refresh_tokens[slot] = tokens["refresh_token"]
            if not first:
                first.append(tokens["access_token"])

    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(worker(i) for i in range(len(refresh_tokens))))
    elapsed = time.perf_counter() - started
    claims = jwt_payload(first[0])
    if (mode == "B") != (claims.get("department") == CLAIMS["department"]):
        raise BenchError(f"mode {mode}: access token claims {sorted(claims)}")
    return Round(mode, len(latencies), elapsed, latencies)


async def run(
    data_dir: Path,
    database_url: str | None,
    rounds: int = 5,
    seconds: float = 3.0,
    workers: int = 8,
) -> str:
    receiver, receiver_port = start_claims_receiver()
    server, port = start_keyhook(data_dir, database_url)
    base = f"http://127.0.0.1:{port}"
    receiver_url = f"http://127.0.0.1:{receiver_port}"
    results: list[Round] = []
    try:
        await wait_http(base + "/healthz")
        await wait_http(receiver_url + "/stats")
        token = (data_dir / "admin.pat").read_text().strip()
        setup = Setup(
            base, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        )
        connector = aiohttp.TCPConnector(limit=workers * 2)
        async with aiohttp.ClientSession(connector=connector) as session:
            await setup.prepare(session, receiver_url + "/claims")
            refresh_tokens = [await setup.sign_in() for _ in range(workers)]
            # Warm-up: connections, caches, the signing key, the target's client.
            for mode in ("A", "B"):
                await setup.set_execution(session, mode == "B")
                await _round(session, base, setup.client_id, refresh_tokens, mode, 2.0)
            async with session.get(receiver_url + "/stats") as response:
                before = orjson.loads(await _check(response, 200))["count"]
            pids = (server.proc.pid, receiver.proc.pid)
            for _ in range(rounds):
                for mode in ("A", "B"):
                    await setup.set_execution(session, mode == "B")
                    cpu_before = [cpu_seconds(pid) for pid in pids]
                    result = await _round(
                        session, base, setup.client_id, refresh_tokens, mode, seconds
                    )
                    cpu_after = [cpu_seconds(pid) for pid in pids]
                    result.server_cpu_ms, result.receiver_cpu_ms = (
                        None if x is None or y is None else (y - x) * 1000 / result.tokens
                        for x, y in zip(cpu_before, cpu_after, strict=True)
                    )
                    results.append(result)
            async with session.get(receiver_url + "/stats") as response:
                calls = orjson.loads(await _check(response, 200))["count"] - before
    except BaseException:
        server.stop()
        receiver.stop()
        log = Path(server.log.name).read_text(errors="replace")
        print(f"server log ({server.log.name}), last lines:\n{log[-3000:]}", file=sys.stderr)
        raise
    server.stop()
    receiver.stop()
    issued_b = sum(r.tokens for r in results if r.mode == "B")
    if calls != issued_b:
        raise BenchError(f"the receiver got {calls} calls for {issued_b} tokens issued in mode B")
    return _report(results, workers, seconds)


def _report(results: list[Round], workers: int, seconds: float) -> str:
    a = [r for r in results if r.mode == "A"]
    b = [r for r in results if r.mode == "B"]
    rows: list[list[object]] = []
    ratios: list[float] = []
    for i, (ra, rb) in enumerate(zip(a, b, strict=True), start=1):
        ratio = rb.per_second / ra.per_second
        ratios.append(ratio)
        rows.append(
            [
                f"round {i}",
                f"{ra.per_second:,.0f}",
                f"{percentile(ra.latencies_ms, 0.5):.2f}",
                f"{percentile(ra.latencies_ms, 0.99):.2f}",
                f"{rb.per_second:,.0f}",
                f"{percentile(rb.latencies_ms, 0.5):.2f}",
                f"{percentile(rb.latencies_ms, 0.99):.2f}",
                f"{ratio:.0%}",
            ]
        )

    def med(values: list[Round], key: Callable[[Round], float]) -> float:
        return statistics.median(key(r) for r in values)

    rows.append(
        [
            "median",
            f"{med(a, lambda r: r.per_second):,.0f}",
            f"{med(a, lambda r: percentile(r.latencies_ms, 0.5)):.2f}",
            f"{med(a, lambda r: percentile(r.latencies_ms, 0.99)):.2f}",
            f"{med(b, lambda r: r.per_second):,.0f}",
            f"{med(b, lambda r: percentile(r.latencies_ms, 0.5)):.2f}",
            f"{med(b, lambda r: percentile(r.latencies_ms, 0.99)):.2f}",
            f"{statistics.median(ratios):.0%}",
        ]
    )
    header = [
        f"{workers} workers, {seconds:g} s each",
        "A tokens/s",
        "A p50 ms",
        "A p99 ms",
        "B tokens/s",
        "B p50 ms",
        "B p99 ms",
        "B / A",
    ]
    total_a = sum(r.tokens for r in a)
    total_b = sum(r.tokens for r in b)
    text = (
        "A: no function execution; B: one complement_token restWebhook target"
        " (one signed call per token to a local receiver)\n\n"
    )
    text += table(header, rows)
    cpu_rows: list[list[object]] = []
    for label, values in (("A, no execution", a), ("B, one complement_token target", b)):
        server_cpu = [r.server_cpu_ms for r in values if r.server_cpu_ms is not None]
        receiver_cpu = [r.receiver_cpu_ms for r in values if r.receiver_cpu_ms is not None]
        cpu_rows.append(
            [
                label,
                f"{statistics.median(server_cpu):.2f}" if server_cpu else "n/a",
                f"{statistics.median(receiver_cpu):.2f}" if receiver_cpu else "n/a",
            ]
        )
    text += "\n\n" + table(
        ["CPU per token (median of rounds)", "server ms", "receiver ms"], cpu_rows
    )
    text += (
        f"\n\ntoken responses: A {total_a:,}, B {total_b:,} (the receiver got one call per"
        f" B token: checked); B / A, median of {len(ratios)} paired rounds:"
        f" {statistics.median(ratios):.0%} (rounds range {min(ratios):.0%} to"
        f" {max(ratios):.0%})"
    )
    return text


if __name__ == "__main__":
    serve_claims(int(sys.argv[1]))
