"""The console's API reference (issue 12): the OpenAPI document the server serves,
rendered as a page. In-process, against the registry the server builds: every
operation is on it with its routes and permission, every link inside the page
lands on an element of it, the filter narrows by name, path and permission. In
Chromium: the filter finds CreateTarget with its permission and request fields, the
anchors work, the marks follow the person's roles, axe-core finds no serious or
critical violation."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from keyhook.api.openapi import build_openapi
from keyhook.api.registry import Registry
from keyhook.api.server import build_registry
from keyhook.bootstrap import assemble
from keyhook.config import from_environment
from keyhook.console.app import templates
from keyhook.console.reference import Reference, operation_anchor, read_document, render_body
from tests.support.api import Api, serving
from tests.support.console import screenshot, serious_violations, sign_in
from tests.support.server import KeyhookServer

ADMIN = "keyhook-admin@keyhook.localhost"
NEW_PASSWORD = "console reference password"
CREATE_TARGET = "/zitadel.action.v2.ActionService/CreateTarget"
CREATE_TARGET_V2BETA = "/zitadel.action.v2beta.ActionService/CreateTarget"


class _Page(HTMLParser):
    """The ids, the in-page links and the operations' articles of a rendered page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.links: list[str] = []
        self.articles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(str(found["id"]))
            if tag == "article":
                self.articles.append(str(found["id"]))
        href = found.get("href") or ""
        if tag == "a" and href.startswith("#"):
            self.links.append(href[1:])


