"""The Targets page's health columns in Chromium (issue 12): each target's last call or
delivery (its status, how long ago, a link to it), the last 24 hours' success rate and
count, p95, and the failing badge beside paused."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.support.api import Api, serving
from tests.support.console import screenshot, serious_violations, sign_in
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import KeyhookServer

ADMIN = "keyhook-admin@keyhook.localhost"
GET_USER = "/zitadel.user.v2.UserService/GetUserByID"
FAST = {"KEYHOOK_ACTIONS_POLL_INTERVAL": "100ms"}


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[KeyhookServer, Api]]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("console-health")), extra_env=FAST)
    async with serving(server) as api:
        yield server, api


async def test_the_targets_health_and_the_failing_badge(
    own: tuple[KeyhookServer, Api], browser: Browser, receiver: Receiver
) -> None:
    server, api = own
    tag = secrets.token_hex(3)

    async def broken(_: Received) -> Answer:
        return Answer(500, {"status": "broken"})

    orders = await api.create_target(receiver.endpoint(f"/orders-{tag}"), name="orders")
    billing = await api.create_target(receiver.endpoint(f"/billing-{tag}", broken), name="billing")
    audit = await api.create_target(
        receiver.endpoint(f"/audit-{tag}"), kind="restAsync", name="audit-log"
    )
    await api.create_target(receiver.endpoint(f"/idle-{tag}"), name="idle")
    user = (await api.add_user(f"t-{tag}@example.com")).ok()["userId"]
    await api.set_execution({"request": {"method": GET_USER}}, [orders["id"], billing["id"]])
    await api.set_execution({"event": {"event": "user.locked"}}, [audit["id"]])
    for _ in range(5):
        (await api.get(f"/v2/users/{user}")).ok()
    (await api.post(f"/v2/users/{user}/lock")).ok()
    ids = [orders["id"], billing["id"], audit["id"]]
    for _ in range(200):  # the call log and the worker write in the background
        found = (await api.post("/v2/actions/targets/health/search", {"targetIds": ids})).ok()
        totals = {t["targetId"]: t["last24h"]["total"] for t in found["targets"]}
        if totals == {orders["id"]: 5, billing["id"]: 5, audit["id"]: 1}:
            break
        await asyncio.sleep(0.05)
    assert totals == {orders["id"]: 5, billing["id"]: 5, audit["id"]: 1}
    (await api.post(f"/v2/actions/targets/{audit['id']}/pause")).ok()
    await api.clear_executions()

    context = await browser.new_context(viewport={"width": 1200, "height": 800})
    page = await context.new_page()
    initial = (server.data_dir / "admin-password").read_text().strip()
    await sign_in(page, server.url, ADMIN, initial, "console health password")
    await page.get_by_role("link", name="Targets").click()
    await expect(page).to_have_title("Targets · Keyhook console")
    headers = page.locator("thead th")
    for name in ("Last call", "24 h", "p95"):
        await expect(headers.filter(has_text=name)).to_have_count(1)

    rows = page.locator("tbody tr")
    row = {name: rows.filter(has_text=name) for name in ("orders", "billing", "audit-log", "idle")}
    await expect(row["billing"]).to_contain_text("failing")
    await expect(row["billing"]).to_contain_text("0 % of 5")
    await expect(row["billing"].locator("td.last-call")).to_contain_text("500")
    await expect(row["orders"]).to_contain_text("100 % of 5")
    await expect(row["orders"].locator("td.last-call")).to_contain_text("200")
    await expect(row["orders"].locator(".badge.bad")).to_have_count(0)
    await expect(row["orders"]).to_contain_text("≤ ")  # the p95, an upper bound
    await expect(row["audit-log"]).to_contain_text("paused")
    await expect(row["audit-log"].locator(".badge.bad")).to_have_count(0)
    await expect(row["audit-log"]).to_contain_text("100 % of 1")
    await expect(row["idle"].locator("td.last-call")).to_have_text("—")
    assert await serious_violations(page) == []
    await screenshot(page, "targets-health")

    # A narrow window: the table scrolls in its box, the page itself does not.
    await page.set_viewport_size({"width": 380, "height": 800})
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert await serious_violations(page) == []
    await page.set_viewport_size({"width": 1200, "height": 800})

    # The last call links to that call's page; the last delivery to the delivery's.
    await row["billing"].get_by_role("link", name="the last call of billing").click()
    await expect(page).to_have_title(re.compile(r"^Call \d+ · Keyhook console$"))
    await expect(page.locator("dl.facts")).to_contain_text("billing")
    await expect(page.locator("dd.call-status")).to_have_text("500")
    await page.go_back()
    await row["audit-log"].get_by_role("link", name="the last delivery of audit-log").click()
    delivered = next(t["last"]["id"] for t in found["targets"] if t["targetId"] == audit["id"])
    await expect(page).to_have_title(f"Delivery msg_{delivered} · Keyhook console")
    await expect(page.locator("main")).to_contain_text("user.locked")
    await context.close()
