"""The console's log pages in Chromium (issue 12): a delivery that failed twice and then
succeeded shows its three attempts in order and can be sent again with the same
webhook-id; a call a target refused shows in Calls with the status the caller got."""

from __future__ import annotations

import asyncio
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
FAST = {
    "KEYHOOK_ACTIONS_RETRY_SCHEDULE": "0s,300ms,300ms,300ms",
    "KEYHOOK_ACTIONS_THROTTLE_MIN_DELAY": "100ms",
    "KEYHOOK_ACTIONS_POLL_INTERVAL": "100ms",
}


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[KeyhookServer, Api]]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("console-logs")), extra_env=FAST)
    async with serving(server) as api:
        yield server, api


async def test_a_delivery_its_attempts_and_a_retry(
    own: tuple[KeyhookServer, Api], browser: Browser, receiver: Receiver
) -> None:
    server, api = own
    answers = [Answer(503, {"status": "busy"}), Answer(500, {"status": "broken"})]

    async def flaky(_: Received) -> Answer:
        return answers.pop(0) if answers else Answer(200, {"status": "success"})

    path = f"/flaky-{secrets.token_hex(3)}"
    secret = f"Bearer {secrets.token_hex(12)}"
    target = await api.create_target(
        receiver.endpoint(path, flaky),
        kind="restAsync",
        name="alerts",
        headers={"Authorization": secret},
    )
    await api.set_execution({"event": {"event": "user.locked"}}, [target["id"]])
    user = (await api.add_user(f"l-{secrets.token_hex(3)}@example.com")).ok()["userId"]
    (await api.post(f"/v2/users/{user}/lock")).ok()
    first = await receiver.wait_for(path, 3)
    webhook_id = first[0].headers["webhook-id"]
    assert {r.headers["webhook-id"] for r in first} == {webhook_id}

    page = await browser.new_page()
    initial = (server.data_dir / "admin-password").read_text().strip()
    await sign_in(page, server.url, ADMIN, initial, "console logs password")
    await page.get_by_role("link", name="Deliveries").click()
    await expect(page).to_have_title("Deliveries · Keyhook console")
    await page.get_by_label("State").select_option("succeeded")
    await page.get_by_role("button", name="Filter").click()
    link = page.get_by_role("link", name=webhook_id)
    await expect(link).to_be_visible()
    assert await serious_violations(page) == []
    await screenshot(page, "deliveries")
    await page.set_viewport_size({"width": 380, "height": 800})
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    await page.set_viewport_size({"width": 1280, "height": 720})
    # The search box: an id no delivery has is said so beside the field ...
    search = page.get_by_label("Delivery id or webhook-id")
    await search.fill("msg_1")
    await page.get_by_role("button", name="Find").click()
    await expect(search).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e-find")).to_have_text("no delivery has the id 1")
    assert await serious_violations(page) == []
    # ... and a webhook-id opens its delivery.
    await search.fill(webhook_id)
    await page.get_by_role("button", name="Find").click()
    await expect(page).to_have_title(f"Delivery {webhook_id} · Keyhook console")
    attempts = page.locator("ol.timeline > li")
    await expect(attempts).to_have_count(3)
    await expect(attempts.nth(0)).to_contain_text("status 503")
    await expect(attempts.nth(1)).to_contain_text("status 500")
    await expect(attempts.nth(2)).to_contain_text("status 200")
    # The request the last attempt sent, as the receiver got it, the custom header masked.
    sent = attempts.nth(2).get_by_role("table")
    for name, value in first[2].headers.items():
        row = sent.get_by_role("row").filter(has=page.get_by_text(name, exact=True))
        await expect(row).to_contain_text("********" if name == "Authorization" else value)
    assert secret not in await page.content()
    await expect(page.locator("pre.body")).to_have_text(first[0].body.decode())
    await expect(page.locator("pre.payload")).to_contain_text('"event": "user.locked"')
    assert await serious_violations(page) == []
    await screenshot(page, "delivery")
    await page.set_viewport_size({"width": 380, "height": 800})
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    await page.set_viewport_size({"width": 1280, "height": 720})
    await page.get_by_role("button", name="Retry this delivery").click()
    again = await receiver.wait_for(path, 4)
    assert again[3].headers["webhook-id"] == webhook_id
    # The attempt is recorded just after the receiver answered: the page shows it then.
    for _ in range(50):
        await page.reload()
        if await attempts.count() == 4:
            break
        await asyncio.sleep(0.1)
    await expect(attempts).to_have_count(4)
    await expect(attempts.nth(3)).to_contain_text("status 200")
    await page.close()
    await api.set_execution({"event": {"event": "user.locked"}}, [])


