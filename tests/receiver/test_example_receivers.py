"""The FastAPI and the Flask receiver of examples/receivers/, built only with
keyhook-receiver, run as real servers against a running Keyhook (issue 14): the
guide's email-domain check refuses a gmail.com user with its message, and its Enrich
Token Claims puts the user's department into a client-credentials token. A request
that is not signed, or not a Keyhook call, is refused before any handler runs."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import Api
from tests.support.server import KeyhookServer

ROOT = Path(__file__).parents[2]
ADD_HUMAN = "/zitadel.user.v2.UserService/AddHumanUser"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _command(framework: str, port: int) -> list[str]:
    if framework == "fastapi":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "examples.receivers.fastapi_receiver:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
    return [sys.executable, "examples/receivers/flask_receiver.py", "--port", str(port)]


@pytest.fixture(params=["fastapi", "flask"])
async def wired(
    request: pytest.FixtureRequest, clean_actions: Api
) -> AsyncIterator[tuple[Api, str]]:
    """The example receiver of one framework, serving two targets' calls."""
    api = clean_actions
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    check = await api.create_target(f"{base}/validate-email", interrupt=True)
    enrich = await api.create_target(f"{base}/enrich-claims", kind="restCall")
    env = {
        **os.environ,
        "KEYHOOK_SIGNING_KEY": f"{check['signingKey']},{enrich['signingKey']}",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    server = subprocess.Popen(
        _command(request.param, port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    await http.get(base + "/")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        await api.set_execution({"request": {"method": ADD_HUMAN}}, [check["id"]])
        await api.set_execution({"function": {"name": "preaccesstoken"}}, [enrich["id"]])
        yield api, base
    finally:
        server.terminate()
        server.wait(10)


async def test_the_email_domain_check_and_the_claims(
    wired: tuple[Api, str], keyhook: KeyhookServer
) -> None:
    api, _ = wired
    refused = await api.add_user(f"r-{secrets.token_hex(3)}@gmail.com")
    assert (refused.status, refused.body["message"]) == (
        400,
        "Email domain gmail.com is not allowed",
    )
    (await api.add_user(f"r-{secrets.token_hex(3)}@example.com")).ok()

    name = f"svc-{secrets.token_hex(3)}"
    user_id = await api.add_machine_user(name, "Finance", accessTokenType="ACCESS_TOKEN_TYPE_JWT")
    metadata = {"metadata": [{"key": "department", "value": "finance"}]}
    (await api.post(f"/v2/users/{user_id}/metadata", metadata)).ok()
    secret = await api.add_secret(user_id)
    async with httpx.AsyncClient(base_url=keyhook.url) as http:
        reply = await http.post(
            "/oauth/v2/token", data={"grant_type": "client_credentials"}, auth=(name, secret)
        )
    assert reply.status_code == 200, reply.text
    claims = json.loads(base64.urlsafe_b64decode(reply.json()["access_token"].split(".")[1] + "=="))
    assert claims["department"] == "finance" and claims["roles"] == ["user"]


async def test_unsigned_and_malformed_requests_are_refused_first(wired: tuple[Api, str]) -> None:
    _, base = wired
    async with httpx.AsyncClient() as http:
        unsigned = await http.post(base + "/validate-email", content=b'{"fullMethod": "x"}')
        assert unsigned.status_code == 401
        assert "missing_header" in unsigned.text
        forged = await http.post(
            base + "/validate-email",
            content=b"{}",
            headers={
                "webhook-id": "msg_1",
                "webhook-timestamp": "1",
                "webhook-signature": "v1,AAAA",
            },
        )
        assert forged.status_code == 401
