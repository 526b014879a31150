"""The console in Chromium against a running server with a real receiver (issue 12):
the first human administrator signs in through the login page, creates a target and
copies its key from the dialog, explains which execution fires; a read-only caller
is offered no write control and refused one it forges. Every page passes axe-core
without a serious or critical violation; the screenshots land in docs/console/."""

from __future__ import annotations

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
NEW_PASSWORD = "console admin password"
ADD_HUMAN = "/zitadel.user.v2.UserService/AddHumanUser"


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[KeyhookServer, Api]]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("console")))
    async with serving(server) as api:
        yield server, api


async def test_the_administrator_creates_a_target_and_explains_executions(
    own: tuple[KeyhookServer, Api], browser: Browser, receiver: Receiver
) -> None:
    server, api = own
    initial = (server.data_dir / "admin-password").read_text().strip()
    context = await browser.new_context(viewport={"width": 1100, "height": 800})
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = await context.new_page()
    await sign_in(page, server.url, ADMIN, initial, NEW_PASSWORD)
    await expect(page).to_have_title("Overview · Keyhook console")
    await page.get_by_role("link", name="Targets").click()
    await expect(page).to_have_title("Targets · Keyhook console")
    await expect(page.get_by_text("Keyhook Administrator")).to_be_visible()
    assert await serious_violations(page) == []

    # A bad timeout: the server's problem shows beside the field, nothing is created.
    async def refuse_gmail(received: Received) -> Answer:
        email = received.json["request"]["user"]["email"]["email"]
        if email.endswith("@gmail.com"):
            return Answer(
                400, {"status": "error", "message": "Email domain gmail.com is not allowed"}
            )
        return Answer(200, {"status": "success"})

    await page.get_by_label("Name").fill("validate-email")
    await page.get_by_label("Endpoint").fill(receiver.endpoint("/console-validate", refuse_gmail))
    await page.get_by_label("Timeout").fill("ten seconds")
    await page.get_by_label("restWebhook").check()
    await page.get_by_role("button", name="Create target").click()
    timeout = page.get_by_label("Timeout")
    await expect(timeout).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e-timeout")).to_contain_text("duration")
    await expect(page.get_by_text("0 targets")).to_be_visible()
    assert await serious_violations(page) == []

    await timeout.fill("5s")
    await page.get_by_label("Interrupt on error").check()
    await page.get_by_role("button", name="Create target").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Target validate-email created")
    key = await page.get_by_label("Signing key").input_value()
    assert key.startswith("whsec_")
    await page.get_by_role("button", name="Copy the key").click()
    await expect(page.get_by_role("status")).to_have_text("Copied.")
    assert await page.evaluate("navigator.clipboard.readText()") == key
    await screenshot(page, "targets-created")
    assert await serious_violations(page) == []
    await page.get_by_role("button", name="Done").click()
    row = page.get_by_role("row", name="validate-email")
    await expect(row).to_contain_text("interrupts")
    # The same key the API returns: it signs the calls.
    found = (await api.post("/v2/actions/targets/search", {"name": "validate-email"})).ok()
    (target,) = found["targets"]
    assert (await api.get(f"/v2/actions/targets/{target['id']}")).ok()["target"][
        "signingKey"
    ] == key

    # The request execution on AddHumanUser, through the editor.
    await page.get_by_role("link", name="Executions").click()
    await expect(page).to_have_title("Executions · Keyhook console")
    await page.get_by_label("Condition type").select_option("request")
    await page.get_by_label("Selector").select_option("method")
    await page.get_by_label("Method, service, function, event or group").fill(ADD_HUMAN)
    await page.get_by_label("Position of validate-email").fill("1")
    await page.get_by_role("button", name="Set execution").click()
    await expect(page.get_by_role("row", name=f"request: method {ADD_HUMAN}")).to_contain_text(
        "validate-email"
    )
    assert await serious_violations(page) == []
    await screenshot(page, "executions")
    # A user the target refuses, through the API: the call shows in Calls.
    refused = await api.add_user(f"c-{secrets.token_hex(3)}@gmail.com")
    assert refused.status == 400
    assert refused.body["message"] == "Email domain gmail.com is not allowed"
    await page.get_by_role("link", name="Calls").click()
    call = page.get_by_role("row").filter(has_text="AddHumanUser")
    for _ in range(50):  # the call record is written just after the call
        if await call.count():
            break
        await page.wait_for_timeout(100)
        await page.reload()
    await expect(call).to_contain_text("validate-email")
    await expect(call).to_contain_text("400")
    # What the target got, what it answered, what the caller was told.
    await call.get_by_text("What was sent and answered").click()
    await expect(call.locator("pre.got")).to_contain_text("@gmail.com")
    await expect(call.locator("pre.answered")).to_contain_text(
        "Email domain gmail.com is not allowed"
    )
    await expect(call.locator("p.told")).to_contain_text("status 400")
    assert await serious_violations(page) == []
    # Its own page (a permalink): the same exchange, and what the caller was told.
    await call.get_by_role("link").first.click()
    await expect(page).to_have_title(re.compile(r"^Call \d+ · Keyhook console$"))
    await expect(page.locator("dd.told")).to_contain_text("status 400")
    await expect(page.locator("dd.call-status")).to_have_text("400")
    await expect(page.locator("pre.got")).to_contain_text("@gmail.com")
    await expect(page.locator("pre.answered")).to_contain_text("gmail.com is not allowed")
    assert await serious_violations(page) == []
    await screenshot(page, "call")
    call_id = page.url.rsplit("/", 1)[1]
    # Found by its id; filtered by the target's answer.
    await page.get_by_role("link", name="All calls").click()
    await page.get_by_label("Call id").fill("12x")
    await page.get_by_role("button", name="Find").click()
    await expect(page.locator("#e-find")).to_contain_text("is not a call id")
    await page.get_by_label("Call id").fill(call_id)
    await page.get_by_role("button", name="Find").click()
    await expect(page).to_have_title(f"Call {call_id} · Keyhook console")
    await page.get_by_role("link", name="All calls").click()
    await page.get_by_label("HTTP status").fill("4xx")
    await page.get_by_label("When").select_option("1h")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator(f'a[href="/ui/console/calls/{call_id}"]')).to_have_count(1)
    await expect(page.get_by_role("row").filter(has_text="AddHumanUser")).to_have_count(1)
    assert await serious_violations(page) == []
    await page.get_by_label("HTTP status").fill("2xx")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator(f'a[href="/ui/console/calls/{call_id}"]')).to_have_count(0)
    # Which execution fires? A method-, a service- and an all-level execution.
    others = [
        (await api.create_target(f"http://127.0.0.1:9/{n}", kind="restAsync", name=n))["id"]
        for n in ("user-service", "everything")
    ]
    await api.set_execution({"request": {"service": "zitadel.user.v2.UserService"}}, [others[0]])
    await api.set_execution({"request": {"all": True}}, [others[1]])
    await page.get_by_role("link", name="Executions").click()
    await page.get_by_label("Method, function or event").fill(ADD_HUMAN)
    await page.get_by_role("button", name="Explain").click()
    await expect(page.locator("code.fires")).to_have_text(f"request: method {ADD_HUMAN}")
    shadowed = page.locator("ul.shadowed li")
    await expect(shadowed).to_have_count(2)
    await expect(shadowed.nth(0)).to_contain_text("user-service")
    await expect(shadowed.nth(1)).to_contain_text("everything")
    await screenshot(page, "executions-explain")
    assert await serious_violations(page) == []
    # A narrow window: the page still reads without a horizontal scroll of the body.
    await page.set_viewport_size({"width": 380, "height": 800})
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    await screenshot(page, "executions-narrow")
    # Removing an execution from its row.
    await page.get_by_role(
        "button", name=f"Remove the execution request: method {ADD_HUMAN}"
    ).click()
    await expect(page.get_by_role("row", name=f"request: method {ADD_HUMAN}")).to_have_count(0)
    await context.close()
    await api.clear_executions()


