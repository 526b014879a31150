"""Driving the console in Chromium: signing in through the login page, checking a page
with axe-core, and taking the screenshots docs/console.md shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page, expect

SCREENSHOTS = Path(__file__).parents[2] / "docs" / "console"
_AXE = Axe()


async def sign_in(
    page: Page, base_url: str, user: str, password: str, new_password: str | None = None
) -> None:
    """Open the console, sign in on the login page (choosing ``new_password`` when the
    page asks for one) and land on the console."""
    await page.goto(f"{base_url}/ui/console")
    await page.get_by_label("User name").fill(user)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    if new_password is not None:
        await expect(page).to_have_title("Set a new password · Keyhook")
        await page.get_by_label("Current password").fill(password)
        await page.get_by_label("New password", exact=True).fill(new_password)
        await page.get_by_label("New password again").fill(new_password)
        await page.get_by_role("button", name="Change password and sign in").click()
    await page.wait_for_url(lambda url: urlsplit(url).path.startswith("/ui/console"))


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    results = await _AXE.run(page)
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
