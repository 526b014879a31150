"""The acceptance test of the OpenID Connect provider, with nothing simulated.

Authlib's OAuth client (a standard library, configured from the discovery
document) starts authorization code + PKCE; a real headless Chromium, driven by
Playwright, fills in the hosted login page by its labels and submits it; the
browser lands on the client's real callback server; Authlib exchanges the code;
PyJWT (an independent JOSE library) verifies the ID token against the published
JWKS. Skipped, saying why, where Chromium is not installed.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import jwt
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from playwright.async_api import Browser, expect

from tests.support.api import Api
from tests.support.oidc import create_client, create_user
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import KeyhookServer


async def signed_in_page(_: Received) -> Answer:
    return Answer(raw=b"<!doctype html><title>App</title><p>Signed in</p>")


async def test_authlib_and_chromium_complete_code_with_pkce(
    api: Api, keyhook: KeyhookServer, receiver: Receiver, browser: Browser
) -> None:
    callback = receiver.endpoint("/app/callback", signed_in_page)
    client = await create_client(api, redirect_uri=callback)
    user = await create_user(api, displayName="Ada Lovelace")
    async with httpx.AsyncClient() as http:
        discovery = (await http.get(f"{keyhook.url}/.well-known/openid-configuration")).json()
    assert discovery["issuer"] == keyhook.url

    oauth = AsyncOAuth2Client(
        client_id=client.client_id,
        client_secret=client.client_secret,
        scope="openid profile email",
        redirect_uri=callback,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(64)
    nonce = secrets.token_urlsafe(16)
    url, state = oauth.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )

    page = await browser.new_page()
    await page.goto(url)
    await expect(page).to_have_title("Sign in · Keyhook")
    # First a wrong password: the page says so in an alert tied to the fields.
    await page.get_by_label("User name").fill(user.login)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "The user name or password is not correct."
    )
    await expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    # Then the right one: the browser lands on the application's callback.
    await page.get_by_label("Password").fill(user.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{callback}?**")
    await expect(page.get_by_text("Signed in")).to_be_visible()
    returned = page.url
    assert receiver.on("/app/callback"), "the callback server saw no request"

    token: dict[str, Any] = await oauth.fetch_token(
        discovery["token_endpoint"],
        authorization_response=returned,
        code_verifier=verifier,
        state=state,
    )
    assert token["token_type"].lower() == "bearer"

    jwks = jwt.PyJWKClient(discovery["jwks_uri"])
    signing_key = jwks.get_signing_key_from_jwt(token["id_token"])
    claims = jwt.decode(
        token["id_token"],
        signing_key.key,
        algorithms=discovery["id_token_signing_alg_values_supported"],
        audience=client.client_id,
        issuer=discovery["issuer"],
    )
    assert claims["sub"] == user.user_id
    assert claims["nonce"] == nonce
    assert claims["azp"] == client.client_id
    assert claims["email"] == user.email
    assert claims["name"] == "Ada Lovelace"
    assert claims["given_name"] == "Ada"
    assert claims["preferred_username"] == user.login
    assert isinstance(claims["auth_time"], int)
    assert jwt.get_unverified_header(token["id_token"])["kid"] == signing_key.key_id

    oauth.token = token
    info = await oauth.get(discovery["userinfo_endpoint"])
    assert info.status_code == 200
    assert info.json()["sub"] == user.user_id
    await oauth.aclose()

    # Single sign-on: the same browser, asked again, goes straight back with a code.
    again = AsyncOAuth2Client(
        client_id=client.client_id,
        client_secret=client.client_secret,
        scope="openid",
        redirect_uri=callback,
        code_challenge_method="S256",
    )
    second_verifier = generate_token(64)
    second_url, second_state = again.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=second_verifier
    )
    await page.goto(second_url)
    await page.wait_for_url(f"{callback}?**")
    second = await again.fetch_token(
        discovery["token_endpoint"],
        authorization_response=page.url,
        code_verifier=second_verifier,
        state=second_state,
    )
    second_claims = jwt.decode(second["id_token"], options={"verify_signature": False})
    assert second_claims["sub"] == user.user_id
    assert second_claims["auth_time"] == claims["auth_time"]
    await again.aclose()
