"""The console's Users and Administrators pages in Chromium (issue 12): search, a
user's details and recent events, lock and unlock, and who holds which roles."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.support.api import Api, serving
from tests.support.console import screenshot, serious_violations, sign_in
from tests.support.server import KeyhookServer

ADMIN = "keyhook-admin@keyhook.localhost"


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[KeyhookServer, Api]]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("console-people")))
    async with serving(server) as api:
        yield server, api


async def test_users_and_administrators(own: tuple[KeyhookServer, Api], browser: Browser) -> None:
    server, api = own
    email = f"ann-{secrets.token_hex(3)}@example.com"
    body = {
        "user": {
            "userName": email,
            "profile": {"givenName": "Ann", "familyName": "Lee"},
            "email": {"email": email},
            "metadata": [{"key": "team", "value": "blue"}],
        }
    }
    user_id = (await api.post("/v2/users/human", body)).ok()["userId"]
    page = await browser.new_page()
    initial = (server.data_dir / "admin-password").read_text().strip()
    await sign_in(page, server.url, ADMIN, initial, "console people password")
    await page.get_by_role("link", name="Users").click()
    await page.get_by_label("Name or email").fill("ann-")
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_text("1 user", exact=True)).to_be_visible()
    assert await serious_violations(page) == []
    await screenshot(page, "users")
    await page.get_by_role("link", name=email).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(email)
    await expect(page.locator("dl[aria-labelledby=metadata]")).to_contain_text("blue")
    await page.get_by_role("button", name="Lock this user").click()
    await expect(page.locator("dd.state")).to_have_text("locked")
    await expect(page.locator("ol.events")).to_contain_text("user.locked")
    assert (await api.get(f"/v2/users/{user_id}")).ok()["user"]["state"] == "USER_STATE_LOCKED"
    assert await serious_violations(page) == []
    await screenshot(page, "user")
    await page.get_by_role("button", name="Unlock this user").click()
    await expect(page.locator("dd.state")).to_have_text("active")
    grant = {"userId": user_id, "resource": {"instance": True}, "roles": ["IAM_DELIVERY_VIEWER"]}
    (await api.post("/v2/administrators", grant)).ok()
    await page.get_by_role("link", name="Administrators").click()
    row = page.get_by_role("row", name=email)
    await expect(row).to_contain_text("IAM_DELIVERY_VIEWER")
    await expect(page.get_by_role("row", name=ADMIN)).to_contain_text("IAM_OWNER")
    assert await serious_violations(page) == []
    await screenshot(page, "administrators")
    await page.close()
