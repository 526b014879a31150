"""Hostile and malformed requests to the OIDC endpoints: a clear 4xx, never a 5xx.

The API's own operations are fuzzed from /openapi.json; these endpoints are not
in it (they speak OAuth, not the API's JSON), so their bad inputs are listed here.
"""

from __future__ import annotations

import httpx
import pytest

from tests.support.api import Api
from tests.support.oidc import authorize_url, create_client, create_user, submit_login
from tests.support.server import KeyhookServer

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CASES: list[tuple[str, str, dict[str, str], bytes | None]] = [
    ("POST", "/oauth/v2/token", FORM, b"grant_type=authorization_code&code=%00"),
    ("POST", "/oauth/v2/token", FORM, b"grant_type=refresh_token&refresh_token=" + b"A" * 9000),
    ("POST", "/oauth/v2/token", FORM, b"grant_type=x&grant_type=y"),
    ("POST", "/oauth/v2/token", FORM, b"\xff\xfe\xfd"),
    ("POST", "/oauth/v2/token", FORM, b"a" * 70_000),
    ("POST", "/oauth/v2/token", {"Content-Type": "application/json"}, b'{"grant_type":1}'),
    ("POST", "/oauth/v2/token", {**FORM, "Authorization": "Basic !!!"}, b"grant_type=x"),
    ("POST", "/oauth/v2/token", {**FORM, "Authorization": "Basic Og=="}, b"grant_type=x"),
    ("POST", "/oauth/v2/token", {**FORM, "Authorization": "Basic /w=="}, b"grant_type=x"),
    (
        "POST",
        "/oauth/v2/token",
        FORM,
        b"grant_type=client_credentials&client_id=%00&client_secret=x",
    ),
    ("POST", "/oauth/v2/token", FORM, b""),
    ("GET", "/oauth/v2/token", {}, None),
    ("POST", "/oauth/v2/introspect", FORM, b"token=x"),
    ("POST", "/oauth/v2/introspect", FORM, b"token=x&client_id=nobody&client_secret=y"),
    ("POST", "/oauth/v2/revoke", FORM, b"token=%00&client_id=x"),
    ("POST", "/oauth/v2/revoke", FORM, b""),
    ("GET", "/oidc/v1/userinfo", {"Authorization": "Bearer a.b.c"}, None),
    ("GET", "/oidc/v1/userinfo", {"Authorization": "Bearer kha_%00"}, None),
    ("GET", "/oidc/v1/userinfo", {"Authorization": "Bearer " + "x" * 5000}, None),
    ("GET", "/oidc/v1/userinfo", {"Authorization": "Basic abc"}, None),
    ("GET", "/oidc/v1/end_session?id_token_hint=not.a.jwt", {}, None),
    ("GET", "/oidc/v1/end_session?post_logout_redirect_uri=https://evil.example.com", {}, None),
    ("GET", "/oidc/v1/end_session?state=%00", {}, None),
    ("GET", "/oauth/v2/authorize", {}, None),
    ("GET", "/oauth/v2/authorize?client_id=%00", {}, None),
    ("GET", "/oauth/v2/authorize?client_id=a&client_id=b", {}, None),
    ("GET", "/oauth/v2/authorize?client_id=" + "9" * 5000, {}, None),
    ("POST", "/oauth/v2/authorize", {"Content-Type": "text/plain"}, b"client_id=x"),
    ("GET", "/ui/login", {}, None),
    ("GET", "/ui/login?authRequest=%00", {}, None),
    ("GET", "/ui/login?authRequest=99999999999999999999999", {}, None),
    ("POST", "/ui/login", FORM, b"authRequest=1&csrf=x&loginName=a&password=b"),
    ("POST", "/ui/login", FORM, b"loginName=%00"),
    ("POST", "/ui/login", {"Content-Type": "multipart/form-data; boundary=x"}, b"--x--"),
]


@pytest.mark.parametrize(("method", "path", "headers", "body"), CASES)
async def test_hostile_oidc_request_gets_a_clear_client_error(
    http: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], body: bytes | None
) -> None:
    reply = await http.request(method, path, headers=headers, content=body)
    assert 400 <= reply.status_code < 500 or reply.status_code == 200, (
        reply.status_code,
        reply.text[:300],
    )
    if (
        reply.headers.get("content-type", "").startswith("application/json")
        and reply.status_code != 200
    ):
        body_json = reply.json()
        described = body_json.get("error_description") or body_json.get("message")
        assert described, body_json


async def test_login_page_post_with_a_wrong_csrf_field_is_refused(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    page_reply = await http.get(authorize_url(keyhook.url, client))
    login = await http.get(page_reply.headers["location"])
    auth_request = login.url.params["authRequest"]
    forged = await http.post(
        "/ui/login",
        data={"authRequest": auth_request, "csrf": "0" * 64, "loginName": "a", "password": "b"},
    )
    assert forged.status_code == 403
    assert "CSRF" in forged.text


async def test_only_the_browser_that_started_a_sign_in_may_finish_it(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    """Login CSRF (RFC 6749 §10.12): an attacker who learns a victim's pending request id
    must not finish it with the attacker's own account."""
    client = await create_client(api)
    victim_user, attacker_user = await create_user(api), await create_user(api)
    started = await http.get(authorize_url(keyhook.url, client))  # the victim's browser
    location = started.headers["location"]
    assert "keyhook_ar_" in started.headers["set-cookie"]
    auth_request = location.split("authRequest=", 1)[1]
    async with httpx.AsyncClient(base_url=keyhook.url) as attacker:
        page = await attacker.get(location)
        assert page.status_code == 403
        assert "not started in this browser" in page.text
        # Not even with a CSRF pair of the attacker's own making.
        attacker.cookies.set("keyhook_csrf", "attacker", path="/ui/login")
        posted = await attacker.post(
            "/ui/login",
            data={
                "authRequest": auth_request,
                "csrf": "0" * 64,
                "loginName": attacker_user.login,
                "password": attacker_user.password,
            },
        )
        assert posted.status_code == 403
        # An id that does not exist reads the same: nothing to probe.
        unknown = await attacker.get("/ui/login?authRequest=1234567890123456789")
        assert unknown.status_code == 403 and unknown.text == page.text
    victim_page = await http.get(location)
    finished = await submit_login(http, victim_page, victim_user.login, victim_user.password)
    assert finished.status_code == 303


@pytest.mark.parametrize("path", ["/oauth/v2/introspect", "/oauth/v2/revoke", "/oauth/v2/token"])
async def test_a_client_id_beyond_ascii_gets_a_clean_401(
    http: httpx.AsyncClient, path: str
) -> None:
    reply = await http.post(
        path,
        data={
            "token": "x",
            "client_id": "日本\r\nX-Injected: yes",
            "grant_type": "authorization_code",
            "code": "x",
        },
    )
    assert reply.status_code == 401
    assert reply.json()["error"] == "invalid_client"
    assert "日本" in reply.json()["error_description"]  # the body keeps the words
    header = reply.headers["www-authenticate"]
    assert header.isascii() and "\r" not in header and "\n" not in header
    assert "x-injected" not in reply.headers
