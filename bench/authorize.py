"""The authorize step's cost per API call (issue 11): GetUserByID through the whole
in-process ASGI app and interceptor chain, with the step as it is and with the step
replaced by a pass-through, alternating call by call in the same run.

The median of the paired differences is what authorizing adds to a call: for a caller
whose roles the node remembers (every call but one per ``GRANTS_TTL`` per user). The
step on its own is timed too, remembered and not (a database read of the roles).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import percentile, table
from keyhook.api.app import build_app
from keyhook.api.pipeline import Pipeline
from keyhook.api.server import build_registry
from keyhook.bootstrap import assemble
from keyhook.config import from_environment
from keyhook.domain.caller import Caller
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
            app = build_app(build_registry(core), pipeline, core.db)
            token = core.admin_token_path.read_text().strip()
            async with core.db.read() as conn:
                instance = (await conn.execute("SELECT * FROM instances")).one()
            path = f"/v2/users/{instance.admin_user_id}"
            real = pipeline.authorizer.authorize
            with_ms: list[float] = []
            without_ms: list[float] = []
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://bench",
                headers={"Authorization": f"Bearer {token}"},
            ) as client:
                for i in range(calls + 200):
                    for authorize, samples in ((real, with_ms), (_pass_through, without_ms)):
                        pipeline.authorizer.authorize = authorize  # type: ignore[method-assign]
                        started = time.perf_counter()
                        reply = await client.get(path)
                        took = (time.perf_counter() - started) * 1000
                        assert reply.status_code == 200, reply.text
                        if i >= 200:  # the first calls warm both up
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
    ]
    verdict = "met" if own <= GOAL_US else "not met"
    return (
        table(["case", "calls", "p50 ms", "p99 ms"], rows)
        + f"\n\nthe authorize step's cost per call (median of paired differences): {own:.1f} µs"
        + f" (goal ≤ {GOAL_US:.0f} µs: {verdict})"
        + f"\nthe step alone, roles remembered: median {hot:.1f} µs;"
        + f" roles read from the database: median {cold:.1f} µs"
    )


async def _time_step(authorizer: Authorizer, caller: Caller, calls: int) -> float:
    samples: list[float] = []
    for _ in range(calls):
        started = time.perf_counter()
        await authorizer.authorize(caller, "user.read", "user.read")
        samples.append((time.perf_counter() - started) * 1_000_000)
    return statistics.median(samples)
