"""The hosted login page without a browser: lockout through session checks, CSRF,
expiry, and the markup assistive technology relies on."""

from __future__ import annotations

import re
import secrets

import httpx

from tests.support.api import Api
from tests.support.oidc import authorize_url, create_client, create_user, login_page, submit_login
from tests.support.server import KeyhookServer


async def test_wrong_passwords_on_the_page_lock_the_user(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    page = await login_page(http, authorize_url(keyhook.url, client))
    for _ in range(5):
        page = await submit_login(http, page, user.login, "wrong password")
        assert page.status_code == 401
        assert "The user name or password is not correct." in page.text
    got = (await api.get(f"/v2/users/{user.user_id}")).ok()["user"]
    assert got["state"] == "USER_STATE_LOCKED"
    # Only someone who knows the password learns that the account is locked.
    guessed = await submit_login(http, page, user.login, "another guess")
    assert guessed.status_code == 401
    assert "The user name or password is not correct." in guessed.text
    locked = await submit_login(http, page, user.login, user.password)
    assert locked.status_code == 403
    assert "This account is locked" in locked.text
    events = (
        await api.post(
            "/v2/events/search", {"aggregateId": user.user_id, "eventTypes": ["user.locked"]}
        )
    ).ok()["events"]
    assert events[0]["eventData"]["reason"] == "Too many failed login attempts"


async def test_unknown_user_reads_like_a_wrong_password(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    page = await login_page(http, authorize_url(keyhook.url, client))
    reply = await submit_login(http, page, "nobody@example.com", "whatever it is")
    assert reply.status_code == 401
    assert "The user name or password is not correct." in reply.text


async def test_page_markup_is_labelled_and_protected(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    page = await login_page(http, authorize_url(keyhook.url, client))
    html = page.text
    assert '<html lang="en">' in html
    for field, autocomplete in (("loginName", "username"), ("password", "current-password")):
        assert f'<label for="{field}">' in html
        assert re.search(rf'id="{field}"[^>]*autocomplete="{autocomplete}"', html)
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    cookie = page.headers["set-cookie"].lower()
    assert "keyhook_csrf=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    failed = await submit_login(http, page, "nobody@example.com", "x")
    assert 'role="alert"' in failed.text
    assert 'aria-describedby="login-error" aria-invalid="true"' in failed.text


async def test_a_used_sign_in_request_cannot_be_submitted_again(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)
    page = await login_page(http, authorize_url(keyhook.url, client))
    first = await submit_login(http, page, user.login, user.password)
    assert first.status_code == 303
    again = await submit_login(http, page, user.login, user.password)
    assert again.status_code == 400
    assert "expired or was already used" in again.text


async def test_a_machine_user_on_the_page_reads_like_a_wrong_password(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    name = f"robot-{secrets.token_hex(3)}"
    await api.add_machine_user(name, "Robot")
    page = await login_page(http, authorize_url(keyhook.url, client))
    reply = await submit_login(http, page, name, "anything at all")
    assert reply.status_code == 401
    assert "The user name or password is not correct." in reply.text


async def test_a_deactivated_user_is_told_so_whatever_the_user_name_says(
    api: Api, keyhook: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    login = f"unlocked-{secrets.token_hex(3)}@example.com"  # "locked" in the name misleads no one
    user_id = (await api.add_user(login, password={"password": "Correct horse 42!"})).ok()["userId"]
    (await api.post(f"/v2/users/{user_id}/deactivate")).ok()
    page = await login_page(http, authorize_url(keyhook.url, client))
    reply = await submit_login(http, page, login, "Correct horse 42!")
    assert reply.status_code == 403
    assert "This account is deactivated" in reply.text
    assert "locked" not in reply.text.replace(login, "")