async def test_a_read_only_caller_is_offered_no_write_and_refused_a_forged_one(
    own: tuple[KeyhookServer, Api], browser: Browser
) -> None:
    server, api = own
    email = f"on-call-{secrets.token_hex(3)}@example.com"
    password = "on call password"
    user_id = (await api.add_user(email, userName=email, password={"password": password})).ok()[
        "userId"
    ]
    body = {"userId": user_id, "resource": {"instance": True}, "roles": ["IAM_DELIVERY_VIEWER"]}
    (await api.post("/v2/administrators", body)).ok()
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, server.url, email, password)
    await page.goto(f"{server.url}/ui/console/targets")
    await expect(page).to_have_title("Targets · Keyhook console")
    await expect(page.get_by_role("button", name="Create target")).to_have_count(0)
    await expect(page.get_by_role("heading", name="New target")).to_have_count(0)
    assert await serious_violations(page) == []
    form = {
        "name": "forged",
        "endpoint": "http://127.0.0.1:9/",
        "timeout": "1s",
        "type": "restAsync",
    }
    # A post without the page's CSRF value is refused before anything else ...
    reply = await page.request.post(f"{server.url}/ui/console/targets", form={**form, "csrf": "x"})
    assert reply.status == 403
    assert "could not be verified" in await reply.text()
    # ... and one with it (the caller forging its own request) by the operation's
    # permission, in the same chain as the API.
    csrf = await page.locator('meta[name="keyhook-csrf"]').get_attribute("content")
    assert csrf
    reply = await page.request.post(f"{server.url}/ui/console/targets", form={**form, "csrf": csrf})
    assert reply.status == 403
    assert "action.target.write" in await reply.text()
    found = (await api.post("/v2/actions/targets/search", {"name": "forged"})).ok()
    assert found["targets"] == []
    # A target's page: read, but no edit, rotation or delete; forging them is refused.
    shown = await api.create_target("http://127.0.0.1:9/read-only", kind="restAsync")
    await page.goto(f"{server.url}/ui/console/targets/{shown['id']}")
    await expect(page.locator("dl.facts")).to_contain_text("http://127.0.0.1:9/read-only")
    for name in ("Save changes", "Rotate the key"):
        await expect(page.get_by_role("button", name=name)).to_have_count(0)
    assert await serious_violations(page) == []
    await page.goto(f"{server.url}/ui/console/targets")
    await expect(page.get_by_role("link", name="Delete", exact=False)).to_have_count(0)
    for action, fields in (
        ("", {"name": "renamed", "type": "restAsync"}),
        ("/rotate", {"overlap": "0s"}),
        ("/delete", {}),
    ):
        reply = await page.request.post(
            f"{server.url}/ui/console/targets/{shown['id']}{action}", form={**fields, "csrf": csrf}
        )
        assert reply.status == 403, action
    after = (await api.get(f"/v2/actions/targets/{shown['id']}")).ok()["target"]
    assert after["signingKey"] == shown["signingKey"] and after["name"] != "renamed"
    # No editor on Executions, no granting on Administrators.
    await page.goto(f"{server.url}/ui/console/executions")
    await expect(page.get_by_role("button", name="Set execution")).to_have_count(0)
    await page.goto(f"{server.url}/ui/console/administrators")
    await expect(page.get_by_role("button", name="Grant the roles")).to_have_count(0)
    # Not even the list (iam.member.read): the page says which permission is missing.
    await expect(page).to_have_title("Refused · Keyhook console")
    await expect(page.locator("main")).to_contain_text("iam.member.read")
    assert await serious_violations(page) == []
    reply = await page.request.post(
        f"{server.url}/ui/console/administrators/grant",
        form={"user": user_id, "resource": "instance", "role-IAM_OWNER": "on", "csrf": csrf},
    )
    assert reply.status == 403
    # Signing out revokes the console's token: the old cookie no longer opens a page.
    kept = [c for c in await context.cookies() if c["name"] == "keyhook_console"]
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_load_state()
    assert "/oidc/v1/end_session" in page.url, await page.locator("main").inner_text()
    await context.add_cookies(
        [
            {"name": c["name"], "value": c["value"], "domain": "127.0.0.1", "path": "/ui/console"}
            for c in kept
        ]
    )
    await page.wait_for_timeout(700)  # a node remembers a token for 0.5 s
    reply = await page.request.get(f"{server.url}/ui/console/targets", max_redirects=0)
    assert reply.status == 303
    assert "/ui/console/signin" in reply.headers["location"]
    # The cookie was sent and opened, and its token refused: the console drops it.
    assert "keyhook_console=" in reply.headers.get("set-cookie", "")
    await context.close()


