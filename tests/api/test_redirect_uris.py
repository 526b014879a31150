"""Redirect URIs through the applications API (issue 8, finding 14).

Schemes that run in the browser (``javascript:``, ``data:``, ``file:`` …) and
``user:password@`` are refused for every app type, native apps included, in
both ``redirectUris`` and ``postLogoutRedirectUris``; nothing is stored.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.support.api import Api

APPS = "/v2beta/applications"
TYPES = {
    "OIDC_APP_TYPE_WEB": "OIDC_AUTH_METHOD_TYPE_BASIC",
    "OIDC_APP_TYPE_USER_AGENT": "OIDC_AUTH_METHOD_TYPE_NONE",
    "OIDC_APP_TYPE_NATIVE": "OIDC_AUTH_METHOD_TYPE_NONE",
}
GOOD = "https://app.example.com/callback"
HOSTILE = [
    ("javascript:alert(document.cookie)", "never a redirect URI"),
    ("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "never a redirect URI"),
    ("file:///etc/passwd", "never a redirect URI"),
    ("vbscript:msgbox(1)", "never a redirect URI"),
    ("blob:https://app.example.com/0b2e", "never a redirect URI"),
    ("about:blank", "never a redirect URI"),
    ("https://user:pw@app.example.com/callback", "user information"),
    ("https://app.example.com@evil.example/callback", "user information"),
    ("http://user@127.0.0.1:3000/callback", "user information"),
]


@pytest.fixture(scope="module")
async def project(api: Api) -> str:
    created = (await api.post("/v2beta/projects", {"name": f"uris-{secrets.token_hex(3)}"})).ok()
    return str(created["id"])


def app(project: str, app_type: str, **oidc: Any) -> dict[str, Any]:
    return {
        "projectId": project,
        "name": f"app-{secrets.token_hex(3)}",
        "oidcRequest": {
            "appType": app_type,
            "authMethodType": TYPES[app_type],
            "redirectUris": [GOOD],
            **oidc,
        },
    }


async def app_count(api: Api, project: str) -> int:
    listed = (await api.post(APPS + "/search", {"projectId": project})).ok()
    return len(listed["applications"])


@pytest.mark.parametrize("app_type", TYPES)
@pytest.mark.parametrize("list_name", ["redirectUris", "postLogoutRedirectUris"])
@pytest.mark.parametrize(("uri", "words"), HOSTILE, ids=[u for u, _ in HOSTILE])
async def test_hostile_redirect_uris_are_refused_for_every_app_type(
    api: Api, project: str, app_type: str, list_name: str, uri: str, words: str
) -> None:
    before = await app_count(api, project)
    for dev_mode in (False, True):
        reply = await api.post(
            APPS, app(project, app_type, **{list_name: [GOOD, uri], "devMode": dev_mode})
        )
        assert reply.status == 400, reply.body
        field = f"oidcRequest.{list_name}[1]"
        assert reply.body["details"][0]["field"] == field
        assert reply.body["message"].startswith(f"{field}: ")
        assert words in reply.body["message"]
        assert "https://" in reply.body["details"][0]["allowed"]
    assert await app_count(api, project) == before


@pytest.mark.parametrize("uri", ["myapp:/callback", "ws://app.example.com/cb", "tel:+15551234"])
async def test_native_apps_need_a_reverse_dns_scheme(api: Api, project: str, uri: str) -> None:
    reply = await api.post(APPS, app(project, "OIDC_APP_TYPE_NATIVE", redirectUris=[uri]))
    assert reply.status == 400, reply.body
    assert "not a reverse-DNS name" in reply.body["message"]
    assert "com.example.app:/callback" in reply.body["details"][0]["allowed"]
    assert "RFC 8252" in reply.body["details"][0]["allowed"]


async def test_native_apps_keep_private_use_schemes_loopback_and_https(
    api: Api, project: str
) -> None:
    uris = ["com.example.app:/callback", "http://127.0.0.1:51004/cb", "http://[::1]/cb", GOOD]
    created = (
        await api.post(
            APPS,
            app(
                project,
                "OIDC_APP_TYPE_NATIVE",
                redirectUris=uris,
                postLogoutRedirectUris=["com.example.app:/signed-out"],
            ),
        )
    ).ok()
    config = (await api.get(f"{APPS}/{created['appId']}")).ok()["app"]["oidcConfig"]
    assert config["redirectUris"] == uris
    assert config["postLogoutRedirectUris"] == ["com.example.app:/signed-out"]
