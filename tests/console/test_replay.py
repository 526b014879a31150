"""Replaying a target's deliveries from the console, in Chromium (issue 12): from the
Deliveries page filtered by the target, a range and "only failed", a preview that
counts, then Confirm; the receiver gets the counted deliveries again. A person who may
only read the logs is not offered it, and a forged post is refused."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.support.api import Api, serving
from tests.support.console import screenshot, serious_violations, sign_in
from tests.support.events import deliveries, metadata_events, wait_until
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import KeyhookServer

ADMIN = "keyhook-admin@keyhook.localhost"
PASSWORD = "console replay password"
FAST = {
    "KEYHOOK_ACTIONS_RETRY_SCHEDULE": "0s,200ms",
    "KEYHOOK_ACTIONS_THROTTLE_MIN_DELAY": "100ms",
    "KEYHOOK_ACTIONS_POLL_INTERVAL": "100ms",
}
METADATA_SET = {"event": {"event": "user.metadata.set"}}


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[KeyhookServer, Api]]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("console-replay")), extra_env=FAST)
    async with serving(server) as api:
        yield server, api


async def failing_target(api: Api, receiver: Receiver) -> tuple[dict[str, str], str]:
    """A target whose receiver failed 3 deliveries for good and then took 2: the target
    (its id and name) and its receiver's path."""
    path = f"/replay-{secrets.token_hex(3)}"
    mode = {"status": 500}

    async def switchable(_: Received) -> Answer:
        return Answer(mode["status"], {})

    name = f"crm-{secrets.token_hex(2)}"
    created = await api.create_target(
        receiver.endpoint(path, switchable), kind="restAsync", name=name
    )
    target = {"id": created["id"], "name": name}

    async def settled(count: int) -> bool:
        found = await deliveries(api, targetId=target["id"])
        return len(found) == count and all(d["status"] != "pending" for d in found)

    await api.set_execution(METADATA_SET, [target["id"]])
    user = await metadata_events(api, 3)
    await wait_until(lambda: settled(3))
    mode["status"] = 200
    await metadata_events(api, 2, user)
    await wait_until(lambda: settled(5))
    await api.set_execution(METADATA_SET, [])
    return target, path


async def test_a_replay_is_previewed_then_confirmed(
    own: tuple[KeyhookServer, Api], browser: Browser, receiver: Receiver
) -> None:
    server, api = own
    target, path = await failing_target(api, receiver)
    failed = {d["id"] for d in await deliveries(api, targetId=target["id"], status="failed")}
    assert len(failed) == 3
    page = await browser.new_page()
    initial = (server.data_dir / "admin-password").read_text().strip()
    await sign_in(page, server.url, ADMIN, initial, PASSWORD)
    await page.goto(f"{server.url}/ui/console/deliveries?target={target['id']}&status=failed")
    await page.get_by_role("link", name=f"Replay {target['name']}'s deliveries…").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Replay {target['name']}'s deliveries"
    )
    await expect(page.get_by_label("Only failed deliveries")).to_be_checked()
    assert await serious_violations(page) == []

    # A custom range that ends before it begins: the server's problem beside the field.
    await page.get_by_label("a custom range (below)").check()
    await page.get_by_label("From (UTC)").fill("2030-01-02T00:00:00")
    await page.get_by_label("To (UTC)").fill("2030-01-01T00:00:00")
    await page.get_by_role("button", name="Preview").click()
    to = page.get_by_label("To (UTC)")
    await expect(to).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e-to")).to_have_text("must be after from")
    assert await serious_violations(page) == []

    await page.get_by_label("From (UTC)").fill("")
    await page.get_by_label("To (UTC)").fill("")
    await page.get_by_label("the last hour").check()
    await page.get_by_role("button", name="Preview").click()
    heading = page.get_by_role("heading", name="3 deliveries will be sent again")
    await expect(heading).to_be_visible()
    # The preview changed nothing: nothing was sent, every failed one is still failed.
    before = len(receiver.on(path))
    assert {d["id"] for d in await deliveries(api, targetId=target["id"], status="failed")} == (
        failed
    )
    assert await serious_violations(page) == []
    await screenshot(page, "replay-preview")
    await page.set_viewport_size({"width": 380, "height": 800})
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    await page.set_viewport_size({"width": 1280, "height": 720})

    await page.get_by_role("button", name="Confirm").click()
    await expect(page.get_by_role("status").first).to_have_text(
        "3 deliveries queued to be sent again."
    )
    again = await receiver.wait_for(path, before + 3)
    assert {r.headers["webhook-id"] for r in again[before:]} == {f"msg_{i}" for i in failed}
    assert await serious_violations(page) == []
    await page.close()


