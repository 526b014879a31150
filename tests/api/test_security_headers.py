"""Headers every answer carries (nosniff) and the login pages' form-action policy."""

from __future__ import annotations

import re

import httpx
import pytest

from keyhook.api.pages import form_source
from tests.support.api import Api
from tests.support.oidc import (
    OidcClient,
    authorize_url,
    code_tokens,
    create_client,
    create_user,
    login_page,
    pkce_pair,
    submit_login,
)
from tests.support.server import KeyhookServer


def form_action(response: httpx.Response) -> str:
    found = re.search(r"form-action ([^;]*)", response.headers["content-security-policy"])
    assert found, response.headers["content-security-policy"]
    return found.group(1).strip()


async def test_json_answers_say_nosniff(keyhook: KeyhookServer, http: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {keyhook.token}"}
    ok = await http.get("/v2/actions/executions/methods", headers=auth)
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/json"
    assert ok.headers["x-content-type-options"] == "nosniff"
    for path in ("/healthz", "/openapi.json", "/.well-known/openid-configuration"):
        assert (await http.get(path)).headers["x-content-type-options"] == "nosniff", path


async def test_error_answers_say_nosniff(keyhook: KeyhookServer, http: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {keyhook.token}"}
    replies = {
        "not found": await http.get("/v2/actions/targets/1234567890123456789", headers=auth),
        "unauthenticated": await http.get("/v2/actions/executions/methods"),
        "no such route": await http.get("/v2/no/such/thing"),
        "wrong method": await http.delete("/healthz"),
        "oauth error": await http.post("/oauth/v2/token", data={"grant_type": "password"}),
    }
    for what, reply in replies.items():
        assert reply.status_code >= 400, what
        assert reply.headers["x-content-type-options"] == "nosniff", what


async def test_login_page_allows_posting_only_to_itself_and_the_clients_origin(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api, redirect_uri="http://localhost:8765/app/callback?x=1")
    page = await login_page(http, authorize_url(keyhook.url, client))
    assert page.status_code == 200
    assert page.headers["x-content-type-options"] == "nosniff"
    assert form_action(page) == "'self' http://localhost:8765"
    # The page shown again after a wrong password carries the same policy.
    again = await submit_login(http, page, "nobody@example.com", "not the password")
    assert again.status_code == 401
    assert form_action(again) == "'self' http://localhost:8765"

    native = await native_client(api, "com.example.app:/oauth/callback")
    _, challenge = pkce_pair()
    url = authorize_url(keyhook.url, native, code_challenge=challenge, code_challenge_method="S256")
    page = await login_page(http, url)
    assert form_action(page) == "'self' com.example.app:"


async def native_client(api: Api, redirect_uri: str) -> OidcClient:
    project_id = (await api.post("/v2beta/projects", {"name": "native"})).ok()["id"]
    request = {
        "redirectUris": [redirect_uri],
        "grantTypes": ["OIDC_GRANT_TYPE_AUTHORIZATION_CODE"],
        "appType": "OIDC_APP_TYPE_NATIVE",
        "authMethodType": "OIDC_AUTH_METHOD_TYPE_NONE",
    }
    body = {"projectId": project_id, "name": "app", "oidcRequest": request}
    created = (await api.post("/v2beta/applications", body)).ok()
    client_id = created["oidcResponse"]["clientId"]
    return OidcClient(project_id, created["appId"], client_id, None, redirect_uri)


async def test_sign_out_confirmation_allows_the_post_logout_origin_only(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api, post_logout_uri="http://localhost:8766/bye")
    await code_tokens(http, keyhook.url, client, await create_user(api), "openid")
    # Signed in, no hint: the user is asked first, on a page whose form posts to
    # end_session, which then redirects to the client.
    page = await http.get(
        "/oidc/v1/end_session",
        params={
            "client_id": client.client_id,
            "post_logout_redirect_uri": "http://localhost:8766/bye",
        },
    )
    assert page.status_code == 200
    assert "Sign out?" in page.text
    assert form_action(page) == "'self' http://localhost:8766"
    plain = await http.get("/oidc/v1/end_session")
    assert form_action(plain) == "'self'"


@pytest.mark.parametrize(
    ("uri", "source"),
    [
        ("http://localhost:8765/cb", "http://localhost:8765"),
        ("https://Example.COM/cb", "https://example.com"),
        ("https://bücher.example/cb", "https://xn--bcher-kva.example"),  # CSP is ASCII
        ("https://my_app.example/cb", "https:"),  # CSP cannot spell "_": the scheme
        ("http://[::1]:8080/cb", "http:"),  # nor an IPv6 literal
        ("com.example.app:/cb", "com.example.app:"),
        ("", None),
    ],
)
def test_form_source_never_blocks_a_redirect_uri_that_was_accepted(
    uri: str, source: str | None
) -> None:
    assert form_source(uri) == source
