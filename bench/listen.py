"""What ``keyhook listen`` adds to a request execution: the same API call with its
request execution on an HTTP target and on a relay target, the same receiver behind
both, in interleaved batches of one run.

The server, the receiver (``bench/receiver.py``) and the CLI are separate processes
on this machine. A batch runs with the execution on the HTTP target (Keyhook calls
the receiver), the next with it on the relay target (Keyhook sends the call over the
WebSocket, the CLI posts it to the receiver and sends the answer back), and so on;
setting the execution between batches goes through the same server. The extra
latency is p50(relay) - p50(HTTP).

On PostgreSQL a second node joins the same database and a third case runs: the
listener attached to the second node, the API calls made on the first, so each call
travels through the database (``keyhook.actions.relay_peers``).
"""

from __future__ import annotations

import asyncio
import base64
import os
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import orjson

from bench.common import Process, free_port, percentile, start_receiver, table, wait_http

METHOD = "/zitadel.user.v2.UserService/ListUsers"
CASES = {
    "http": "ListUsers, request execution on an HTTP target",
    "relay": "ListUsers, request execution on a relay target (keyhook listen)",
    "peer": "the same, listener attached to another node (PostgreSQL)",
}


def _node(data_dir: Path, env: dict[str, str]) -> tuple[Process, str]:
    port = free_port()
    args = [sys.executable, "-m", "keyhook", "start", "--dev", "--port", str(port)]
    return Process([*args, "--data-dir", str(data_dir)], env), f"http://127.0.0.1:{port}"


def _listen(base: str, token: str, target: str, forward_to: str) -> Process:
    args = [sys.executable, "-m", "keyhook", "listen", "--target", target]
    env = {**os.environ, "KEYHOOK_URL": base, "KEYHOOK_TOKEN": token}
    return Process([*args, "--forward-to", forward_to], env)


async def _ready(process: Process, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "Ready: " in Path(process.log.name).read_text(errors="replace"):
            return
        if process.proc.poll() is not None:
            break
        await asyncio.sleep(0.05)
    raise RuntimeError("keyhook listen did not attach:\n" + Path(process.log.name).read_text())


async def run(data_dir: Path, database_url: str | None, rounds: int, batch: int) -> str:
    receiver, receiver_port = start_receiver()
    hook = f"http://127.0.0.1:{receiver_port}/hook"
    env = {"KEYHOOK_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}
    if database_url:
        env["KEYHOOK_DATABASE_URL"] = database_url
    processes: list[Process] = []
    samples: dict[str, list[float]] = {}
    try:
        server, base = _node(data_dir / "a", env)
        processes.append(server)
        await wait_http(f"http://127.0.0.1:{receiver_port}/")
        await wait_http(base + "/healthz")
        token = (data_dir / "a" / "admin.pat").read_text().strip()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with aiohttp.ClientSession(headers=headers) as http:

            async def call(method: str, path: str, body: object) -> dict[str, object]:
                async with http.request(method, base + path, data=orjson.dumps(body)) as response:
                    answer: dict[str, object] = orjson.loads(await response.read())
                    assert response.status == 200, answer
                    return answer

            async def target_id(name: str) -> str:
                found = await call("POST", "/v2/actions/targets/search", {"name": name})
                targets = found["targets"]
                assert isinstance(targets, list)
                return str(next(t["id"] for t in targets if t["name"] == name))

            created = await call(
                "POST",
                "/v2/actions/targets",
                {
                    "name": "direct",
                    "endpoint": hook,
                    "timeout": "5s",
                    "restCall": {"interruptOnError": True},
                },
            )
            targets = {"http": str(created["id"])}
            processes.append(_listen(base, token, "relayed", hook))
            await _ready(processes[-1])
            targets["relay"] = await target_id("relayed")
            if database_url:
                second, second_base = _node(data_dir / "b", env)
                processes.append(second)
                await wait_http(second_base + "/healthz")
                processes.append(_listen(second_base, token, "relayed-elsewhere", hook))
                await _ready(processes[-1])
                targets["peer"] = await target_id("relayed-elsewhere")
            samples = {case: [] for case in targets}
            for round_ in range(rounds + 1):  # round 0 warms every case up
                for case, target in targets.items():
                    condition = {"request": {"method": METHOD}}
                    await call(
                        "PUT",
                        "/v2/actions/executions",
                        {"condition": condition, "targets": [target]},
                    )
                    for _ in range(batch):
                        started = time.perf_counter()
                        async with http.post(base + "/v2/users/search", data=b"{}") as response:
                            await response.read()
                            assert response.status == 200
                        if round_:
                            samples[case].append((time.perf_counter() - started) * 1000)
    finally:
        for process in reversed(processes):
            process.stop()
        receiver.stop()
    rows = [
        [
            CASES[case],
            len(found),
            f"{percentile(found, 0.5):.2f}",
            f"{percentile(found, 0.99):.2f}",
        ]
        for case, found in samples.items()
    ]
    http_p50 = statistics.median(samples["http"])
    text = table(["case", "calls", "p50 ms", "p99 ms"], rows) + (
        f"\n\nwhat listen adds to a request execution, p50: "
        f"{statistics.median(samples['relay']) - http_p50:.2f} ms (goal ≤ 2 ms)"
    )
    if "peer" in samples:
        text += (
            f"; with the listener on another node: "
            f"{statistics.median(samples['peer']) - http_p50:.2f} ms"
        )
    return text
