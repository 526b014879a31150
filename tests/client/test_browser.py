"""``keyhook login --browser``: the code flow with PKCE and a loopback redirect on
any port, through the server's real login page (driven like a browser, with
httpx), by a subprocess; then the token calls the API."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from keyhook.client.browser import API_AUDIENCE_SCOPE as CLIENT_SCOPE
from keyhook.domain.oidc import API_AUDIENCE_SCOPE, check_redirect_uri
from keyhook.errors import OAuthError
from tests.support.api import Api, serving
from tests.support.cli import Cli
from tests.support.events import wait_until
from tests.support.oidc import create_user, submit_login
from tests.support.server import KeyhookServer


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[KeyhookServer, Api]]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("cli-browser")))
    async with serving(server) as api:
        yield server, api


def test_the_client_asks_for_the_servers_api_scope() -> None:
    assert CLIENT_SCOPE == API_AUDIENCE_SCOPE


def test_a_native_apps_loopback_redirect_matches_on_any_port_only() -> None:
    registered = ["http://127.0.0.1/callback"]
    assert check_redirect_uri("http://127.0.0.1:5123/callback", registered, native=True)
    for wrong in ("http://127.0.0.1:5123/other", "http://localhost:5123/callback"):
        with pytest.raises(OAuthError):
            check_redirect_uri(wrong, registered, native=True)
    with pytest.raises(OAuthError):  # a web app's redirect stays exact
        check_redirect_uri("http://127.0.0.1:5123/callback", registered)


async def test_login_in_the_browser_keeps_a_token_that_calls_the_api(
    own: tuple[KeyhookServer, Api], tmp_path: Path
) -> None:
    server, api = own
    user = await create_user(api)
    body = {"userId": user.user_id, "resource": {"instance": True}, "roles": ["IAM_OWNER"]}
    (await api.post("/v2/administrators", body)).ok()
    config = tmp_path / "config"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHOOK_")}
    env.update(
        KEYHOOK_CONFIG_DIR=str(config), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "keyhook", "login", "--url", server.url, "--browser", "--no-open",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert process.stderr is not None
    line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
    found = re.search(r"(http://\S+/oauth/v2/authorize\?\S+)", line)
    assert found, line
    async with httpx.AsyncClient(base_url=server.url) as browser:
        first = await browser.get(found.group(1))
        assert first.status_code == 302, first.text[:300]
        page = await browser.get(first.headers["location"])
        assert page.status_code == 200, page.text[:300]
        back = await submit_login(browser, page, user.login, user.password)
        assert back.status_code in (302, 303), back.text[:300]
        callback = back.headers["location"]
        assert re.match(r"http://127\.0\.0\.1:\d+/callback\?", callback), callback
        done = await browser.get(callback)
        assert done.status_code == 200 and "Signed in" in done.text
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    assert "Logged in" in out.decode()
    listed = await Cli.at(config)("targets", "list", "-o", "json")
    assert listed.code == 0, listed.err

    # The access token revoked (as when it ends): the next command redeems the refresh
    # token once, keeps the new pair, and its call goes through.
    kept = json.loads((config / "credentials.json").read_text())
    assert set(kept) == {"default", "default/refresh"}
    doc = (await api.get("/.well-known/openid-configuration", token=None)).ok()
    async with httpx.AsyncClient() as http:
        revoked = await http.post(
            doc["revocation_endpoint"],
            data={"token": kept["default"], "client_id": doc["keyhook_cli_client_id"]},
        )
        assert revoked.status_code == 200, revoked.text

        async def refused() -> bool:  # every node refuses it within TOKEN_TTL (0.5 s)
            reply = await http.post(
                server.url + "/v2/actions/targets/search",
                json={},
                headers={"Authorization": f"Bearer {kept['default']}"},
            )
            return reply.status_code == 401

        await wait_until(refused)
    again = await Cli.at(config)("targets", "list", "-o", "json")
    assert again.code == 0, again.err
    renewed = json.loads((config / "credentials.json").read_text())
    assert renewed["default"] != kept["default"]
    assert renewed["default/refresh"] != kept["default/refresh"]


async def test_a_forged_state_is_not_taken(own: tuple[KeyhookServer, Api], tmp_path: Path) -> None:
    server, _ = own
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHOOK_")}
    env.update(KEYHOOK_CONFIG_DIR=str(tmp_path / "c"))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "keyhook", "login", "--url", server.url, "--browser", "--no-open",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert process.stderr is not None
    try:
        line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
        port = re.search(r"redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A(\d+)", line)
        assert port, line
        async with httpx.AsyncClient() as browser:
            forged = await browser.get(
                f"http://127.0.0.1:{port.group(1)}/callback?code=stolen&state=not-it"
            )
        assert forged.status_code == 404
    finally:
        process.terminate()
        await process.wait()
    assert not (tmp_path / "c" / "credentials.json").exists()


async def test_the_discovery_document_names_the_cli_client(own: tuple[KeyhookServer, Api]) -> None:
    _, api = own
    doc = (await api.get("/.well-known/openid-configuration", token=None)).ok()
    client_id = doc["keyhook_cli_client_id"]
    apps = (await api.post("/v2beta/applications/search", {})).ok()
    assert any(client_id in str(app) for app in apps.get("applications", apps.get("result", [])))