def _parsed(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
async def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    core = await assemble(from_environment({}, data_dir=tmp_path_factory.mktemp("reference")))
    try:
        return build_registry(core)
    finally:
        await core.stop()


@pytest.fixture(scope="module")
def reference(registry: Registry) -> Reference:
    return read_document(build_openapi(registry))


def _article(html: str, anchor: str) -> str:
    start = html.index(f'<article class="operation" id="{anchor}"')
    return html[start : html.index("</article>", start)]


def test_every_operation_of_the_registry_is_on_the_page(
    registry: Registry, reference: Reference
) -> None:
    html = str(render_body(reference, templates(), frozenset(), ""))
    page = _parsed(html)
    assert sorted(page.articles) == sorted(operation_anchor(op.full_method) for op in registry)
    for op in registry:
        article = _article(html, operation_anchor(op.full_method))
        assert op.full_method in article
        assert op.summary in unescape(article)
        assert f"needs <code>{op.permission}</code>" in article
        if op.org_permission:
            assert f"or <code>{op.org_permission}</code> of an organization" in article
        for verb, path in op.routes:
            assert re.search(
                rf'<span class="verb">{verb}</span> <code>{re.escape(path)}</code>', article
            )
        assert f'<span class="verb">POST</span> <code>{op.full_method}</code>' in article
        assert "you don't" in article  # nothing was allowed
        assert ("never wrapped" in article) == op.recovery
    for service in registry.services():
        assert f'href="#service-{service}"' in html
    # The page's every in-page link (schemas, permalinks, the index) lands on it; no id
    # is given twice.
    assert set(page.links) <= set(page.ids)
    assert len(page.ids) == len(set(page.ids))


def test_the_filter_narrows_by_name_path_and_permission(
    registry: Registry, reference: Reference
) -> None:
    env = templates()
    by_name = _parsed(str(render_body(reference, env, frozenset(), "CreateTarget")))
    # v2 and its v2beta twin (ZITADEL's published version), v2 first.
    assert by_name.articles == [
        operation_anchor(CREATE_TARGET),
        operation_anchor(CREATE_TARGET_V2BETA),
    ]
    by_permission = _parsed(str(render_body(reference, env, frozenset(), "action.target.write")))
    assert sorted(by_permission.articles) == sorted(
        operation_anchor(op.full_method)
        for op in registry
        if "action.target.write" in (op.permission, op.org_permission)
    )
    by_path = _parsed(str(render_body(reference, env, frozenset(), "/v2/users/{userId}/lock")))
    assert by_path.articles == [operation_anchor("/zitadel.user.v2.UserService/LockUser")]
    # Several words: each must match.
    both = _parsed(str(render_body(reference, env, frozenset(), "  user.write   POST lock ")))
    assert operation_anchor("/zitadel.user.v2.UserService/LockUser") in both.articles
    assert operation_anchor("/zitadel.user.v2.UserService/GetUserByID") not in both.articles
    # A filtered page still links only to what it holds (the schemas its operations use).
    assert set(by_name.links) <= set(by_name.ids)
    assert "schema-InterruptOption" in by_name.ids
    assert "schema-HumanUser" not in by_name.ids
    nothing = str(render_body(reference, env, frozenset(), "no-such-operation"))
    assert "No operation matches “no-such-operation”" in nothing
    # The filter's text is shown back escaped.
    hostile = str(render_body(reference, env, frozenset(), '"><script>alert(1)</script>'))
    assert "<script>" not in hostile
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile


def test_the_request_fields_are_readable_with_nested_members(reference: Reference) -> None:
    html = str(render_body(reference, templates(), frozenset({CREATE_TARGET}), "CreateTarget"))
    article = _article(html, operation_anchor(CREATE_TARGET))
    assert "you have this" in article
    rows = re.findall(
        r'<tr class="depth-(\d)">\s*<td><code class="field">(.*?)</code></td>'
        r"\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>",
        article,
        re.S,
    )
    fields = {row[1].replace("<wbr>", ""): (int(row[0]), *row[2:]) for row in rows}
    for required in ("name", "endpoint", "timeout"):
        assert fields[required][0] == 0 and "required" in fields[required][2]
    assert (
        fields["restWebhook"][1] == '<a href="#schema-InterruptOption">InterruptOption</a> or null'
    )
    assert fields["restWebhook.interruptOnError"][:2] == (1, "boolean")
    assert "optional" in fields["headers"][2]
    # The member's description from the message model, then its limits.
    assert fields["timeout"][3] == (
        '<span class="description">how long one call may take, such as &#34;10s&#34;: more '
        'than 0, at most 270s</span><span class="limits">at most 40 characters</span>'
    )
    # An enum's values, and an array of objects' members under ``[]``.
    add = str(render_body(reference, templates(), frozenset(), "AddHumanUser"))
    assert '<code class="field">user.<wbr>metadata[].<wbr>key</code>' in add
    tokens = str(render_body(reference, templates(), frozenset(), "ListPersonalAccessTokens"))
    assert "one of PERSONAL_ACCESS_TOKEN_FIELD_NAME_UNSPECIFIED" in tokens


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[KeyhookServer, Api]]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("console-reference")))
    async with serving(server) as api:
        yield server, api


