"""A server for the listen tests (its worker retries fast), and the CLI as a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.server import KeyhookServer

# Enough retries, close together, that an event waits through a listener's restart.
FAST_DELIVERY = {
    "KEYHOOK_ACTIONS_RETRY_SCHEDULE": ",".join(["0s"] + ["300ms"] * 40),
    "KEYHOOK_ACTIONS_THROTTLE_MIN_DELAY": "300ms",
    "KEYHOOK_ACTIONS_LEASE": "3s",
    "KEYHOOK_ACTIONS_POLL_INTERVAL": "200ms",
}
READY = "Ready: "


@dataclass
class ListenProcess:
    """``keyhook listen`` run as a subprocess, its output read line by line."""

    url: str
    token: str
    args: list[str]
    lines: list[str] = field(default_factory=list)
    process: asyncio.subprocess.Process | None = None
    _reader: asyncio.Task[None] | None = None

    async def start(self, *, ready: bool = True) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHOOK_")}
        env.update({"KEYHOOK_URL": self.url, "KEYHOOK_TOKEN": self.token})
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "keyhook",
            "listen",
            *self.args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
        self._reader = asyncio.create_task(self._read())
        if ready:
            await self.wait_for(READY)

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.lines.append(line.decode().rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def wait_for(self, text: str, count: int = 1, timeout: float = 30.0) -> list[str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = [line for line in self.lines if text in line]
            if len(found) >= count:
                return found
            assert self.process is not None
            if self.process.returncode is not None and self._reader is not None:
                await self._reader
                found = [line for line in self.lines if text in line]
                if len(found) >= count:
                    return found
                raise AssertionError(f"listen exited ({self.process.returncode}):\n{self.output}")
            if loop.time() > deadline:
                raise AssertionError(f"{text!r} not printed:\n{self.output}")
            await asyncio.sleep(0.02)

    async def exit_code(self) -> int:
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), 30)
        if self._reader is not None:
            await self._reader
        return code

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader


@pytest.fixture(scope="package")
async def relay_keyhook(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KeyhookServer]:
    server = KeyhookServer(
        data_dir=Path(tmp_path_factory.mktemp("relay")), extra_env=dict(FAST_DELIVERY)
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def relay_api(relay_keyhook: KeyhookServer) -> AsyncIterator[Api]:
    client = Api(relay_keyhook.url, relay_keyhook.token)
    await client.clear_executions()
    yield client
    await client.clear_executions()
    await client.close()


@pytest.fixture
async def listeners(relay_keyhook: KeyhookServer) -> AsyncIterator[list[ListenProcess]]:
    """Started listeners, each killed at the end of the test."""
    started: list[ListenProcess] = []
    yield started
    for listener in started:
        await listener.stop()


def listen(
    server: KeyhookServer, started: list[ListenProcess], *args: str, url: str | None = None
) -> ListenProcess:
    process = ListenProcess(url or server.url, server.token, list(args))
    started.append(process)
    return process
