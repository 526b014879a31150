"""The authorize step's cost per API call (issue 11): GetUserByID through the whole
in-process ASGI app and interceptor chain, with the step as it is and with the step
replaced by a pass-through, call by call in the same rounds, in a rotating order.

The median of the paired differences is what authorizing adds to a call: for a caller
whose roles the node remembers (every call but one per ``GRANTS_TTL`` per user). The
step on its own is timed too, remembered and not (a database read of the roles). A
third case calls with an OIDC access token (a machine user's client credentials JWT)
instead of the PAT, in the same rounds: what a JWT costs against a PAT on the hot path.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import percentile, table
from keyhook.api import oidc_endpoints
from keyhook.api.app import build_app
from keyhook.api.pipeline import Pipeline
from keyhook.api.server import build_registry
from keyhook.bootstrap import assemble
from keyhook.config import from_environment
from keyhook.domain.caller import Caller
from keyhook.domain.oidc import API_AUDIENCE_SCOPE
from keyhook.query.authorize import Authorizer
from keyhook.services.api_tokens import ApiTokens

GOAL_US = 50.0


async def _pass_through(caller: Caller, permission: str, org_permission: str | None) -> Caller:
    return caller


async def run(calls: int, database_url: str | None = None) -> str:
    with tempfile.TemporaryDirectory(prefix="keyhook-bench-") as tmp:
        env = {"KEYHOOK_DATABASE_URL": database_url} if database_url else {}
        core = await assemble(from_environment(env, data_dir=Path(tmp)))
        await core.start()
        try:
            pipeline = Pipeline(core.db, core.engine, ApiTokens(core.db, core.token_access))
            app = build_app(
                build_registry(core),
                pipeline,
                core.db,
                extra_routes=oidc_endpoints.routes(core.oidc, core.token_access),
            )
            token = core.admin_token_path.read_text().strip()
            async with core.db.read() as conn:
                instance = (await conn.execute("SELECT * FROM instances")).one()
            path = f"/v2/users/{instance.admin_user_id}"
            real = pipeline.authorizer.authorize
            with_ms: list[float] = []
            without_ms: list[float] = []
            jwt_ms: list[float] = []
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://bench",
                headers={"Authorization": f"Bearer {token}"},  # the set-up's calls
            ) as client:
                jwt = await _client_credentials_jwt(client)
                pat = {"Authorization": f"Bearer {token}"}
                bearer_jwt = {"Authorization": f"Bearer {jwt}"}
                cases = [
                    (real, pat, with_ms),
                    (_pass_through, pat, without_ms),
                    (real, bearer_jwt, jwt_ms),
                ]
                for i in range(calls + 200):
                    # Each round in another order, so no case always goes first.
                    for authorize, headers, samples in cases[i % 3 :] + cases[: i % 3]:
                        pipeline.authorizer.authorize = authorize  # type: ignore[method-assign]
                        started = time.perf_counter()
                        reply = await client.get(path, headers=headers)
                        took = (time.perf_counter() - started) * 1000
                        assert reply.status_code == 200, reply.text
                        if i >= 200:  # the first calls warm every case up
                            samples.append(took)
            pipeline.authorizer.authorize = real  # type: ignore[method-assign]
            caller = Caller(
                instance.id,
                instance.admin_user_id,
                instance.default_org_id,
                instance.default_org_id,
            )
            hot = await _time_step(pipeline.authorizer, caller, calls)
            cold = await _time_step(Authorizer(core.db, ttl=0.0), caller, min(calls, 500))
        finally:
            await core.stop()
    added = [(w - o) * 1000 for w, o in zip(with_ms, without_ms, strict=True)]
    own = statistics.median(added)
    rows = [
        [
            "GetUserByID, authorize step as built",
            calls,
            f"{percentile(with_ms, 0.5):.3f}",
            f"{percentile(with_ms, 0.99):.3f}",
        ],
        [
            "GetUserByID, authorize step passed through",
            calls,
            f"{percentile(without_ms, 0.5):.3f}",
            f"{percentile(without_ms, 0.99):.3f}",
        ],
        [
            "GetUserByID with a client credentials JWT, step as built",
            calls,
            f"{percentile(jwt_ms, 0.5):.3f}",
            f"{percentile(jwt_ms, 0.99):.3f}",
        ],
    ]
    verdict = "met" if own <= GOAL_US else "not met"
    jwt_extra = statistics.median((j - w) * 1000 for j, w in zip(jwt_ms, with_ms, strict=True))
    return (
        table(["case", "calls", "p50 ms", "p99 ms"], rows)
        + f"\n\nthe authorize step's cost per call (median of paired differences): {own:.1f} µs"
        + f" (goal ≤ {GOAL_US:.0f} µs: {verdict})"
        + f"\nthe step alone, roles remembered: median {hot:.1f} µs;"
        + f" roles read from the database: median {cold:.1f} µs"
        + f"\na JWT against a PAT (median of paired differences): {jwt_extra:+.1f} µs"
    )


async def _client_credentials_jwt(client: httpx.AsyncClient) -> str:
    """An IAM_OWNER machine user's access token for the API (JWT), through the app."""
    made = await client.post(
        "/management/v1/users/machine",
        json={"userName": "bench-jwt", "name": "Bench", "accessTokenType": "ACCESS_TOKEN_TYPE_JWT"},
    )
    user_id = made.json()["userId"]
    secret = (await client.post(f"/v2/users/{user_id}/secret")).json()["clientSecret"]
    body = {"userId": user_id, "resource": {"instance": True}, "roles": ["IAM_OWNER"]}
    assert (await client.post("/v2/administrators", json=body)).status_code == 200
    issued = await client.post(
        "/oauth/v2/token",
        data={"grant_type": "client_credentials", "scope": API_AUDIENCE_SCOPE},
        auth=("bench-jwt", secret),
    )
    assert issued.status_code == 200, issued.text
    return str(issued.json()["access_token"])


async def _time_step(authorizer: Authorizer, caller: Caller, calls: int) -> float:
    samples: list[float] = []
    for _ in range(calls):
        started = time.perf_counter()
        await authorizer.authorize(caller, "user.read", "user.read")
        samples.append((time.perf_counter() - started) * 1_000_000)
    return statistics.median(samples)
