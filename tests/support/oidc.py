"""OpenID Connect test helpers: clients, users, and the login form without a browser.

``sign_in`` drives the hosted login page the way a browser does (GET the page,
keep its cookie, post the form with the hidden fields) with httpx, for the many
tests that are about tokens, not about the page. The browser test drives the
same page with a real Chromium.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.support.api import Api

REDIRECT_URI = "http://127.0.0.1:9/callback"  # loopback: allowed over http; never opened


@dataclass(frozen=True)
class OidcClient:
    project_id: str
    app_id: str
    client_id: str
    client_secret: str | None
    redirect_uri: str


@dataclass(frozen=True)
class OidcUser:
    user_id: str
    login: str
    password: str
    email: str


async def create_client(
    api: Api,
    *,
    public: bool = False,
    redirect_uri: str = REDIRECT_URI,
    access_token_type: str = "OIDC_TOKEN_TYPE_JWT",
    refresh: bool = True,
    post_logout_uri: str = "http://127.0.0.1:9/signed-out",
    id_token_alg: str | None = None,
) -> OidcClient:
    project_id = (
        await api.post("/v2beta/projects", {"name": f"oidc-{secrets.token_hex(4)}"})
    ).ok()["id"]
    grants = ["OIDC_GRANT_TYPE_AUTHORIZATION_CODE"]
    if refresh:
        grants.append("OIDC_GRANT_TYPE_REFRESH_TOKEN")
    request: dict[str, Any] = {
        "redirectUris": [redirect_uri],
        "postLogoutRedirectUris": [post_logout_uri],
        "grantTypes": grants,
        "accessTokenType": access_token_type,
        "devMode": True,
    }
    if id_token_alg is not None:
        request["idTokenSignedResponseAlg"] = id_token_alg
    if public:
        request |= {
            "appType": "OIDC_APP_TYPE_USER_AGENT",
            "authMethodType": "OIDC_AUTH_METHOD_TYPE_NONE",
        }
    created = (
        await api.post(
            "/v2beta/applications",
            {"projectId": project_id, "name": "app", "oidcRequest": request},
        )
    ).ok()
    response = created["oidcResponse"]
    return OidcClient(
        project_id,
        created["appId"],
        response["clientId"],
        response.get("clientSecret"),
        redirect_uri,
    )


async def create_user(api: Api, **profile: str) -> OidcUser:
    login = f"oidc-{secrets.token_hex(4)}@example.com"
    password = "Correct horse 42!"
    reply = await api.add_user(
        login,
        password={"password": password},
        profile={"givenName": "Ada", "familyName": "Lovelace", **profile},
    )
    return OidcUser(reply.ok()["userId"], login, password, login)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(base: str, client: OidcClient, **params: str) -> str:
    query = {
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "response_type": "code",
        "scope": "openid profile email",
        "state": secrets.token_urlsafe(8),
        **params,
    }
    return f"{base}/oauth/v2/authorize?{urlencode(query)}"


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name} in the login page"
    return found.group(1)


async def login_page(http: httpx.AsyncClient, url: str) -> httpx.Response:
    """Follow /authorize to the login page (or to the client, for an error redirect)."""
    reply = await http.get(url)
    if reply.status_code == 302 and reply.headers["location"].startswith("/ui/login"):
        return await http.get(reply.headers["location"])
    return reply


async def submit_login(
    http: httpx.AsyncClient, page: httpx.Response, login: str, password: str
) -> httpx.Response:
    html = page.text
    return await http.post(
        "/ui/login",
        data={
            "authRequest": _hidden(html, "authRequest"),
            "csrf": _hidden(html, "csrf"),
            "loginName": login,
            "password": password,
        },
    )


def callback_params(reply: httpx.Response) -> dict[str, str]:
    assert reply.status_code in (302, 303), (reply.status_code, reply.text[:500])
    query = parse_qs(urlsplit(reply.headers["location"]).query)
    return {k: v[0] for k, v in query.items()}


async def sign_in(
    http: httpx.AsyncClient, base: str, client: OidcClient, user: OidcUser, **params: str
) -> dict[str, str]:
    """The whole front channel: the callback's query (code and state).

    ``prompt=login`` unless ``params`` say otherwise: ``user`` signs in on the page even
    if the browser (``http``, with its cookies) signed in before, so the code is
    always ``user``'s. Single sign-on has its own tests.
    """
    page = await login_page(http, authorize_url(base, client, **{"prompt": "login", **params}))
    assert page.status_code == 200, page.text[:500]
    return callback_params(await submit_login(http, page, user.login, user.password))


async def token_request(
    http: httpx.AsyncClient, client: OidcClient, data: dict[str, str], *, basic: bool = True
) -> httpx.Response:
    if client.client_secret is not None and basic:
        return await http.post(
            "/oauth/v2/token", data=data, auth=(client.client_id, client.client_secret)
        )
    form = {"client_id": client.client_id, **data}
    if client.client_secret is not None:
        form["client_secret"] = client.client_secret
    return await http.post("/oauth/v2/token", data=form)


async def exchange(
    http: httpx.AsyncClient, base: str, client: OidcClient, user: OidcUser, scope: str
) -> httpx.Response:
    """Sign in with PKCE and exchange the code: the token endpoint's raw reply."""
    verifier, challenge = pkce_pair()
    params = await sign_in(
        http,
        base,
        client,
        user,
        scope=scope,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    return await token_request(
        http,
        client,
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": client.redirect_uri,
            "code_verifier": verifier,
        },
    )


async def code_tokens(
    http: httpx.AsyncClient, base: str, client: OidcClient, user: OidcUser, scope: str
) -> dict[str, Any]:
    """Sign in with PKCE and exchange the code: the token response."""
    reply = await exchange(http, base, client, user, scope)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body