async def test_a_refused_call_shows_in_calls(
    own: tuple[KeyhookServer, Api], browser: Browser, receiver: Receiver
) -> None:
    server, api = own
    path = f"/refuse-{secrets.token_hex(3)}"

    async def refuse(_: Received) -> Answer:
        return Answer(403, {"status": "error", "message": "gmail.com is not allowed"})

    target = await api.create_target(receiver.endpoint(path, refuse), interrupt=True, name="email")
    method = "/zitadel.user.v2.UserService/AddHumanUser"
    await api.set_execution({"request": {"method": method}}, [target["id"]])
    refused = await api.add_user(f"x-{secrets.token_hex(3)}@gmail.com")
    assert refused.status == 403
    await api.set_execution({"request": {"method": method}}, [])
    page = await browser.new_page()
    await sign_in(page, server.url, ADMIN, "console logs password")
    await page.goto(f"{server.url}/ui/console/calls")
    row = page.get_by_role("row").filter(has_text="AddHumanUser")
    await expect(row).to_contain_text("403")
    await expect(row).to_contain_text("email")
    assert await serious_violations(page) == []
    await screenshot(page, "calls")
    await page.close()


async def test_the_live_tail_shows_a_new_delivery_without_a_reload(
    own: tuple[KeyhookServer, Api], browser: Browser, receiver: Receiver
) -> None:
    server, api = own
    path = f"/tail-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path), kind="restAsync", name="tail")
    await api.set_execution({"event": {"event": "user.locked"}}, [target["id"]])
    page = await browser.new_page()
    await sign_in(page, server.url, ADMIN, "console logs password")
    await page.goto(f"{server.url}/ui/console/deliveries?target={target['id']}")
    await expect(page.get_by_text("No delivery matches.")).to_be_visible()
    await page.wait_for_timeout(500)  # the stream is open
    user = (await api.add_user(f"t-{secrets.token_hex(3)}@example.com")).ok()["userId"]
    (await api.post(f"/v2/users/{user}/lock")).ok()
    (sent,) = await receiver.wait_for(path)
    row = page.get_by_role("row").filter(has_text=sent.headers["webhook-id"])
    await expect(row).to_contain_text("succeeded")
    await expect(page.get_by_role("status")).to_contain_text("since the page loaded")
    await expect(page.get_by_text("No delivery matches.")).to_have_count(0)
    assert await serious_violations(page) == []
    await page.close()
    await api.set_execution({"event": {"event": "user.locked"}}, [])


async def test_the_overview_shows_the_last_day(
    own: tuple[KeyhookServer, Api], browser: Browser
) -> None:
    """After the tests above: deliveries and a refused call in the charts, the refusing
    target among the failing ones."""
    server, _ = own
    page = await browser.new_page()
    await sign_in(page, server.url, ADMIN, "console logs password")
    await expect(page).to_have_title("Overview · Keyhook console")
    # The overview is remembered for 5 s, then refreshed: reload until it has the call.
    for _ in range(40):
        if "email" in (await page.locator("main").inner_text()):
            break
        await page.wait_for_timeout(500)
        await page.reload()
    await expect(page.locator("ul.failing")).to_contain_text("email")
    await expect(page.locator("#c-deliveries-title")).not_to_contain_text(": 0 in")
    await expect(page.locator("#c-calls-title")).not_to_contain_text(": 0 in")
    assert await page.locator("figure.chart rect").count() > 0
    assert await serious_violations(page) == []
    await screenshot(page, "overview")
    await page.close()


