"""Durations through the API (issue 8, finding 11): ASCII digits and a unit, nothing else.

Each refusal is a 400 naming the field and saying what is allowed, and leaves
the target as it was.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.support.api import Api, Reply

TARGETS = "/v2/actions/targets"

MALFORMED = [
    "\u0661\u0660s",  # Arabic-Indic digits: 10
    "\uff11\uff10s",  # fullwidth digits
    "\u0967s",  # Devanagari 1
    " 10s",
    "10s ",
    "10 s",
    "10s\n",
    "\t10s",
    "10\u00a0s",
    "1_0s",
    "+10s",
]
OUT_OF_RANGE = ["0.0000001s", "0.5ms", "0s", "0ms", "271s", "5m"]


def body(**fields: Any) -> dict[str, Any]:
    return {
        "name": f"durations-{secrets.token_hex(4)}",
        "endpoint": "https://hooks.example.com/durations",
        "timeout": "5s",
        "restWebhook": {"interruptOnError": False},
        **fields,
    }


def assert_refused(reply: Reply, field: str, *words: str) -> None:
    assert reply.status == 400, reply.body
    assert reply.body["code"] == "invalid_argument"
    assert reply.body["details"][0]["field"] == field
    assert reply.body["message"].startswith(f"{field}: ")
    for word in words:
        assert word in reply.body["message"], reply.body["message"]


async def names(api: Api) -> list[str]:
    found = (await api.post(TARGETS + "/search", {"query": {"limit": 1000}})).ok()
    return [t["name"] for t in found["targets"]]


@pytest.mark.parametrize("timeout", MALFORMED)
async def test_create_refuses_a_malformed_timeout(api: Api, timeout: str) -> None:
    sent = body(timeout=timeout)
    reply = await api.post(TARGETS, sent)
    assert_refused(reply, "timeout", "is not a duration", "ASCII digits", "no spaces", "500ms")
    assert sent["name"] not in await names(api)


@pytest.mark.parametrize("timeout", OUT_OF_RANGE)
async def test_create_refuses_a_timeout_out_of_range(api: Api, timeout: str) -> None:
    sent = body(timeout=timeout)
    reply = await api.post(TARGETS, sent)
    assert_refused(reply, "timeout", "out of range", "at least 1ms, at most 270s")
    assert sent["name"] not in await names(api)


@pytest.mark.parametrize(("timeout", "shown"), [("1ms", "1ms"), ("270s", "270s"), ("1.5s", "1.5s")])
async def test_timeouts_at_the_bounds_are_kept(api: Api, timeout: str, shown: str) -> None:
    created = (await api.post(TARGETS, body(timeout=timeout))).ok()
    assert (await api.get(f"{TARGETS}/{created['id']}")).ok()["target"]["timeout"] == shown


async def test_update_refuses_malformed_durations_and_keeps_the_target(api: Api) -> None:
    created = (await api.post(TARGETS, body(timeout="7s"))).ok()
    path = f"{TARGETS}/{created['id']}"
    for timeout in [*MALFORMED, *OUT_OF_RANGE]:
        assert_refused(await api.post(path, {"timeout": timeout}), "timeout")
    for overlap in ["\u0661h", " 1h", "1h\n", "1 h"]:
        assert_refused(
            await api.post(path, {"expirationSigningKey": overlap}),
            "expirationSigningKey",
            "is not a duration",
        )
    stored = (await api.get(path)).ok()["target"]
    assert stored["timeout"] == "7s"
    assert stored["signingKey"] == created["signingKey"]  # no refused request rotated it


async def test_rotate_signing_key_refuses_a_malformed_window(api: Api) -> None:
    reply = await api.post("/v2/oidc/keys/rotate", {"publishOldFor": "\u0661\u0660s"})
    assert_refused(reply, "publishOldFor", "is not a duration")
