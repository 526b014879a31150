"""Endpoints in disguise, on a server started without ``--dev`` (issue 8, findings 5 and 17).

IPv6 forms that carry an IPv4 address are judged by that address, and hosts are
judged (and stored) in the ASCII form a resolver would look up, so a fullwidth
``localhost`` or ``[64:ff9b::a9fe:a9fe]`` cannot pass for public.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.support.api import Api
from tests.support.text import fullwidth

TARGETS = "/v2/actions/targets"
SWITCHES = ("--dev", "KEYHOOK_DEV", "KEYHOOK_ACTIONS_ALLOW_HOSTS")


def target(endpoint: str) -> dict[str, Any]:
    return {
        "name": f"forms-{secrets.token_hex(4)}",
        "endpoint": endpoint,
        "timeout": "5s",
        "restWebhook": {"interruptOnError": False},
    }


async def total(api: Api) -> int:
    found = (await api.post(TARGETS + "/search", {"query": {"limit": 1}})).ok()
    return int(found["pagination"]["totalResult"])


# (endpoint, words the refusal must contain)
DISGUISED = [
    ("https://[::127.0.0.1]/x", ("127.0.0.1", "IPv4-compatible")),
    ("https://[::7f00:1]/x", ("127.0.0.1", "IPv4-compatible")),
    ("https://[::ffff:0:127.0.0.1]/x", ("127.0.0.1", "IPv4-translated")),
    ("https://[64:ff9b::a9fe:a9fe]/latest/meta-data", ("169.254.169.254", "NAT64")),
    ("https://[64:ff9b:1::a9fe:a9fe]/x", ("64:ff9b:1::/48", "local-use NAT64")),
    ("https://[2002:7f00:1::1]/x", ("127.0.0.1", "6to4")),
    ("https://[2002:c0a8:101::]/x", ("192.168.1.1", "6to4")),
    ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x", ("2001::/32", "Teredo")),
    ("https://" + fullwidth("localhost") + "/x", ("localhost", "local name")),
    ("https://\u24dbocalhost/x", ("localhost", "local name")),
    ("https://" + fullwidth("printer.local") + "/x", ("printer.local", "local name")),
    ("https://" + fullwidth("127.0.0.1") + "/x", ("127.0.0.1", "not a public address")),
    ("https://" + fullwidth("169.254.169.254") + "/x", ("169.254.169.254", "not a public address")),
    ("https://" + fullwidth("0x7f.1") + "/x", ("127.0.0.1", "not a public address")),
]


@pytest.mark.parametrize(("endpoint", "words"), DISGUISED, ids=[e for e, _ in DISGUISED])
async def test_disguised_local_endpoints_are_refused_naming_the_field(
    strict: Api, endpoint: str, words: tuple[str, ...]
) -> None:
    before = await total(strict)
    reply = await strict.post(TARGETS, target(endpoint))
    assert reply.status == 400, reply.body
    assert reply.body["code"] == "invalid_argument"
    assert reply.body["details"][0]["field"] == "endpoint"
    message = reply.body["message"]
    assert message.startswith("endpoint: ")
    for word in (*words, *SWITCHES):
        assert word in message, f"{word!r} not in {message!r}"
    assert await total(strict) == before


async def test_an_update_to_a_disguised_endpoint_is_refused(strict: Api) -> None:
    created = (await strict.post(TARGETS, target("https://hooks.example.com/x"))).ok()
    for endpoint in ("https://[64:ff9b::a9fe:a9fe]/x", "https://" + fullwidth("localhost") + "/x"):
        reply = await strict.post(f"{TARGETS}/{created['id']}", {"endpoint": endpoint})
        assert reply.status == 400, reply.body
        assert reply.body["details"][0]["field"] == "endpoint"
    stored = (await strict.get(f"{TARGETS}/{created['id']}")).ok()["target"]
    assert stored["endpoint"] == "https://hooks.example.com/x"


@pytest.mark.parametrize(
    ("endpoint", "stored"),
    [
        (
            "https://" + fullwidth("hooks.example.com") + "/keyhook",
            "https://hooks.example.com/keyhook",
        ),
        ("https://Hooks.Example.com:8443/a?b=c", "https://hooks.example.com:8443/a?b=c"),
        ("https://bücher.example/hook", "https://xn--bcher-kva.example/hook"),
        ("https://[64:ff9b::808:808]/hook", "https://[64:ff9b::808:808]/hook"),
    ],
)
async def test_the_normalised_endpoint_is_what_is_stored(
    strict: Api, endpoint: str, stored: str
) -> None:
    created = (await strict.post(TARGETS, target(endpoint))).ok()
    got = (await strict.get(f"{TARGETS}/{created['id']}")).ok()["target"]
    assert got["endpoint"] == stored
    changed = (await strict.post(f"{TARGETS}/{created['id']}", {"endpoint": endpoint})).ok()
    assert changed["changeDate"]
    assert (await strict.get(f"{TARGETS}/{created['id']}")).ok()["target"]["endpoint"] == stored