async def test_live_views_are_limited_per_person(
    own: tuple[KeyhookServer, Api], browser: Browser
) -> None:
    """The attacker's review: live tails polled for every stream opened; now at most
    three at once a person (and 32 in all), a fourth is refused."""
    import httpx

    from keyhook.console.logs import LIVE_PER_PERSON

    server, _ = own
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, server.url, ADMIN, "console logs password")
    cookies = {c["name"]: c["value"] for c in await context.cookies()}
    async with httpx.AsyncClient(base_url=server.url, cookies=cookies, timeout=10) as http:
        streams = [
            http.stream("GET", "/ui/console/deliveries/live") for _ in range(LIVE_PER_PERSON)
        ]
        opened = [await s.__aenter__() for s in streams]
        try:
            assert [r.status_code for r in opened] == [200] * LIVE_PER_PERSON
            await asyncio.sleep(0.3)  # each stream is running (and counted)
            refused = await http.get("/ui/console/deliveries/live")
            assert refused.status_code == 429
            assert "too many live views" in refused.text
        finally:
            for s in streams:
                await s.__aexit__(None, None, None)
    await context.close()


async def test_live_views_opened_at_once_are_counted_at_once(
    own: tuple[KeyhookServer, Api], browser: Browser
) -> None:
    """The second review: twelve streams opened together were all accepted (the slot
    was taken only once a stream ran); now three are, and every slot comes back."""
    import httpx

    from keyhook.console.logs import LIVE_PER_PERSON

    server, _ = own
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, server.url, ADMIN, "console logs password")
    cookies = {c["name"]: c["value"] for c in await context.cookies()}
    async with httpx.AsyncClient(base_url=server.url, cookies=cookies, timeout=10) as http:
        streams = [http.stream("GET", "/ui/console/deliveries/live") for _ in range(12)]
        opened = await asyncio.gather(*(s.__aenter__() for s in streams))
        try:
            codes = sorted(r.status_code for r in opened)
            assert codes == [200] * LIVE_PER_PERSON + [429] * (12 - LIVE_PER_PERSON)
        finally:
            for s in streams:
                await s.__aexit__(None, None, None)
        for _ in range(50):  # the server sees the streams close within a poll or two
            again = http.stream("GET", "/ui/console/deliveries/live")
            reply = await again.__aenter__()
            status = reply.status_code
            await again.__aexit__(None, None, None)
            if status == 200:
                break
            await asyncio.sleep(0.2)
        assert status == 200, "the slots were given back"
    await context.close()


async def test_a_pending_delivery_says_when_it_is_next_attempted(
    own: tuple[KeyhookServer, Api], browser: Browser, receiver: Receiver
) -> None:
    server, api = own
    path = f"/paused-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path), kind="restAsync", name="paused")
    (await api.post(f"/v2/actions/targets/{target['id']}/pause")).ok()
    await api.set_execution({"event": {"event": "user.locked"}}, [target["id"]])
    user = (await api.add_user(f"p-{secrets.token_hex(3)}@example.com")).ok()["userId"]
    (await api.post(f"/v2/users/{user}/lock")).ok()
    await api.set_execution({"event": {"event": "user.locked"}}, [])
    found = (await api.post("/v2/actions/deliveries/search", {"targetId": target["id"]})).ok()
    (pending,) = found["deliveries"]
    page = await browser.new_page()
    await sign_in(page, server.url, ADMIN, "console logs password")
    await page.goto(f"{server.url}/ui/console/deliveries/{pending['id']}")
    await expect(page.locator("dd.next")).to_have_text(
        "waits: the target is paused; sent once it is resumed"
    )
    await expect(page.locator("ol.timeline")).to_contain_text("Not attempted yet.")
    assert await serious_violations(page) == []
    (await api.post(f"/v2/actions/targets/{target['id']}/resume")).ok()
    await receiver.wait_for(path)
    await page.close()


def test_when_the_next_attempt_is_due_reads_from_now() -> None:
    from datetime import UTC, datetime, timedelta

    from keyhook.clock import iso
    from keyhook.console.logs import _due_in

    def due(**later: float) -> str:
        return _due_in(iso(datetime.now(UTC) + timedelta(**later)))

    assert due(seconds=-5) == "due now"
    assert due(seconds=30.2) in ("in 30 s", "in 29 s")
    assert due(minutes=4, seconds=10.2) in ("in 4 min 10 s", "in 4 min 9 s")
    assert due(hours=5, minutes=0, seconds=30) == "in 5 h 0 min"
    assert _due_in(None) == ""