async def test_pause_resume_and_delete_a_target(
    own: tuple[KeyhookServer, Api], browser: Browser
) -> None:
    server, api = own
    name = f"to-delete-{secrets.token_hex(3)}"
    target = await api.create_target("http://127.0.0.1:9/gone", kind="restAsync", name=name)
    await api.set_execution({"event": {"event": "user.deactivated"}}, [target["id"]])
    page = await browser.new_page()
    await sign_in(page, server.url, ADMIN, NEW_PASSWORD)
    await page.goto(f"{server.url}/ui/console/targets")
    row = page.get_by_role("row", name=name)
    await row.get_by_role("button", name=f"Pause {name}").click()
    await expect(row).to_contain_text("paused")
    assert (await api.get(f"/v2/actions/targets/{target['id']}")).ok()["target"]["paused"]
    await row.get_by_role("button", name=f"Resume {name}").click()
    await expect(row).to_contain_text("active")
    await row.get_by_role("link", name=f"Delete {name}").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Delete the target {name}?")
    await expect(page.locator("ul.using")).to_contain_text("event: event user.deactivated")
    assert await serious_violations(page) == []
    await screenshot(page, "target-delete")
    await page.get_by_role("button", name=f"Delete {name}").click()
    await expect(page).to_have_title("Targets · Keyhook console")
    await expect(page.get_by_role("row", name=name)).to_have_count(0)
    gone = await api.get(f"/v2/actions/targets/{target['id']}")
    assert gone.status == 404
    executions = (await api.post("/v2/actions/executions/search", {})).ok()["executions"]
    assert {"event": {"event": "user.deactivated"}} not in [e["condition"] for e in executions]
    await page.close()


