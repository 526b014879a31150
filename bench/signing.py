"""What RS256 costs per token beside ES256: the signature alone (in-process) and whole
client-credentials grants (a server process), in interleaved rounds.

Part 1 signs a typical access token's claims with Keyhook's signer
(``keyhook.services.oidc_signer``: cryptography and orjson directly) for each web
key type, ``calls`` tokens per type per round, the types' order rotating each round;
the figure is the median of the rounds, with ES256 as the baseline. It also times
the verification Keyhook does (joserfc, with the published key).

Part 2 runs a server, makes an ES256 and an RSA 2048 (RS256) web key, and has
``workers`` concurrent clients loop ``grant_type=client_credentials`` (JWT access
tokens) for ``seconds``; rounds alternate the active key (ActivateWebKey between
rounds, then a pause for the signer's one-second key cache) and check every round's
first token's ``alg``. The median of the paired rounds' ratios RS256 / ES256 is the
figure.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

from bench.common import percentile, start_keyhook, table, wait_http
from keyhook.services.oidc_signer import Key, TokenSigner

WEB_KEYS = "/zitadel.webkey.v2.WebKeyService/"
TYPES: list[tuple[str, Any]] = [
    ("ES256", lambda: ECKey.generate_key("P-256", private=True)),
    ("RS256", lambda: RSAKey.generate_key(2048, private=True)),
    ("RS256 (RSA 4096)", lambda: RSAKey.generate_key(4096, private=True)),
    ("ES384", lambda: ECKey.generate_key("P-384", private=True)),
    ("EdDSA", lambda: OKPKey.generate_key("Ed25519", private=True)),
]


def _claims() -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "https://id.example.com",
        "sub": "312909075212468632",
        "aud": ["robot-1", "312909075212468633"],
        "client_id": "robot-1",
        "exp": now + 43200,
        "iat": now,
        "nbf": now,
        "jti": "312909075212468634",
        "scope": "openid urn:zitadel:iam:org:project:id:312909075212468633:aud",
    }


def signatures(rounds: int, calls: int) -> str:
    # joserfc prefers RFC 9864's "Ed25519" to ZITADEL's "EdDSA" and says so on each decode.
    warnings.simplefilter("ignore", SecurityWarning)
    signer = TokenSigner(None, None)  # type: ignore[arg-type]  # signs with keys given here
    keys: list[tuple[str, Key, KeySet]] = []
    for label, make in TYPES:
        jwk = make()
        alg = label.split()[0]
        kid = jwk.thumbprint()
        public = {**jwk.as_dict(private=False), "kid": kid, "alg": alg, "use": "sig"}
        keys.append(
            (
                label,
                Key(kid, alg, True, jwk, jwk.private_key),
                KeySet.import_key_set({"keys": [public]}),
            )
        )
    claims = _claims()
    sign_us: dict[str, list[float]] = {label: [] for label, _, _ in keys}
    verify_us: dict[str, list[float]] = {label: [] for label, _, _ in keys}
    for i in range(rounds + 1):  # round 0 warms up
        order = keys[i % len(keys) :] + keys[: i % len(keys)]
        for label, key, published in order:
            started = time.perf_counter()
            for _ in range(calls):
                token = signer.signed(key, claims)
            signed = time.perf_counter()
            for _ in range(calls):
                jwt.decode(token, published, algorithms=[key.algorithm])
            verified = time.perf_counter()
            if i:
                sign_us[label].append((signed - started) * 1e6 / calls)
                verify_us[label].append((verified - signed) * 1e6 / calls)
    base = statistics.median(sign_us["ES256"])
    rows = []
    for label, _, _ in keys:
        sign = statistics.median(sign_us[label])
        rows.append(
            [
                label,
                f"{sign:,.0f}",
                f"{1e6 / sign:,.0f}",
                f"{sign / base:.1f} x",
                f"{statistics.median(verify_us[label]):,.0f}",
            ]
        )
    return f"{calls} tokens per type per round, {rounds} interleaved rounds (median):\n\n" + table(
        ["key", "sign µs/token", "tokens/s, one core", "sign vs ES256", "verify µs (joserfc)"],
        rows,
    )


async def _api(
    session: aiohttp.ClientSession, base: str, auth: dict[str, str], path: str, body: object
) -> Any:
    async with session.post(base + path, headers=auth, data=orjson.dumps(body)) as response:
        text = await response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {text[:300]!r}")
        return orjson.loads(text)


def _alg(token: str) -> str:
    head = token.split(".")[0]
    return str(orjson.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["alg"])


async def _grants(
    session: aiohttp.ClientSession, base: str, user: str, secret: str, seconds: float, workers: int
) -> tuple[int, float, list[float], str]:
    latencies: list[float] = []
    first: list[str] = []
    auth = aiohttp.BasicAuth(user, secret)

    async def worker() -> None:
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            async with session.post(
                base + "/oauth/v2/token", data={"grant_type": "client_credentials"}, auth=auth
            ) as response:
                body = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"token: {response.status} {body[:300]!r}")
            latencies.append((time.perf_counter() - sent) * 1000)
            if not first:
                first.append(orjson.loads(body)["access_token"])

    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(worker() for _ in range(workers)))
    return len(latencies), time.perf_counter() - started, latencies, _alg(first[0])


async def grants(
    data_dir: Path, database_url: str | None, rounds: int, seconds: float, workers: int = 8
) -> str:
    server, port = start_keyhook(data_dir, database_url)
    base = f"http://127.0.0.1:{port}"
    results: dict[str, list[tuple[float, float]]] = {"ES256": [], "RS256": []}
    try:
        await wait_http(base + "/healthz")
        token = (data_dir / "admin.pat").read_text().strip()
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=workers * 2)
        ) as session:
            user = f"bench-{secrets.token_hex(4)}"
            created = await _api(
                session,
                base,
                auth,
                "/management/v1/users/machine",
                {"userName": user, "name": "Bench", "accessTokenType": "ACCESS_TOKEN_TYPE_JWT"},
            )
            secret = (await _api(session, base, auth, f"/v2/users/{created['userId']}/secret", {}))[
                "clientSecret"
            ]
            kids = {
                "ES256": (
                    await _api(session, base, auth, WEB_KEYS + "CreateWebKey", {"ecdsa": {}})
                )["id"],
                "RS256": (await _api(session, base, auth, WEB_KEYS + "CreateWebKey", {"rsa": {}}))[
                    "id"
                ],
            }
            for i in range(rounds + 1):  # round 0 warms up
                for alg in ("ES256", "RS256") if i % 2 == 0 else ("RS256", "ES256"):
                    await _api(session, base, auth, WEB_KEYS + "ActivateWebKey", {"id": kids[alg]})
                    await asyncio.sleep(1.2)  # every signer re-reads its keys within a second
                    count, elapsed, latencies, seen = await _grants(
                        session, base, user, secret, seconds, workers
                    )
                    if seen != alg:
                        raise RuntimeError(f"round {i}: {alg} active, a token said {seen}")
                    if i:
                        results[alg].append((count / elapsed, percentile(latencies, 0.5)))
    finally:
        server.stop()
    rows = []
    ratios = []
    for i, (es, rs) in enumerate(zip(results["ES256"], results["RS256"], strict=True), start=1):
        ratios.append(rs[0] / es[0])
        rows.append(
            [
                f"round {i}",
                f"{es[0]:,.0f}",
                f"{es[1]:.2f}",
                f"{rs[0]:,.0f}",
                f"{rs[1]:.2f}",
                f"{rs[0] / es[0]:.0%}",
            ]
        )
    es_rate = statistics.median(r[0] for r in results["ES256"])
    rs_rate = statistics.median(r[0] for r in results["RS256"])
    rows.append(
        [
            "median",
            f"{es_rate:,.0f}",
            f"{statistics.median(r[1] for r in results['ES256']):.2f}",
            f"{rs_rate:,.0f}",
            f"{statistics.median(r[1] for r in results['RS256']):.2f}",
            f"{statistics.median(ratios):.0%}",
        ]
    )
    per_token = (1 / rs_rate - 1 / es_rate) * 1e6
    return (
        table(
            [
                f"{workers} workers, {seconds:g} s each",
                "ES256 grants/s",
                "ES256 p50 ms",
                "RS256 grants/s",
                "RS256 p50 ms",
                "RS256 / ES256",
            ],
            rows,
        )
        + f"\n\nRS256 costs {per_token:,.0f} µs more per client-credentials grant than ES256"
        " (median rates; the server's wall time per grant at this concurrency)"
    )


async def run(
    data_dir: Path, database_url: str | None, rounds: int, seconds: float, calls: int = 2000
) -> str:
    text = "### The signature alone (in-process)\n\n" + signatures(rounds, calls)
    text += "\n\n### Client-credentials grants, JWT access tokens (a server process)\n\n"
    text += await grants(data_dir, database_url, rounds, seconds)
    return text
