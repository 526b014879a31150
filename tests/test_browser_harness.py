"""The ``browser`` fixture drives a real Chromium against a real HTTP server."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from playwright.async_api import Browser, expect

FORM = """<!doctype html>
<html><body>
<form method="post" action="/greet">
  <label for="name">Name</label> <input id="name" name="name" type="text">
  <button type="submit">Send</button>
</form>
</body></html>"""


class FormServer:
    """GET / serves a form; POST /greet records the name and answers a greeting."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _form(self, _: web.Request) -> web.Response:
        return web.Response(text=FORM, content_type="text/html")

    async def _greet(self, request: web.Request) -> web.Response:
        name = str((await request.post())["name"])
        self.names.append(name)
        page = f"<!doctype html><p id='reply'>Hello, {html.escape(name)}!</p>"
        return web.Response(text=page, content_type="text/html")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._form)
        app.router.add_post("/greet", self._greet)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def form_server() -> AsyncIterator[FormServer]:
    server = FormServer()
    await server.start()
    yield server
    await server.stop()


async def test_browser_fills_a_form_by_label_and_submits_it(
    browser: Browser, form_server: FormServer
) -> None:
    page = await browser.new_page()
    await page.goto(form_server.url + "/")

    await page.get_by_label("Name").fill("Ada Lovelace")
    await page.get_by_role("button", name="Send").click()

    await expect(page.locator("#reply")).to_have_text("Hello, Ada Lovelace!")
    assert form_server.names == ["Ada Lovelace"]
    assert page.url == form_server.url + "/greet"
