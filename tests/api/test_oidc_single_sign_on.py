"""Single sign-on: a browser that signed in on the login page is not asked again,
within the login lifetime, unless the client says so (prompt=login, max_age)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest

from tests.support.api import Api
from tests.support.oidc import (
    OidcClient,
    authorize_url,
    callback_params,
    code_tokens,
    create_client,
    create_user,
    login_page,
    pkce_pair,
    submit_login,
    token_request,
)
from tests.support.server import KeyhookServer


@pytest.fixture
async def browser_like(keyhook: KeyhookServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that keeps cookies, as a browser does."""
    async with httpx.AsyncClient(base_url=keyhook.url) as client:
        yield client


async def _tokens(
    http: httpx.AsyncClient, client: OidcClient, params: dict[str, str], verifier: str
) -> dict[str, str]:
    reply = await token_request(
        http,
        client,
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": client.redirect_uri,
            "code_verifier": verifier,
        },
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, str] = reply.json()
    return body


def _claims(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return claims


async def test_a_second_application_reuses_the_sign_in(
    api: Api, keyhook: KeyhookServer, browser_like: httpx.AsyncClient
) -> None:
    first, second = await create_client(api), await create_client(api)
    user = await create_user(api)
    page = await login_page(browser_like, authorize_url(keyhook.url, first))
    signed_in = await submit_login(browser_like, page, user.login, user.password)
    cookie = signed_in.headers["set-cookie"].lower()
    assert "keyhook_session=" in cookie and "httponly" in cookie and "path=/" in cookie

    verifier, challenge = pkce_pair()
    at_once = await browser_like.get(
        authorize_url(keyhook.url, second, code_challenge=challenge, code_challenge_method="S256")
    )
    assert at_once.status_code == 302
    assert at_once.headers["location"].startswith(second.redirect_uri)
    tokens = await _tokens(browser_like, second, callback_params(at_once), verifier)
    id_claims = _claims(tokens["id_token"])
    assert id_claims["sub"] == user.user_id
    # auth_time is when the password was checked, not when the sign-in was reused.
    first_code = callback_params(signed_in)["code"]
    first_tokens = await token_request(
        browser_like,
        first,
        {
            "grant_type": "authorization_code",
            "code": first_code,
            "redirect_uri": first.redirect_uri,
        },
    )
    assert _claims(first_tokens.json()["id_token"])["auth_time"] == id_claims["auth_time"]
    assert id_claims["sid"] == _claims(first_tokens.json()["id_token"])["sid"]


async def test_prompt_login_and_max_age_ask_again(
    api: Api, keyhook: KeyhookServer, browser_like: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    page = await login_page(browser_like, authorize_url(keyhook.url, client))
    await submit_login(browser_like, page, user.login, user.password)
    for params in ({"prompt": "login"}, {"max_age": "0"}):
        again = await browser_like.get(authorize_url(keyhook.url, client, **params))
        assert again.status_code == 302
        assert again.headers["location"].startswith("/ui/login"), params
    reused = await browser_like.get(authorize_url(keyhook.url, client, max_age="3600"))
    assert reused.headers["location"].startswith(client.redirect_uri)
    bad = await browser_like.get(authorize_url(keyhook.url, client, max_age="soon"))
    assert callback_params(bad)["error"] == "invalid_request"


async def test_prompt_none_answers_without_a_page(
    api: Api, keyhook: KeyhookServer, browser_like: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    without = await browser_like.get(authorize_url(keyhook.url, client, prompt="none"))
    assert callback_params(without)["error"] == "login_required"
    page = await login_page(browser_like, authorize_url(keyhook.url, client))
    await submit_login(browser_like, page, user.login, user.password)
    silent = await browser_like.get(authorize_url(keyhook.url, client, prompt="none"))
    assert "code" in callback_params(silent)


async def test_signing_out_or_a_lock_ends_single_sign_on(
    api: Api, keyhook: KeyhookServer, browser_like: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    page = await login_page(browser_like, authorize_url(keyhook.url, client))
    await submit_login(browser_like, page, user.login, user.password)
    # Without an ID token hint the user confirms: a link alone signs nobody out.
    asked = await browser_like.get("/oidc/v1/end_session", params={"state": "s1"})
    assert asked.status_code == 200 and "Sign out?" in asked.text
    still = await browser_like.get(authorize_url(keyhook.url, client))
    assert still.headers["location"].startswith(client.redirect_uri)
    forged = await browser_like.post("/oidc/v1/end_session", data={"csrf": "0" * 64})
    assert forged.status_code == 403
    csrf = re.search(r'name="csrf" value="([^"]+)"', asked.text)
    assert csrf is not None
    signed_out = await browser_like.post("/oidc/v1/end_session", data={"csrf": csrf.group(1)})
    assert signed_out.status_code == 200
    assert "You are signed out." in signed_out.text
    assert 'keyhook_session=""' in signed_out.headers["set-cookie"]
    assert (
        (await browser_like.get(authorize_url(keyhook.url, client)))
        .headers["location"]
        .startswith("/ui/login")
    )

    page = await login_page(browser_like, authorize_url(keyhook.url, client))
    await submit_login(browser_like, page, user.login, user.password)
    (await api.post(f"/v2/users/{user.user_id}/lock")).ok()
    assert (
        (await browser_like.get(authorize_url(keyhook.url, client)))
        .headers["location"]
        .startswith("/ui/login")
    )


async def test_prompt_none_with_another_value_is_refused(
    api: Api, keyhook: KeyhookServer, browser_like: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    reply = await browser_like.get(authorize_url(keyhook.url, client, prompt="none login"))
    assert callback_params(reply)["error"] == "invalid_request"
    assert reply.headers["cache-control"] == "no-store"


async def test_redirects_that_carry_a_code_are_not_cached(
    api: Api, keyhook: KeyhookServer, browser_like: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    page = await login_page(browser_like, authorize_url(keyhook.url, client))
    signed_in = await submit_login(browser_like, page, user.login, user.password)
    assert signed_in.headers["cache-control"] == "no-store"
    again = await browser_like.get(authorize_url(keyhook.url, client))
    assert "code" in callback_params(again)
    assert again.headers["cache-control"] == "no-store"


async def test_someone_elses_token_as_hint_signs_nobody_out(
    api: Api, keyhook: KeyhookServer, browser_like: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    victim, attacker = await create_user(api), await create_user(api)
    async with httpx.AsyncClient(base_url=keyhook.url) as attacker_browser:
        attacker_tokens = await code_tokens(
            attacker_browser, keyhook.url, client, attacker, "openid"
        )
    page = await login_page(browser_like, authorize_url(keyhook.url, client))
    await submit_login(browser_like, page, victim.login, victim.password)

    # An access token is not an ID token, however it is signed.
    as_hint = await browser_like.get(
        "/oidc/v1/end_session", params={"id_token_hint": attacker_tokens["access_token"]}
    )
    assert as_hint.status_code == 400
    assert "not an ID token" in as_hint.text
    # The attacker's own ID token: the victim is asked, not signed out.
    linked = await browser_like.get(
        "/oidc/v1/end_session", params={"id_token_hint": attacker_tokens["id_token"]}
    )
    assert linked.status_code == 200 and "Sign out?" in linked.text
    assert "set-cookie" not in linked.headers
    still = await browser_like.get(authorize_url(keyhook.url, client))
    assert still.headers["location"].startswith(client.redirect_uri)


async def test_a_required_password_change_is_not_skipped_by_single_sign_on(
    api: Api, keyhook: KeyhookServer, browser_like: httpx.AsyncClient
) -> None:
    """An administrator resets a signed-in user's password with changeRequired: the
    browser's earlier sign-in no longer gets codes; the login page asks first."""
    client = await create_client(api)
    user = await create_user(api)
    page = await login_page(browser_like, authorize_url(keyhook.url, client))
    await submit_login(browser_like, page, user.login, user.password)
    reused = await browser_like.get(authorize_url(keyhook.url, client))
    assert reused.status_code == 302
    assert reused.headers["location"].startswith(client.redirect_uri), "signed in: no page"
    reset = {"newPassword": {"password": "a temporary one", "changeRequired": True}}
    (await api.post(f"/v2/users/{user.user_id}/password", reset)).ok()
    again = await login_page(browser_like, authorize_url(keyhook.url, client))
    assert again.status_code == 200
    assert "<h1>Sign in</h1>" in again.text
    changing = await submit_login(browser_like, again, user.login, "a temporary one")
    assert changing.status_code == 200
    assert "<h1>Set a new password</h1>" in changing.text
