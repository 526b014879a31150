"""A target's page in Chromium (issue 12): changing its settings and custom headers
(values write-only: kept unless retyped, never shown), rotating its signing key with an
overlap from a list (the new key shown once, the time the old one stops, both signing
meanwhile), and a read-only person offered none of it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.api import Api, serving
from tests.support.console import screenshot, serious_violations, sign_in
from tests.support.receiver import Received, Receiver
from tests.support.server import KeyhookServer

ADMIN = "keyhook-admin@keyhook.localhost"


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[KeyhookServer, Api]]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("console-target")))
    async with serving(server) as api:
        yield server, api


PASSWORD = "console target password"
_changed: set[str] = set()  # servers whose administrator chose PASSWORD already


@pytest.fixture
async def admin_page(own: tuple[KeyhookServer, Api], browser: Browser) -> AsyncIterator[Page]:
    server, _ = own
    page = await browser.new_page(viewport={"width": 1100, "height": 900})
    if server.url in _changed:
        await sign_in(page, server.url, ADMIN, PASSWORD)
    else:
        initial = (server.data_dir / "admin-password").read_text().strip()
        await sign_in(page, server.url, ADMIN, initial, PASSWORD)
        _changed.add(server.url)
    yield page
    await page.close()


def _verifies(key: str, received: Received) -> bool:
    """Whether one of the call's Standard Webhooks signatures is ``key``'s."""
    h = received.headers
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + received.body
    mac = hmac.new(base64.b64decode(key.removeprefix("whsec_")), signed, hashlib.sha256)
    expected = "v1," + base64.b64encode(mac.digest()).decode()
    return expected in h["webhook-signature"].split(" ")


async def _call(api: Api, receiver: Receiver, path: str, count: int) -> Received:
    """The call an added user makes, its header names lower-cased."""
    (await api.add_user(f"t-{secrets.token_hex(3)}@example.com")).ok()
    got = (await receiver.wait_for(path, count))[-1]
    return Received(got.path, {k.lower(): v for k, v in got.headers.items()}, got.body, got.at)


async def test_headers_are_changed_without_being_shown_and_the_key_rotates(
    own: tuple[KeyhookServer, Api], admin_page: Page, receiver: Receiver
) -> None:
    server, api = own
    page = admin_page
    path = f"/edit-{secrets.token_hex(3)}"
    target = await api.create_target(
        receiver.endpoint(path),
        name="crm-sync",
        headers={"X-Api-Key": "first-secret", "X-Team": "blue"},
    )
    await api.set_execution(
        {"request": {"method": "/zitadel.user.v2.UserService/AddHumanUser"}}, [target["id"]]
    )

    await page.goto(f"{server.url}/ui/console/targets")
    await page.get_by_role("link", name="crm-sync", exact=True).click()
    await expect(page).to_have_title("Target crm-sync · Keyhook console")
    assert "first-secret" not in await page.content()
    assert await serious_violations(page) == []

    # A bad new header name: the problem shows beside it and nothing changes.
    await page.get_by_label("New header name").first.fill("Bad Name")
    await page.get_by_label("Its value").first.fill("typed-secret")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("#form-error")).to_be_visible()
    assert "typed-secret" not in await page.content(), "a typed value is not echoed back"
    assert await page.get_by_label("New header name").first.get_attribute("aria-invalid") == "true"
    got = await _call(api, receiver, path, 1)
    assert got.headers["x-api-key"] == "first-secret"

    # Keep X-Api-Key (left empty), replace X-Team, add X-Region, and change the timeout.
    await page.get_by_label("New header name").first.fill("X-Region")
    await page.get_by_label("Its value").first.fill("eu")
    await page.get_by_label("New value for X-Team").fill("red")
    await page.get_by_label("Timeout").fill("7s")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    await expect(page.locator("dl.facts")).to_contain_text("7s")
    got = await _call(api, receiver, path, 2)
    assert got.headers["x-api-key"] == "first-secret"
    assert got.headers["x-team"] == "red"
    assert got.headers["x-region"] == "eu"
    assert "first-secret" not in await page.content() and ">red<" not in await page.content()

    # Remove X-Team.
    await page.get_by_label("Remove X-Team").check()
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    got = await _call(api, receiver, path, 3)
    assert "x-team" not in got.headers and got.headers["x-api-key"] == "first-secret"

    # Rotate with a 24 h overlap: the new key is shown once, the old one's end with it.
    old_key = target["signingKey"]
    await page.get_by_label("The old key keeps signing for").select_option("24h")
    await page.get_by_role("button", name="Rotate the key").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("A new signing key for crm-sync")
    await expect(dialog).to_contain_text("keeps signing every call beside the new one until")
    new_key = await page.get_by_role("textbox", name="Signing key").input_value()
    assert new_key.startswith("whsec_") and new_key != old_key
    shown = (await api.get(f"/v2/actions/targets/{target['id']}")).ok()["target"]
    ends = shown["previousSigningKeys"][0]["expirationDate"]
    await expect(dialog).to_contain_text(ends)
    assert await serious_violations(page) == []
    await screenshot(page, "target-rotated")
    got = await _call(api, receiver, path, 4)
    assert _verifies(new_key, got) and _verifies(old_key, got), "both sign during the overlap"

    # Rotate again with no overlap (a leaked key): only the newest signs.
    await page.get_by_label("The old key keeps signing for").select_option("0s")
    await page.get_by_role("button", name="Rotate the key").click()
    await expect(page.get_by_role("dialog")).to_contain_text("The old key stopped signing now")
    newest = await page.get_by_role("textbox", name="Signing key").input_value()
    got = await _call(api, receiver, path, 5)
    assert _verifies(newest, got)
    assert not _verifies(new_key, got) and not _verifies(old_key, got)
    await api.clear_executions()


async def test_an_overlap_not_in_the_list_is_refused(
    own: tuple[KeyhookServer, Api], admin_page: Page, receiver: Receiver
) -> None:
    server, api = own
    target = await api.create_target(receiver.endpoint("/unused"), name="listed-overlaps")
    page = admin_page
    await page.goto(f"{server.url}/ui/console/targets/{target['id']}")
    await page.locator("#f-overlap option[value='24h']").evaluate("o => o.value = '9999h'")
    await page.get_by_role("button", name="Rotate the key").click()
    await expect(page.locator("#e-overlap")).to_contain_text("choose one of the listed overlaps")
    shown = (await api.get(f"/v2/actions/targets/{target['id']}")).ok()["target"]
    assert shown["signingKey"] == target["signingKey"], "nothing rotated"
    await screenshot(page, "target")


async def test_a_target_is_created_inside_the_execution_editor(
    own: tuple[KeyhookServer, Api], admin_page: Page, receiver: Receiver
) -> None:
    server, api = own
    page = admin_page
    method = "/zitadel.user.v2.UserService/AddHumanUser"
    await page.goto(f"{server.url}/ui/console/executions")
    await page.get_by_label("Method, service, function, event or group").fill(method)
    await page.get_by_text("A new target, without leaving the editor").click()
    # A bad endpoint: the problem shows beside it, the editor keeps what was typed.
    await page.get_by_label("Name", exact=True).fill("inline-target")
    await page.get_by_label("Endpoint").fill("ftp://nowhere")
    await page.get_by_role("button", name="Create the target").click()
    await expect(page.locator("#new-target-error")).to_be_visible()
    assert await page.get_by_label("Endpoint").get_attribute("aria-invalid") == "true"
    await expect(page.get_by_label("Method, service, function, event or group")).to_have_value(
        method
    )
    assert await serious_violations(page) == []
    await screenshot(page, "executions-new-target-error")
    listed = (await api.post("/v2/actions/targets/search", {"name": "inline-target"})).ok()
    assert listed["targets"] == []

    path = f"/inline-{secrets.token_hex(3)}"
    await page.get_by_label("Endpoint").fill(receiver.endpoint(path))
    await page.get_by_role("button", name="Create the target").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Target inline-target created")
    key = await page.get_by_role("textbox", name="Signing key").input_value()
    await expect(page.get_by_label("Position of inline-target")).to_have_value("1")
    await expect(page.get_by_label("Method, service, function, event or group")).to_have_value(
        method
    )
    assert await serious_violations(page) == []
    await page.get_by_role("button", name="Done").click()
    await page.get_by_role("button", name="Set execution").click()
    await expect(page.get_by_role("row", name=f"request: method {method}")).to_contain_text(
        "inline-target"
    )
    got = await _call(api, receiver, path, 1)
    assert _verifies(key, got), "the key the dialog showed signs the calls"
    await api.clear_executions()


async def test_a_stale_page_and_a_moved_endpoint_save_nothing(
    own: tuple[KeyhookServer, Api], admin_page: Page, receiver: Receiver
) -> None:
    """The second review: a page opened before another change replaced the headers
    that change added; and a new endpoint elsewhere took the stored secrets along."""
    server, api = own
    page = admin_page
    target = await api.create_target(
        receiver.endpoint("/stale"), name="stale-page", headers={"X-Api-Key": "kept-secret"}
    )
    await page.goto(f"{server.url}/ui/console/targets/{target['id']}")
    # Someone else adds a header meanwhile (keeping X-Api-Key with the mask).
    both = {"headers": {"X-Api-Key": "********", "X-New": "added"}}
    (await api.post(f"/v2/actions/targets/{target['id']}", both)).ok()
    await page.get_by_label("New value for X-Api-Key").fill("typed-over")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("#form-error")).to_contain_text("nothing was saved")
    shown = (await api.get(f"/v2/actions/targets/{target['id']}")).ok()["target"]
    assert sorted(shown["headers"]) == ["X-Api-Key", "X-New"]
    assert await serious_violations(page) == []

    # Another host, the values not typed again: refused beside the headers.
    await page.get_by_label("Endpoint").fill("http://127.0.0.2:9/elsewhere")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("#form-error")).to_contain_text("must be sent again")
    shown = (await api.get(f"/v2/actions/targets/{target['id']}")).ok()["target"]
    assert shown["endpoint"] == receiver.endpoint("/stale")
