"""ZITADEL's own Connect client, run by ``node``: tests/node/zitadel/client.mjs.

The client is built from ZITADEL's published definitions (npm ``@zitadel/proto``) with
``@connectrpc/connect-node`` over HTTP/1.1 JSON and decodes strictly (an unknown member
in an answer fails the call). The packages are pinned by tests/node/zitadel's
package-lock.json and installed with ``npm ci`` on first use (the npm registry, once).
A test without ``node`` and ``npm`` is skipped, saying why, as the browser tests are
without Chromium.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "node" / "zitadel"
_STAMP = NODE_DIR / "node_modules" / ".keyhook-lock-sha256"


def node_missing_reason() -> str | None:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return (
                f"the ZITADEL client tests need {tool} (Node.js 20 or newer): install "
                "Debian's nodejs and npm"
            )
    return None


def installed() -> Path:
    """tests/node/zitadel with its pinned packages installed (npm ci, once per lock)."""
    reason = node_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    lock = hashlib.sha256((NODE_DIR / "package-lock.json").read_bytes()).hexdigest()
    if not _STAMP.exists() or _STAMP.read_text() != lock:
        subprocess.run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            check=True,
            capture_output=True,
            timeout=300,
        )
        _STAMP.write_text(lock)
    return NODE_DIR


async def run_node(script: str, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "node",
        str(installed() / script),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def run_plan(base_url: str, token: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Each call's outcome, by name: ``{"ok": True, "answer"}`` or ``{"ok": False, "code",
    "message", "details", "decoded"}`` (see client.mjs)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as plan:
        json.dump({"baseUrl": base_url, "token": token, "calls": calls}, plan)
    try:
        result: dict[str, Any] = json.loads(await run_node("client.mjs", plan.name))
    finally:
        Path(plan.name).unlink()
    return result
