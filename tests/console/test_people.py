"""The console's Users and Administrators pages in Chromium (issue 12): search, a
user's details and recent events, lock and unlock, and who holds which roles."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, expect

from keyhook.console.forms import PAGE_SIZE
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


async def test_roles_are_granted_changed_and_taken_away(
    own: tuple[KeyhookServer, Api], browser: Browser
) -> None:
    server, api = own
    email = f"bob-{secrets.token_hex(3)}@example.com"
    user_id = (await api.add_user(email, userName=email)).ok()["userId"]
    page = await browser.new_page()
    await sign_in(page, server.url, ADMIN, "console people password")
    await page.goto(f"{server.url}/ui/console/administrators")
    grant = page.get_by_role("form", name="Grant roles")

    def role(where: Locator, name: str) -> Locator:
        return where.get_by_role("checkbox", name=re.compile(f"^{name} —"))

    # An organization's role on the instance: refused beside the roles, nothing granted.
    await page.get_by_label("User", exact=True).select_option(label=email)
    await role(grant, "ORG_OWNER").check()
    await page.get_by_role("button", name="Grant the roles").click()
    await expect(page.locator("#e-roles")).to_contain_text("ORG_OWNER is a role of")
    await expect(page.get_by_label("User", exact=True)).to_have_value(user_id)
    assert await serious_violations(page) == []
    await screenshot(page, "administrators-refused")
    found = (await api.post("/v2/administrators/search", {})).ok()["administrators"]
    assert user_id not in [a["user"]["id"] for a in found]

    await role(grant, "ORG_OWNER").uncheck()
    await role(grant, "IAM_OWNER_VIEWER").check()
    await page.get_by_role("button", name="Grant the roles").click()
    row = page.get_by_role("row", name=email)
    await expect(row.locator("td.roles")).to_have_text("IAM_OWNER_VIEWER")

    # Change the roles from the row: add IAM_USER_MANAGER.
    await row.get_by_text("Change roles").click()
    await role(row, "IAM_USER_MANAGER").check()
    await row.get_by_role("button", name=f"Save roles of {email}").click()
    row = page.get_by_role("row", name=email)
    await expect(row.locator("td.roles")).to_have_text("IAM_OWNER_VIEWER, IAM_USER_MANAGER")
    roles = {
        a["user"]["id"]: a["roles"]
        for a in (await api.post("/v2/administrators/search", {})).ok()["administrators"]
    }
    assert sorted(roles[user_id]) == ["IAM_OWNER_VIEWER", "IAM_USER_MANAGER"]

    # Take them away.
    await row.get_by_role("button", name=f"Remove {email} as administrator of the instance").click()
    await expect(page.get_by_role("row", name=email)).to_have_count(0)
    found = (await api.post("/v2/administrators/search", {})).ok()["administrators"]
    assert user_id not in [a["user"]["id"] for a in found]
    await page.close()


async def test_a_long_list_is_paged(own: tuple[KeyhookServer, Api], browser: Browser) -> None:
    """More users than a page holds: page 1 of 2, the next page has the rest, and the
    links keep the search."""
    server, api = own
    prefix = f"paged-{secrets.token_hex(3)}"
    for i in range(PAGE_SIZE + 1):
        (await api.add_user(f"{prefix}-{i:03}@example.com")).ok()
    page = await browser.new_page()
    await sign_in(page, server.url, ADMIN, "console people password")
    await page.goto(f"{server.url}/ui/console/users")
    await page.get_by_label("Name or email").fill(prefix)
    await page.get_by_role("button", name="Search").click()
    pager = page.get_by_role("navigation", name="Pages of users")
    await expect(pager).to_contain_text("Page 1 of 2")
    await expect(page.locator(f"tbody a:text-matches('^{prefix}')")).to_have_count(PAGE_SIZE)
    await pager.get_by_role("link", name="Next page").click()
    await expect(pager).to_contain_text("Page 2 of 2")
    await expect(page.locator(f"tbody a:text-matches('^{prefix}')")).to_have_count(1)
    await expect(pager.get_by_role("link", name="Next page")).to_have_count(0)
    assert await serious_violations(page) == []
    await pager.get_by_role("link", name="Previous page").click()
    await expect(pager).to_contain_text("Page 1 of 2")
    await page.close()
