"""The actions engine's own cost: one request execution run in-process vs the
bare aiohttp call to the same receiver, alternating call by call.

No API server and no database sit on the path, so what differs between the two
is exactly what Keyhook adds to a target call: matching, the payload, the body
bytes, three signatures, the policy check, reading the answer and recording it.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson

from bench.common import percentile, start_receiver, table, wait_http
from keyhook.actions.engine import CallContext
from keyhook.bootstrap import assemble
from keyhook.command.executions import ExecutionCommands
from keyhook.command.targets import TargetCommands
from keyhook.config import from_environment
from keyhook.domain.caller import Caller

METHOD = "/zitadel.user.v2.UserService/AddHumanUser"
MESSAGE = {
    "user": {
        "profile": {"givenName": "Bench", "familyName": "Mark"},
        "email": {"email": "bench@example.com"},
    }
}


async def run(calls: int) -> str:
    receiver, port = start_receiver()
    url = f"http://127.0.0.1:{port}/hook"
    try:
        await wait_http(f"http://127.0.0.1:{port}/")
        with tempfile.TemporaryDirectory(prefix="keyhook-bench-") as tmp:
            core = await assemble(from_environment({}, data_dir=Path(tmp), dev=True))
            await core.start()
            async with core.db.read() as conn:
                instance = (await conn.execute("SELECT * FROM instances")).one()
            caller = Caller(
                instance.id,
                instance.admin_user_id,
                instance.default_org_id,
                instance.default_org_id,
            )
            target = await TargetCommands(core.writer).create(
                caller,
                {
                    "name": "bench",
                    "endpoint": url,
                    "timeout": "5s",
                    "restWebhook": {"interruptOnError": True},
                },
            )
            await ExecutionCommands(core.writer, [METHOD], ["zitadel.user.v2.UserService"]).set(
                caller, {"condition": {"request": {"method": METHOD}}, "targets": [target["id"]]}
            )
            core.engine.catalog.invalidate()
            ctx = CallContext(caller, METHOD, caller.user_id)
            body = orjson.dumps(MESSAGE)
            engine_ms: list[float] = []
            bare_ms: list[float] = []
            async with aiohttp.ClientSession() as session:
                for i in range(calls + 100):
                    started = time.perf_counter()
                    await core.engine.run_request(ctx, MESSAGE)
                    engine = (time.perf_counter() - started) * 1000
                    started = time.perf_counter()
                    async with session.post(url, data=body) as response:
                        await response.read()
                    bare = (time.perf_counter() - started) * 1000
                    if i >= 100:  # the first hundred warm both up
                        engine_ms.append(engine)
                        bare_ms.append(bare)
            await core.stop()
    finally:
        receiver.stop()
    rows = [
        [
            "request execution through the engine",
            calls,
            f"{percentile(engine_ms, 0.5):.3f}",
            f"{percentile(engine_ms, 0.99):.3f}",
        ],
        [
            "bare aiohttp call to the same receiver",
            calls,
            f"{percentile(bare_ms, 0.5):.3f}",
            f"{percentile(bare_ms, 0.99):.3f}",
        ],
    ]
    own = statistics.median(e - b for e, b in zip(engine_ms, bare_ms, strict=True))
    return table(["case", "calls", "p50 ms", "p99 ms"], rows) + (
        f"\n\nthe engine's own cost per call (median of paired differences): {own * 1000:.0f} µs"
    )