async def test_a_reader_is_not_offered_replay_and_a_forged_post_is_refused(
    own: tuple[KeyhookServer, Api], browser: Browser, receiver: Receiver
) -> None:
    server, api = own
    target, path = await failing_target(api, receiver)
    email = f"on-call-{secrets.token_hex(3)}@example.com"
    password = "on call password"
    user_id = (await api.add_user(email, userName=email, password={"password": password})).ok()[
        "userId"
    ]
    grant = {"userId": user_id, "resource": {"instance": True}, "roles": ["IAM_DELIVERY_VIEWER"]}
    (await api.post("/v2/administrators", grant)).ok()
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, server.url, email, password)
    await page.goto(f"{server.url}/ui/console/deliveries?target={target['id']}&status=failed")
    await expect(page.get_by_role("row")).to_have_count(4)  # the header and 3 failed
    await expect(page.get_by_role("link", name="Replay", exact=False)).to_have_count(0)
    assert await serious_violations(page) == []
    # The filters by HTTP status and by a range of creation times.
    await page.get_by_label("HTTP status").fill("2xx")
    await page.get_by_label("State").select_option("")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_role("row")).to_have_count(3)  # the header and 2 succeeded
    await page.get_by_label("HTTP status").fill("5xx")
    await page.get_by_label("Created", exact=True).select_option("custom")
    await page.get_by_label("From (UTC)").fill("2000-01-01T00:00:00")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_role("row")).to_have_count(4)
    await page.get_by_label("To (UTC)").fill("2000-01-02T00:00:00")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_text("No delivery matches.")).to_be_visible()
    await page.get_by_label("HTTP status").fill("5x")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_label("HTTP status")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e-http")).to_contain_text('a class such as "5xx"')
    assert await serious_violations(page) == []
    # The form itself is refused, with the permission named ...
    reply = await page.request.get(f"{server.url}/ui/console/targets/{target['id']}/replay")
    assert reply.status == 403
    assert "action.delivery.write" in await reply.text()
    # ... and so is a forged post with the page's CSRF value, preview or confirm.
    csrf = await page.locator('meta[name="keyhook-csrf"]').get_attribute("content")
    assert csrf
    sent = len(receiver.on(path))
    for step in ("preview", "confirm"):
        form: dict[str, str | float | bool] = {
            "csrf": csrf,
            "step": step,
            "range": "1h",
            "from": "2000-01-01T00:00:00Z",
            "onlyFailed": "on",
        }
        reply = await page.request.post(
            f"{server.url}/ui/console/targets/{target['id']}/replay", form=form
        )
        assert reply.status == 403
        assert "action.delivery.write" in await reply.text()
    failed = await deliveries(api, targetId=target["id"], status="failed")
    assert len(failed) == 3 and len(receiver.on(path)) == sent
    await context.close()


def test_the_range_is_read_from_the_form_with_its_end_pinned() -> None:
    from datetime import UTC, datetime

    from keyhook.console.replay import chosen_range

    at = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert chosen_range({"range": "1h"}, at) == (
        "2026-01-10T11:00:00.000000Z",
        "2026-01-10T12:00:00.000000Z",
    )
    custom = {"range": "custom", "from": "2026-01-09T08:30", "to": ""}
    assert chosen_range(custom, at) == (
        "2026-01-09T08:30:00.000000Z",
        "2026-01-10T12:00:00.000000Z",
    )
    assert chosen_range({**custom, "to": "2026-01-09T09:00:15"}, at) == (
        "2026-01-09T08:30:00.000000Z",
        "2026-01-09T09:00:15.000000Z",
    )
    assert chosen_range({"range": "custom", "from": ""}, at) == {
        "from": "is required for a custom range"
    }
    wrong = chosen_range({"range": "custom", "from": "yesterday", "to": "9am"}, at)
    assert isinstance(wrong, dict) and set(wrong) == {"from", "to"}
    assert "YYYY-MM-DDTHH:MM" in wrong["from"]
    assert set(chosen_range({"range": "2d"}, at)) == {"range"}
