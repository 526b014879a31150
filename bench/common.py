"""Shared pieces of the benchmarks: processes, percentiles, the table printer."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


class Process:
    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the process
            prefix="keyhook-bench-", suffix=".log", delete=False
        )
        self.proc = subprocess.Popen(
            args, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_receiver() -> tuple[Process, int]:
    port = free_port()
    return Process([sys.executable, str(ROOT / "bench" / "receiver.py"), str(port)]), port


def start_keyhook(data_dir: Path, database_url: str | None) -> tuple[Process, int]:
    port = free_port()
    env = {"KEYHOOK_DATABASE_URL": database_url} if database_url else {}
    args = [
        sys.executable,
        "-m",
        "keyhook",
        "start",
        "--dev",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    return Process(args, env), port


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


@contextlib.asynccontextmanager
async def fresh_database(url: str | None) -> AsyncIterator[str | None]:
    """A new PostgreSQL database beside ``url`` for one benchmark, dropped after it
    (each benchmark starts a server of its own, with a master key of its own)."""
    if not url:
        yield None
        return
    import asyncpg

    base = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    name = f"keyhook_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(base)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        admin = await asyncpg.connect(base)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
