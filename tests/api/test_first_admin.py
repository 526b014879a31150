"""The first human administrator (issue 11): made at first start as IAM_OWNER with an
initial password in ``<data dir>/admin-password``, made to choose a new one on the
login page in Chromium, whose access token then calls the API."""

from __future__ import annotations

import secrets
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from playwright.async_api import Browser, expect

from keyhook.domain.oidc import API_AUDIENCE_SCOPE
from tests.support.api import Api, serving
from tests.support.oidc import create_client
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import KeyhookServer

EMAIL = "root@example.com"


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[tuple[KeyhookServer, Api]]:
    server = KeyhookServer(data_dir=tmp_path / "data", extra_args=["--admin-email", EMAIL])
    async with serving(server) as api:
        yield server, api


async def signed_in_page(_: Received) -> Answer:
    return Answer(raw=b"<!doctype html><title>App</title><p>Signed in</p>")


async def test_the_first_human_admin_changes_its_password_and_calls_the_api(
    fresh: tuple[KeyhookServer, Api], receiver: Receiver, browser: Browser
) -> None:
    server, api = fresh
    password_file = server.data_dir / "admin-password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    initial = password_file.read_text().strip()
    assert len(initial) >= 16
    assert initial not in server.log
    assert str(password_file.resolve()) in server.log, "the start says where it is"

    found = (await api.post("/v2/users/search", {"text": EMAIL})).ok()["result"]
    (human,) = [u for u in found if u["username"] == EMAIL]
    admins = (
        await api.post(
            "/v2/administrators/search",
            {"filters": [{"inUserIdsFilter": {"ids": [human["userId"]]}}]},
        )
    ).ok()["administrators"]
    assert [(a.get("instance"), a["roles"]) for a in admins] == [(True, ["IAM_OWNER"])]

    path = f"/console-{secrets.token_hex(3)}/callback"
    callback = receiver.endpoint(path, signed_in_page)
    client = await create_client(api, redirect_uri=callback)
    oauth = AsyncOAuth2Client(
        client_id=client.client_id,
        client_secret=client.client_secret,
        scope=f"openid {API_AUDIENCE_SCOPE}",
        redirect_uri=callback,
        code_challenge_method="S256",
    )
    verifier = generate_token(64)
    url, state = oauth.create_authorization_url(
        f"{server.url}/oauth/v2/authorize", code_verifier=verifier
    )
    page = await browser.new_page()
    await page.goto(url)
    await page.get_by_label("User name").fill(EMAIL)
    await page.get_by_label("Password").fill(initial)
    await page.get_by_role("button", name="Sign in").click()
    # The password was right: now the page asks for a new one, with the rules shown.
    await expect(page).to_have_title("Set a new password · Keyhook")
    await expect(page.get_by_text("At least 8 and at most 256 characters.")).to_be_visible()
    current = page.get_by_label("Current password")
    new = page.get_by_label("New password", exact=True)
    again = page.get_by_label("New password again")
    chosen = "correct horse battery staple"
    # Too short, then not the same twice, then the same as before: each said, nothing done.
    for new_value, again_value, said in [
        ("short", "short", "The new password must be 8 to 256 characters long."),
        (chosen, chosen + "!", "The two new passwords are not the same."),
        (initial, initial, "The new password must differ from the current one."),
    ]:
        await current.fill(initial)
        await new.fill(new_value)
        await again.fill(again_value)
        await page.get_by_role("button", name="Change password and sign in").click()
        await expect(page.get_by_role("alert")).to_have_text(said)
    # A wrong current password keeps the change form, with the sign-in's words.
    await current.fill("not the password")
    await new.fill(chosen)
    await again.fill(chosen)
    await page.get_by_role("button", name="Change password and sign in").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "The user name or password is not correct."
    )
    await expect(page).to_have_title("Set a new password · Keyhook")
    await current.fill(initial)
    await new.fill(chosen)
    await again.fill(chosen)
    await page.get_by_role("button", name="Change password and sign in").click()
    await page.wait_for_url(f"{callback}?**")
    token: dict[str, Any] = await oauth.fetch_token(
        f"{server.url}/oauth/v2/token",
        authorization_response=page.url,
        code_verifier=verifier,
        state=state,
    )
    await oauth.aclose()
    await page.close()

    # Its access token calls the API with IAM_OWNER's rights.
    access = token["access_token"]
    me = await api.get(f"/v2/users/{human['userId']}", token=access)
    assert me.status == 200, me.body
    target = await api.post(
        "/v2/actions/targets",
        {
            "name": f"by-human-{secrets.token_hex(3)}",
            "endpoint": "http://127.0.0.1:9/hook",
            "timeout": "5s",
            "restAsync": {},
        },
        token=access,
    )
    assert target.status == 200, target.body
    # The initial password is gone, and the new one needs no change any more.
    async with httpx.AsyncClient(base_url=server.url) as http:
        old = await http.post(
            "/v2/sessions",
            headers={"Authorization": f"Bearer {server.token}"},
            json={"checks": {"user": {"loginName": EMAIL}, "password": {"password": initial}}},
        )
        assert old.status_code == 400, old.text
        ok = await http.post(
            "/v2/sessions",
            headers={"Authorization": f"Bearer {server.token}"},
            json={"checks": {"user": {"loginName": EMAIL}, "password": {"password": chosen}}},
        )
        assert ok.status_code == 200, ok.text