async def test_test_a_hook_against_the_email_domain_receiver(
    own: tuple[KeyhookServer, Api], browser: Browser, receiver: Receiver
) -> None:
    """The guide's email-domain receiver: a rejection with its message for @gmail.com,
    an allowance for @example.com."""
    server, api = own

    async def email_domain(received: Received) -> Answer:
        email = received.json["request"]["user"]["email"]["email"]
        if email.endswith("@gmail.com"):
            return Answer(
                400, {"status": "error", "message": "Email domain gmail.com is not allowed"}
            )
        return Answer(200, {"status": "success"})

    name = f"email-domain-{secrets.token_hex(3)}"
    await api.create_target(receiver.endpoint(f"/{name}", email_domain), interrupt=True, name=name)
    page = await browser.new_page()
    await sign_in(page, server.url, ADMIN, NEW_PASSWORD)
    await page.get_by_role("link", name="Test a hook").click()
    await expect(page).to_have_title("Test a hook · Keyhook console")
    await page.get_by_label("Target").select_option(label=name)
    await page.get_by_label("Method, function or event").fill(ADD_HUMAN)
    message = page.get_by_label("Request message, or the event's data")
    sample = await message.input_value()
    await message.fill(sample.replace("jane@example.com", "jane@gmail.com"))
    await page.get_by_role("button", name="Send the test").click()
    await expect(page.locator(".outcome")).to_have_text("rejected")
    await expect(page.locator(".reading-message")).to_have_text(
        "Email domain gmail.com is not allowed"
    )
    await expect(page.locator(".answer-status")).to_have_text("400")
    await expect(page.get_by_role("cell", name="webhook-signature")).to_be_visible()
    assert await serious_violations(page) == []
    await screenshot(page, "test-a-hook")
    await message.fill(sample)
    await page.get_by_role("button", name="Send the test").click()
    await expect(page.locator(".outcome")).to_have_text("allowed")
    await expect(page.locator(".answer-status")).to_have_text("200")
    # A real user's data, picked from the list: a gmail.com user is refused.
    email = f"real-{secrets.token_hex(3)}@gmail.com"
    (await api.add_user(email.replace("gmail.com", "example.com"))).ok()
    real = (await api.add_user(email, userName=email)).ok()["userId"]
    await page.reload()
    await page.get_by_label("A real user's data").select_option(value=real)
    await page.get_by_role("button", name="Fill from the user").click()
    await expect(message).to_contain_text(email)
    await page.get_by_role("button", name="Send the test").click()
    await expect(page.locator(".outcome")).to_have_text("rejected")
    got = receiver.on(f"/{name}")[-1].json
    assert got["request"]["user"]["email"]["email"] == email
    await page.close()


