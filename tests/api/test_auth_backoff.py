"""Back-off after failed authentication (issue 8, finding 15), on a running server.

After too many failed secret or password checks for a client id or login name
from one address, for a user, or from one address within a minute, further
attempts for it are answered at once — 429 with Retry-After — without checking.
That no argon2 check ran shows without timing: a *correct* secret or password is
refused too, which a check would have accepted. Other clients, users and
addresses are not affected — and the attacked client or person, from their own
address, is not either: client ids and login names are public.

The server is this module's own (fresh counters), with the per-address limit
lowered to 8 and the per-login one to 4, so each bucket is reached with few
hashes and separately; the client one keeps its default (5). Addresses are set
with X-Forwarded-For, which the server believes from 127.0.0.1
(KEYHOOK_FORWARDED_ALLOW_IPS).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import Api
from tests.support.oidc import authorize_url, create_client, create_user, login_page, submit_login
from tests.support.server import KeyhookServer

CLIENT_LIMIT, LOGIN_LIMIT, ADDRESS_LIMIT = 5, 4, 8
GRANT = {"grant_type": "client_credentials"}


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KeyhookServer]:
    started = KeyhookServer(
        data_dir=Path(tmp_path_factory.mktemp("backoff")),
        extra_env={
            "KEYHOOK_AUTH_BACKOFF_ADDRESS": str(ADDRESS_LIMIT),
            "KEYHOOK_AUTH_BACKOFF_LOGIN": str(LOGIN_LIMIT),
        },
    )
    await started.start()
    yield started
    await started.stop()


@pytest.fixture
async def api(server: KeyhookServer) -> AsyncIterator[Api]:
    client = Api(server.url, server.token)
    yield client
    await client.close()


@pytest.fixture
async def http(server: KeyhookServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


_used: set[str] = set()


def new_address() -> str:
    """A documentation address (RFC 5737) no other test of this module used."""
    while True:
        candidate = f"203.0.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
        if candidate not in _used:
            _used.add(candidate)
            return candidate


async def machine(api: Api) -> tuple[str, str]:
    name = f"svc-{secrets.token_hex(4)}"
    user_id = await api.add_machine_user(name, "Service")
    return name, await api.add_secret(user_id)


async def token(http: httpx.AsyncClient, name: str, secret: str, source: str) -> httpx.Response:
    return await http.post(
        "/oauth/v2/token", data=GRANT, auth=(name, secret), headers={"X-Forwarded-For": source}
    )


def assert_backed_off(reply: httpx.Response) -> None:
    assert reply.status_code == 429, reply.text
    assert 1 <= int(reply.headers["retry-after"]) <= 60


async def test_a_burst_of_wrong_secrets_for_one_client_is_backed_off(
    api: Api, http: httpx.AsyncClient
) -> None:
    target, target_secret = await machine(api)
    attacker = new_address()
    for _ in range(CLIENT_LIMIT):
        wrong = await token(http, target, "not-the-secret", attacker)
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "invalid_client"
    refused = await token(http, target, "not-the-secret", attacker)
    assert_backed_off(refused)
    assert refused.json()["error"] == "slow_down"
    assert "too many failed authentication attempts" in refused.json()["error_description"]
    # Not checked: the right secret is refused as well, from the attacker's address ...
    assert_backed_off(await token(http, target, target_secret, attacker))
    # Introspection and revocation authenticate clients the same way, with the same counts.
    introspected = await http.post(
        "/oauth/v2/introspect",
        data={"token": "whatever"},
        auth=(target, target_secret),
        headers={"X-Forwarded-For": attacker},
    )
    assert_backed_off(introspected)
    # ... but the client itself, from its own address, is not locked out by them (its
    # secret never matched in this process, so this is a real check).
    assert (await token(http, target, target_secret, new_address())).status_code == 200
    # Another client, even from the attacker's address, is not affected.
    other, other_secret = await machine(api)
    assert (await token(http, other, other_secret, attacker)).status_code == 200


async def test_a_client_that_authenticated_before_keeps_working(
    api: Api, http: httpx.AsyncClient
) -> None:
    """Its secret matched once, so checking it needs no hash: an attacker who knows the
    client id cannot lock the client out."""
    name, secret = await machine(api)
    assert (await token(http, name, secret, new_address())).status_code == 200
    attacker = new_address()
    for _ in range(CLIENT_LIMIT):
        assert (await token(http, name, "guess", attacker)).status_code == 401
    assert_backed_off(await token(http, name, "guess", attacker))
    assert (await token(http, name, secret, new_address())).status_code == 200


async def test_wrong_secrets_from_one_address_are_backed_off(
    api: Api, http: httpx.AsyncClient
) -> None:
    attacker = new_address()
    clients = [await machine(api) for _ in range(ADDRESS_LIMIT // 4 + 1)]
    failures = 0
    for name, _ in clients:  # a few guesses each, under the per-client limit
        for _ in range(4):
            if failures == ADDRESS_LIMIT:
                break
            assert (await token(http, name, "guess", attacker)).status_code == 401
            failures += 1
    name, secret = clients[-1]
    assert_backed_off(await token(http, name, secret, attacker))
    assert (await token(http, name, secret, new_address())).status_code == 200


async def test_create_session_backs_off_without_counting_towards_the_lockout(
    api: Api,
) -> None:
    (await api.put("/v2/settings/lockout", {"maxPasswordAttempts": 0})).ok()
    try:
        email = f"backoff-{secrets.token_hex(3)}@example.com"
        user_id = (await api.add_user(email, password={"password": "Correct horse 42!"})).ok()[
            "userId"
        ]

        async def sign_in(password: str) -> tuple[int, dict[str, object], dict[str, str]]:
            body = {"checks": {"user": {"loginName": email}, "password": {"password": password}}}
            async with api.session.post(
                api.base_url + "/v2/sessions",
                json=body,
                headers={"Authorization": f"Bearer {api.token}"},
            ) as reply:
                return reply.status, await reply.json(), dict(reply.headers)

        for _ in range(LOGIN_LIMIT):
            status, body, _ = await sign_in("wrong horse battery")
            assert (status, body["message"]) == (400, "password is invalid")
        status, body, headers = await sign_in("Correct horse 42!")
        assert status == 429
        assert body["code"] == "resource_exhausted"
        assert 1 <= int(headers["Retry-After"]) <= 60
        events = (
            await api.post("/v2/events/search", {"aggregateId": user_id, "limit": 1000})
        ).ok()["events"]
        failed = [e for e in events if e["eventType"] == "user.human.password.check.failed"]
        assert len(failed) == LOGIN_LIMIT, "a refused attempt checked nothing and counts nothing"
        assert "user.human.password.check.succeeded" not in [e["eventType"] for e in events]
        # Another user signs in as usual.
        other = f"other-{secrets.token_hex(3)}@example.com"
        (await api.add_user(other, password={"password": "Correct horse 42!"})).ok()
        checks = {"user": {"loginName": other}, "password": {"password": "Correct horse 42!"}}
        (await api.post("/v2/sessions", {"checks": checks})).ok()
    finally:
        (await api.put("/v2/settings/lockout", {"maxPasswordAttempts": 5})).ok()


async def test_the_login_page_backs_off_by_name_and_by_address(
    api: Api, server: KeyhookServer, http: httpx.AsyncClient
) -> None:
    client = await create_client(api)
    user = await create_user(api)

    async def attempt(login: str, password: str, source: str) -> httpx.Response:
        http.headers["X-Forwarded-For"] = source
        page = await login_page(http, authorize_url(server.url, client, prompt="login"))
        assert page.status_code == 200, page.text[:300]
        return await submit_login(http, page, login, password)

    # By name from one address: a known and an unknown name alike (no enumeration).
    for name in (user.login, f"nobody-{secrets.token_hex(3)}@example.com"):
        guesser = new_address()
        for _ in range(LOGIN_LIMIT):
            assert (await attempt(name, "a wrong guess", guesser)).status_code == 401
        refused = await attempt(name, user.password, guesser)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "Too many failed sign-in attempts. Try again in" in refused.text
    # The person, from their own address, signs in: a guesser cannot shut them out.
    assert (await attempt(user.login, user.password, new_address())).status_code == 303
    # By address, over many names.
    attacker = new_address()
    for _ in range(ADDRESS_LIMIT):
        name = f"spray-{secrets.token_hex(3)}@example.com"
        assert (await attempt(name, "a wrong guess", attacker)).status_code == 401
    someone = await create_user(api)
    assert (await attempt(someone.login, someone.password, attacker)).status_code == 429
    assert (await attempt(someone.login, someone.password, new_address())).status_code == 303
