"""A real Keyhook server process for tests, on SQLite or a fresh PostgreSQL database.

``KEYHOOK_TEST_DATABASE_URL`` (a PostgreSQL URL) makes every server get a new
database created next to the one named there, and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_base() -> str | None:
    return os.environ.get("KEYHOOK_TEST_DATABASE_URL") or None


async def create_database() -> tuple[str | None, str | None]:
    """(URL for the server, name to drop) — (None, None) on SQLite."""
    base = _postgres_base()
    if base is None:
        return None, None
    name = f"keyhook_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return base.rsplit("/", 1)[0] + "/" + name, name


async def drop_database(name: str | None) -> None:
    base = _postgres_base()
    if base is None or name is None:
        return
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class KeyhookServer:
    data_dir: Path
    dev: bool = True
    allow_hosts: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)
    scheme: str = "http"
    ssl_context: ssl.SSLContext | None = None
    database_url: str | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    _db_name: str | None = None

    @property
    def url(self) -> str:
        host = "localhost" if self.scheme == "https" else "127.0.0.1"
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def token(self) -> str:
        return (self.data_dir / "admin.pat").read_text().strip()

    def rss_mib(self) -> float:
        """The server process's resident memory (Linux), for bounds on what calls cost."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    @property
    def log(self) -> str:
        path = self.data_dir / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def start(self, timeout: float = 30.0) -> None:
        if self.database_url is None:
            self.database_url, self._db_name = await create_database()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHOOK_")}
        env.update(self.extra_env)
        env["KEYHOOK_ACTIONS_ALLOW_HOSTS"] = self.allow_hosts
        if self.database_url:
            env["KEYHOOK_DATABASE_URL"] = self.database_url
        args = [
            sys.executable,
            "-m",
            "keyhook",
            "start",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        if self.dev:
            args.append("--dev")
        args += self.extra_args
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir / "server.log").open("ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"keyhook exited early:\n{self.log}")
                try:
                    async with session.get(
                        self.url + "/readyz", ssl=self.ssl_context or True
                    ) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"keyhook did not become ready:\n{self.log}")

    def terminate(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    async def stop(self, drop: bool = True) -> int | None:
        code = self.terminate()
        if drop:
            await drop_database(self._db_name)
        return code
