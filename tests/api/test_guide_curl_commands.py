"""The curl commands of ZITADEL's webhook guide, run by curl exactly as written,
against real HTTPS.

The commands live in tests/fixtures/guide_curl_commands.sh, copied verbatim from
the guide. With ``KEYHOOK_WEBHOOK_GUIDE`` naming a text copy of the guide, a test
checks that the copy is still the guide's text. The only substitution is the
placeholder target id ``337246363446151234``, which becomes the id the guide's
own target-creation command returned.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.server import KeyhookServer
from tests.support.tls import self_signed

FIXTURE = Path(__file__).parents[1] / "fixtures" / "guide_curl_commands.sh"
GUIDE = os.environ.get("KEYHOOK_WEBHOOK_GUIDE", "")
PLACEHOLDER = "337246363446151234"


def commands() -> list[str]:
    return [block for block in FIXTURE.read_text().split("\n\n") if block.strip()]


def test_fixture_is_the_guides_text() -> None:
    if not GUIDE:
        pytest.skip("KEYHOOK_WEBHOOK_GUIDE (a text copy of ZITADEL's webhook guide) is not set")
    guide = Path(GUIDE).read_text()
    for command in commands():
        indented = "\n".join("    " + line for line in command.splitlines())
        assert indented in guide


@pytest.fixture(scope="module")
async def https_keyhook(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KeyhookServer]:
    directory = Path(tmp_path_factory.mktemp("https"))
    cert, key = self_signed(directory)
    context = ssl.create_default_context(cafile=str(cert))
    server = KeyhookServer(
        data_dir=directory / "data",
        scheme="https",
        ssl_context=context,
        extra_args=["--tls-cert", str(cert), "--tls-key", str(key)],
    )
    server.extra_env["CURL_CA_BUNDLE"] = str(cert)
    await server.start()
    yield server
    await server.stop()


def run_curl(command: str, server: KeyhookServer) -> dict[str, object]:
    env = {
        **os.environ,
        "CUSTOM_DOMAIN": f"localhost:{server.port}",
        "TOKEN": server.token,
        "CURL_CA_BUNDLE": server.extra_env["CURL_CA_BUNDLE"],
    }
    done = subprocess.run(
        ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_guide_curl_commands_work_as_written(https_keyhook: KeyhookServer) -> None:
    all_commands = commands()
    create_target = next(c for c in all_commands if "/v2/actions/targets" in c)
    created = run_curl(create_target, https_keyhook)
    target_id = str(created["id"])
    assert re.fullmatch(r"[0-9]{1,19}", target_id)
    assert str(created["signingKey"]).startswith("whsec_")
    executions = [c for c in all_commands if "/v2/actions/executions" in c]
    assert len(executions) == 4
    for command in executions:
        answer = run_curl(command.replace(PLACEHOLDER, target_id), https_keyhook)
        assert "setDate" in answer, answer
    listed = run_curl(
        'curl -X POST "https://${CUSTOM_DOMAIN}/v2/actions/executions/search" '
        '-s -H "Authorization: Bearer ${TOKEN}" -d "{}"',
        https_keyhook,
    )
    conditions = [e["condition"] for e in listed["executions"]]  # type: ignore[attr-defined]
    assert {"request": {"method": "/zitadel.user.v2.UserService/AddHumanUser"}} in conditions
    assert {"response": {"method": "/zitadel.user.v2.UserService/AddHumanUser"}} in conditions
    assert {"function": {"name": "complement_token"}} in conditions
    assert {"event": {"event": "user.locked"}} in conditions
