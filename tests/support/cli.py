"""The ``keyhook`` client command run as a user runs it: a subprocess, with its
own config directory and no KEYHOOK_* from the test's environment.

It runs without blocking the test's event loop, so receivers in the test keep
answering while a command waits on the server.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    config_dir: Path
    env: dict[str, str]

    @classmethod
    def at(cls, config_dir: Path, **env: str) -> Cli:
        return cls(config_dir, dict(env))

    async def __call__(self, *args: str, stdin: str = "", **env: str) -> Result:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("KEYHOOK_")}
        # No OS keyring unless a test chooses one: a developer's own stays untouched.
        environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
        environ.update({"KEYHOOK_CONFIG_DIR": str(self.config_dir), **self.env, **env})
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "keyhook",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environ,
        )
        out, err = await process.communicate(stdin.encode())
        assert process.returncode is not None
        return Result(process.returncode, out.decode(), err.decode())