async def test_test_a_function_for_a_real_user(
    own: tuple[KeyhookServer, Api], browser: Browser, receiver: Receiver
) -> None:
    """preaccesstoken tested with a real user's data: the claims the token would get."""
    server, api = own
    email = f"claims-{secrets.token_hex(3)}@example.com"
    user_id = (
        await api.add_user(email, userName=email, metadata=[{"key": "team", "value": "blue"}])
    ).ok()["userId"]

    async def add_team(received: Received) -> Answer:
        team = received.json["userMetadata"][0]["value"]
        return Answer(200, {"append_claims": [{"key": "team", "value": team}]})

    name = f"claims-{secrets.token_hex(3)}"
    await api.create_target(receiver.endpoint(f"/{name}", add_team), kind="restCall", name=name)
    page = await browser.new_page()
    await sign_in(page, server.url, ADMIN, NEW_PASSWORD)
    await page.goto(f"{server.url}/ui/console/test?kind=function")
    await page.get_by_label("Target").select_option(label=name)
    await expect(page.get_by_label("Call for")).to_have_value("function")
    await page.get_by_label("Method, function or event").fill("preaccesstoken")
    await page.get_by_label("A real user's data").select_option(value=user_id)
    await page.get_by_role("button", name="Send the test").click()
    await expect(page.locator(".outcome")).to_have_text("claims")
    await expect(page.locator(".claims-added")).to_contain_text('"team": "blue"')
    got = receiver.on(f"/{name}")[-1].json
    assert got["userID"] == user_id and got["function"] == "preaccesstoken"
    assert await serious_violations(page) == []
    await screenshot(page, "test-a-function")
    await page.close()


async def test_test_a_hook_shows_what_a_target_changed(
    own: tuple[KeyhookServer, Api], browser: Browser, receiver: Receiver
) -> None:
    """A restCall target that changes the request: the reading is "modified", with a
    diff of what it changed (only that: keys sorted on both sides)."""
    server, api = own

    async def rename(received: Received) -> Answer:
        request = received.json["request"]
        request["user"]["profile"]["givenName"] = "Renamed"
        return Answer(200, {"request": request})

    name = f"rename-{secrets.token_hex(3)}"
    await api.create_target(receiver.endpoint(f"/{name}", rename), kind="restCall", name=name)
    page = await browser.new_page()
    await sign_in(page, server.url, ADMIN, NEW_PASSWORD)
    await page.goto(f"{server.url}/ui/console/test")
    await page.get_by_label("Target").select_option(label=name)
    await page.get_by_role("button", name="Send the test").click()
    await expect(page.locator(".outcome")).to_have_text("modified")
    await expect(page.locator(".diff-del")).to_have_text(['-      "givenName": "Jane"'])
    await expect(page.locator(".diff-add")).to_have_text(['+      "givenName": "Renamed"'])
    assert await serious_violations(page) == []
    await screenshot(page, "test-a-hook-modified")
    await page.close()


async def test_test_a_hook_shows_problems_beside_their_fields(
    own: tuple[KeyhookServer, Api], browser: Browser, receiver: Receiver
) -> None:
    server, api = own
    name = f"fields-{secrets.token_hex(3)}"
    await api.create_target(receiver.endpoint(f"/{name}"), name=name)
    page = await browser.new_page()
    await sign_in(page, server.url, ADMIN, NEW_PASSWORD)
    await page.goto(f"{server.url}/ui/console/test")
    await page.get_by_label("Target").select_option(label=name)
    message = page.get_by_label("Request message, or the event's data")
    await message.fill('{"user": ')
    await page.get_by_role("button", name="Send the test").click()
    await expect(page.locator("#e-t-message")).to_contain_text("is not JSON")
    assert await message.get_attribute("aria-invalid") == "true"
    await message.fill("{}")
    await page.get_by_label("Method, function or event").fill(ADD_HUMAN + "s")
    await page.get_by_role("button", name="Send the test").click()
    await expect(page.locator("#e-t-subject")).to_contain_text("did you mean")
    subject = page.get_by_label("Method, function or event")
    assert await subject.get_attribute("aria-invalid") == "true"
    assert await serious_violations(page) == []
    await page.close()