async def test_the_administrator_finds_create_target(
    own: tuple[KeyhookServer, Api], browser: Browser
) -> None:
    server, _ = own
    anonymous = await browser.new_context()
    reply = await anonymous.request.get(f"{server.url}/ui/console/api", max_redirects=0)
    assert reply.status == 303
    assert "/ui/console/signin" in reply.headers["location"]
    await anonymous.close()

    context = await browser.new_context(viewport={"width": 1100, "height": 800})
    page = await context.new_page()
    initial = (server.data_dir / "admin-password").read_text().strip()
    await sign_in(page, server.url, ADMIN, initial, NEW_PASSWORD)
    await page.get_by_role("link", name="API reference").click()
    await expect(page).to_have_title("API reference · Keyhook console")
    # The page is long (some 90 operations): count once it has all arrived, not while
    # the browser is still parsing it.
    await page.wait_for_load_state("load")
    operations = page.locator("article.operation")
    total = await operations.count()
    assert total > 50
    await expect(page.locator("p.count")).to_contain_text(
        f"{total} of {total} operations; you may call {total} of those shown"
    )
    assert await serious_violations(page) == []
    # The raw document: the one /openapi.json serves, with every operation on the page.
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download the OpenAPI document (JSON)").click()
    saved = await (await download.value).path()
    document = Path(saved).read_text()
    assert document == await (await context.request.get(f"{server.url}/openapi.json")).text()

    await page.get_by_label("Method, path or permission").fill("CreateTarget")
    await page.get_by_role("button", name="Filter").click()
    await expect(operations).to_have_count(2)  # v2's and v2beta's, v2 first
    assert "q=CreateTarget" in page.url
    article = operations.first
    await expect(article.get_by_role("heading", level=3)).to_have_text("CreateTarget")
    await expect(article.locator("code.full-method")).to_have_text(CREATE_TARGET)
    await expect(article.locator("dd.permission")).to_contain_text("needs action.target.write")
    await expect(article.locator("dd.permission")).to_contain_text("you have this")
    for name in ("name", "endpoint", "timeout"):
        row = article.get_by_role("row").filter(has=page.get_by_role("cell", name=name, exact=True))
        await expect(row).to_contain_text("required")
    await expect(
        article.get_by_role("row").filter(
            has=page.get_by_role("cell", name="restWebhook.interruptOnError", exact=True)
        )
    ).to_contain_text("boolean")
    assert await serious_violations(page) == []
    await screenshot(page, "api-reference")

    # A field's type links to its schema, further down the page.
    await article.get_by_role("link", name="InterruptOption").first.click()
    assert page.url.endswith("#schema-InterruptOption")
    await expect(page.locator("#schema-InterruptOption")).to_be_in_viewport()
    await expect(page.locator("#schema-InterruptOption")).to_contain_text("interruptOnError")
    # The permalink, opened afresh on the whole page, scrolls to the operation.
    await article.get_by_role("link", name="Permalink to CreateTarget").click()
    anchor = operation_anchor(CREATE_TARGET)
    assert page.url.endswith(f"#{anchor}")
    await page.goto(f"{server.url}/ui/console/api#{anchor}")
    await expect(operations).to_have_count(total)
    await expect(page.locator(f'[id="{anchor}"]')).to_be_in_viewport()
    # The index of services leads to a service's section.
    await (
        page.get_by_role("navigation", name="Services")
        .get_by_role("link", name="zitadel.user.v2.UserService")
        .click()
    )
    await expect(page.locator('[id="service-zitadel.user.v2.UserService"] h2')).to_be_in_viewport()
    await context.close()


async def test_the_marks_follow_the_roles_in_a_narrow_window(
    own: tuple[KeyhookServer, Api], browser: Browser
) -> None:
    """An on-call person (deliveries read) may read deliveries, not create targets."""
    server, api = own
    email = "on-call-reference@example.com"
    password = "on call reference password"
    user_id = (await api.add_user(email, userName=email, password={"password": password})).ok()[
        "userId"
    ]
    body = {"userId": user_id, "resource": {"instance": True}, "roles": ["IAM_DELIVERY_VIEWER"]}
    (await api.post("/v2/administrators", body)).ok()
    context = await browser.new_context(viewport={"width": 380, "height": 800})
    page = await context.new_page()
    await sign_in(page, server.url, email, password)
    await page.goto(f"{server.url}/ui/console/api?q=action.delivery.read")
    articles = page.locator("article.operation")
    assert await articles.count() >= 1
    await expect(articles.locator("dd.permission").filter(has_text="you don't")).to_have_count(0)
    await page.goto(f"{server.url}/ui/console/api?q=CreateTarget")
    await expect(articles).to_have_count(2)  # v2's and v2beta's
    await expect(articles.locator("dd.permission").filter(has_text="you don't")).to_have_count(2)
    await expect(page.locator("p.count")).to_contain_text("you may call 0 of those shown")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert await serious_violations(page) == []
    # The whole document, too, keeps to the width (wide tables scroll in their boxes).
    await page.goto(f"{server.url}/ui/console/api")
    await expect(page.get_by_role("heading", name="Schemas")).to_be_attached()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert await serious_violations(page) == []
    await context.close()
