"""Receivers written for three systems accept what a running Keyhook sends them.

A real server calls a real receiver on ``AddHumanUser``; the captured bytes and
headers are then checked the way each kind of receiver checks them:

* the seed's Node.js function (``JSON.stringify`` of the parsed body,
  ``X-Zitadel-Signature``), run by ``node`` exactly as the seed writes it;
* the ``standardwebhooks`` library (``webhook-id``/``-timestamp``/``-signature``);
* ZITADEL's documented ``ZITADEL-Signature: t=…,v1=…`` check, written here
  from its description.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.support.api import Api
from tests.support.receiver import Received, Receiver

ADD_HUMAN_USER = "/zitadel.user.v2.UserService/AddHumanUser"
CONDITION = {"request": {"method": ADD_HUMAN_USER}}
PASSWORD = "Corr3ct-Horse-Battery-Staple!"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
INCOMING_TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRICKY_VALUE = 'say "hi" \\ C:\\path\\ é ✓ 😀 \u2028 tab\there\nnew line </script> \u0001'

OTHER_KEY = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
NODE = shutil.which("node")

# The seed's verification function, verbatim, fed the way Express's
# ``express.json()`` feeds it: the parsed body.
SEED_VERIFIER = r"""
const crypto = require('crypto');
const fs = require('fs');

function verifyWebhookSignature(payload, signature, signingKey) {
  const hmac = crypto.createHmac('sha256', signingKey);
  hmac.update(JSON.stringify(payload));
  const expectedSignature = 'sha256=' + hmac.digest('hex');

  return crypto.timingSafeEqual(
    Buffer.from(expectedSignature),
    Buffer.from(signature)
  );
}

const [bodyFile, signature, signingKey] = process.argv.slice(2);
const payload = JSON.parse(fs.readFileSync(bodyFile, 'utf8'));
const valid = verifyWebhookSignature(payload, signature, signingKey);
process.stdout.write(valid ? 'valid' : 'invalid');
process.exitCode = valid ? 0 : 1;
"""

ROUNDTRIP = r"""
const raw = require('fs').readFileSync(0, 'utf8');
process.stdout.write(JSON.stringify(JSON.parse(raw)));
"""


def _node() -> str:
    if NODE is None:
        pytest.skip("node is not on PATH: the guide's Node.js receiver cannot be run")
    return NODE


def seed_verify(tmp_path: Path, body: bytes, signature: str, key: str) -> bool:
    """Run the seed's Node.js verifier on ``body``; True when it accepts."""
    script = tmp_path / "seed_verify.js"
    script.write_text(SEED_VERIFIER)
    body_file = tmp_path / f"body-{secrets.token_hex(4)}.json"
    body_file.write_bytes(body)
    done = subprocess.run(
        [_node(), str(script), str(body_file), signature, key],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr.decode(errors="replace")
    assert done.stdout == (b"valid" if done.returncode == 0 else b"invalid")
    return done.returncode == 0


def js_roundtrip(body: bytes) -> bytes:
    """``JSON.stringify(JSON.parse(body))`` as Node.js computes it, UTF-8 encoded."""
    done = subprocess.run(
        [_node(), "-e", ROUNDTRIP], input=body, capture_output=True, timeout=30, check=True
    )
    return done.stdout


def zitadel_verify(header: str, body: bytes, key: str, tolerance: int = 300) -> bool:
    """ZITADEL's documented receiver check of ``ZITADEL-Signature``.

    ``t=<unix>,v1=<hex>[,v1=<hex>…]``: the signed content is ``"<t>." + body``,
    HMAC-SHA256 keyed with the signing key's UTF-8 bytes; any ``v1`` may match.
    """
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            signatures.append(value)
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not signatures:
        return False
    if abs(time.time() - int(timestamps[0])) > tolerance:
        return False
    signed = timestamps[0].encode() + b"." + body
    expected = hmac.new(key.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


def standard_verify(key: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(key).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def tamper(body: bytes) -> bytes:
    """The same JSON with one value changed (same length, still valid)."""
    payload = orjson.loads(body)
    email = payload["request"]["user"]["email"]["email"]
    forged = body.replace(email.encode(), ("X" + email[1:]).encode())
    assert forged != body and orjson.loads(forged)
    return forged


@dataclass(frozen=True)
class Delivery:
    email: str
    received: Received

    @property
    def body(self) -> bytes:
        return self.received.body

    @property
    def headers(self) -> dict[str, str]:
        return lower(self.received.headers)

    @property
    def payload(self) -> Any:
        return orjson.loads(self.body)


@dataclass(frozen=True)
class Captured:
    target_id: str
    key: str
    deliveries: dict[str, Delivery]  # by case name
    target_reply: Any
    target_raw: bytes


def _cases() -> dict[str, dict[str, Any]]:
    return {
        "ascii": {
            "profile": {"givenName": "John", "familyName": "Doe", "displayName": "John Doe"},
            "metadata": [{"key": "department", "value": "Engineering"}],
        },
        "latin": {
            "profile": {
                "givenName": "Zoë",
                "familyName": "Ærøskøbing",
                "displayName": "Zoë Ærøskøbing 🦊",
            },
        },
        "cjk": {
            "profile": {"givenName": "太郎", "familyName": "山田", "displayName": "山田 太郎 🎉"},
            "metadata": [{"key": "note", "value": "日本語のメモ"}],
        },
        "tricky": {
            "profile": {"givenName": "Łukasz", "familyName": "O'Brien-Ñúñez 👩‍💻"},
            "metadata": [
                {"key": "quoted", "value": TRICKY_VALUE},
                {"key": "1", "value": "integer-like key"},
            ],
        },
    }


@pytest.fixture(scope="module")
async def captured(api: Api, receiver: Receiver) -> AsyncIterator[Captured]:
    """Users added while a request execution calls the receiver; what it got."""
    tag = secrets.token_hex(4)
    path = f"/signatures/{tag}"
    await api.clear_executions()
    target = await api.create_target(
        receiver.endpoint(path), headers={"Authorization": "Bearer xyz"}
    )
    try:
        await api.set_execution(CONDITION, [target["id"]])
        emails: dict[str, str] = {}
        for name, user in _cases().items():
            email = f"{name}.{tag}@example.com"
            emails[name] = email
            body = {
                "user": {
                    "email": {"email": email},
                    "password": {"password": PASSWORD},
                    **user,
                }
            }
            headers = {"traceparent": INCOMING_TRACE} if name == "ascii" else None
            (await api.post("/v2/users/human", body, headers=headers)).ok()
        got = await receiver.wait_for(path, len(emails))
    finally:
        await api.clear_executions()
    by_email = {orjson.loads(r.body)["request"]["user"]["email"]["email"]: r for r in got}
    deliveries = {name: Delivery(email, by_email[email]) for name, email in emails.items()}
    reply = await api.get(f"/v2/actions/targets/{target['id']}")
    yield Captured(target["id"], target["signingKey"], deliveries, reply.ok(), reply.raw)


# --- a. the seed's Node.js receiver ------------------------------------------------------


async def test_seed_node_receiver_accepts_x_zitadel_signature(
    captured: Captured, tmp_path: Path
) -> None:
    _node()
    for name, delivery in captured.deliveries.items():
        signature = delivery.headers["x-zitadel-signature"]
        assert re.fullmatch(r"sha256=[0-9a-f]{64}", signature), name
        assert seed_verify(tmp_path, delivery.body, signature, captured.key), name


async def test_seed_node_receiver_refuses_tampered_body_and_wrong_key(
    captured: Captured, tmp_path: Path
) -> None:
    _node()
    for name, delivery in captured.deliveries.items():
        signature = delivery.headers["x-zitadel-signature"]
        assert not seed_verify(tmp_path, tamper(delivery.body), signature, captured.key), name
        assert not seed_verify(tmp_path, delivery.body, signature, OTHER_KEY), name


# --- b. Standard Webhooks ---------------------------------------------------------------


async def test_standard_webhooks_library_accepts(captured: Captured) -> None:
    for name, delivery in captured.deliveries.items():
        parsed = Webhook(captured.key).verify(delivery.body, delivery.received.headers)
        assert parsed == delivery.payload, name


async def test_standard_webhooks_library_refuses_tampered_body(captured: Captured) -> None:
    for name, delivery in captured.deliveries.items():
        with pytest.raises(WebhookVerificationError):
            Webhook(captured.key).verify(tamper(delivery.body), delivery.received.headers)
        assert not standard_verify(OTHER_KEY, delivery.body, delivery.headers), name
        forged_id = {**delivery.headers, "webhook-id": delivery.headers["webhook-id"] + "x"}
        assert not standard_verify(captured.key, delivery.body, forged_id), name


# --- c. ZITADEL's documented check ------------------------------------------------------


async def test_zitadel_signature_check_accepts(captured: Captured) -> None:
    for name, delivery in captured.deliveries.items():
        header = delivery.headers["zitadel-signature"]
        assert re.fullmatch(r"t=(\d+),v1=[0-9a-f]{64}", header), (name, header)
        assert header.split(",")[0] == "t=" + delivery.headers["webhook-timestamp"]
        assert zitadel_verify(header, delivery.body, captured.key), name


async def test_zitadel_signature_check_refuses_tampering(captured: Captured) -> None:
    delivery = captured.deliveries["latin"]
    header = delivery.headers["zitadel-signature"]
    assert not zitadel_verify(header, tamper(delivery.body), captured.key)
    t, v1 = header.split(",")
    moved = f"t={int(t.removeprefix('t=')) + 1},{v1}"
    assert not zitadel_verify(moved, delivery.body, captured.key)
    assert not zitadel_verify(header, delivery.body, OTHER_KEY)


# --- d. body bytes, headers, secrets ------------------------------------------------------


async def test_body_survives_javascript_reserialisation(captured: Captured) -> None:
    _node()
    for name, delivery in captured.deliveries.items():
        assert js_roundtrip(delivery.body) == delivery.body, name


async def test_body_is_compact_utf8_with_unicode_unescaped(captured: Captured) -> None:
    for name, delivery in captured.deliveries.items():
        assert delivery.headers["content-type"].startswith("application/json"), name
        text = delivery.body.decode("utf-8")
        compact = json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
        assert text == compact, name
    latin = captured.deliveries["latin"].body
    cjk = captured.deliveries["cjk"].body
    for word, body in [("Zoë", latin), ("Ærøskøbing", latin), ("🦊", latin)]:
        assert word.encode("utf-8") in body
    for word in ["山田", "太郎", "🎉", "日本語のメモ"]:
        assert word.encode("utf-8") in cjk
    assert b"\\u00" not in latin and b"\\ud8" not in latin


async def test_payload_carries_names_and_metadata_unchanged(captured: Captured) -> None:
    for name, user in _cases().items():
        delivery = captured.deliveries[name]
        payload = delivery.payload
        assert payload["fullMethod"] == ADD_HUMAN_USER
        sent = payload["request"]["user"]
        assert sent["email"]["email"] == delivery.email
        for field, value in user["profile"].items():
            assert sent["profile"][field] == value, (name, field)
        assert sent.get("metadata", []) == user.get("metadata", []), name
    tricky = captured.deliveries["tricky"].body
    assert b'"say \\"hi\\" \\\\ C:\\\\path\\\\ \xc3\xa9 ' in tricky
    assert "\u2028 tab\\there\\nnew line </script> \\u0001".encode() in tricky


async def test_payload_leaves_the_password_out(captured: Captured) -> None:
    for name, delivery in captured.deliveries.items():
        assert "password" not in delivery.payload["request"]["user"], name
        assert PASSWORD.encode() not in delivery.body, name


async def test_call_headers(captured: Captured) -> None:
    ids = set()
    for name, delivery in captured.deliveries.items():
        headers = delivery.headers
        assert headers["user-agent"].startswith("Keyhook/"), name
        assert headers["webhook-id"], name
        ids.add(headers["webhook-id"])
        assert abs(int(headers["webhook-timestamp"]) - time.time()) < 300, name
        match = TRACEPARENT.match(headers["traceparent"])
        assert match, (name, headers["traceparent"])
        trace_id, span_id, _ = match.groups()
        assert trace_id != "0" * 32 and span_id != "0" * 16, name
    assert len(ids) == len(captured.deliveries), "each call has its own webhook-id"


async def test_traceparent_continues_the_callers_trace(captured: Captured) -> None:
    incoming = TRACEPARENT.match(INCOMING_TRACE)
    assert incoming
    continued = TRACEPARENT.match(captured.deliveries["ascii"].headers["traceparent"])
    fresh = TRACEPARENT.match(captured.deliveries["latin"].headers["traceparent"])
    assert continued and fresh
    assert continued.group(1) == incoming.group(1)
    assert continued.group(2) != incoming.group(2), "a new span id, not the caller's"
    assert fresh.group(1) != incoming.group(1)


async def test_custom_headers_reach_the_receiver_but_are_masked_when_read(
    captured: Captured,
) -> None:
    for name, delivery in captured.deliveries.items():
        assert delivery.headers["authorization"] == "Bearer xyz", name
    shown = captured.target_reply["target"]
    assert set(shown["headers"]) == {"Authorization"}
    assert shown["headers"]["Authorization"] != "Bearer xyz"
    assert b"xyz" not in captured.target_raw


# --- e. key rotation ------------------------------------------------------------------------


def _v1s(delivery: Delivery) -> list[str]:
    header = delivery.headers["zitadel-signature"]
    return [p.removeprefix("v1=") for p in header.split(",") if p.startswith("v1=")]


def _standard_signatures(delivery: Delivery) -> list[str]:
    return delivery.headers["webhook-signature"].split(" ")


def _signers(delivery: Delivery, keys: dict[str, str]) -> tuple[list[str], list[str]]:
    """For each ZITADEL and each Standard Webhooks signature, the key name it verifies with."""
    zitadel = []
    t = delivery.headers["zitadel-signature"].split(",")[0]
    for v1 in _v1s(delivery):
        names = [n for n, k in keys.items() if zitadel_verify(f"{t},v1={v1}", delivery.body, k)]
        zitadel.append(",".join(names) or "none")
    standard = []
    for signature in _standard_signatures(delivery):
        one = {**delivery.headers, "webhook-signature": signature}
        names = [n for n, k in keys.items() if standard_verify(k, delivery.body, one)]
        standard.append(",".join(names) or "none")
    return zitadel, standard


class RotatingTarget:
    """A target on its own receiver path, wired to ``AddHumanUser``, and its keys by name."""

    def __init__(self, api: Api, receiver: Receiver) -> None:
        self.api = api
        self.receiver = receiver
        self.tag = secrets.token_hex(4)
        self.path = f"/rotation/{self.tag}"
        self.keys: dict[str, str] = {}
        self.id = ""
        self.calls = 0

    async def create(self) -> None:
        target = await self.api.create_target(self.receiver.endpoint(self.path))
        self.id = target["id"]
        self.keys["first"] = target["signingKey"]
        await self.api.set_execution(CONDITION, [self.id])

    async def rotate(self, name: str, expiration: str) -> None:
        url = f"/v2/actions/targets/{self.id}"
        answer = (await self.api.post(url, {"expirationSigningKey": expiration})).ok()
        assert answer["signingKey"] not in self.keys.values()
        self.keys[name] = answer["signingKey"]
        shown = (await self.api.get(url)).ok()["target"]
        assert shown["signingKey"] == answer["signingKey"]

    async def call(self) -> Delivery:
        self.calls += 1
        email = f"rotation{self.calls}.{self.tag}@example.com"
        profile = {"givenName": "Zoë", "familyName": "山田"}
        (await self.api.add_user(email, profile=profile)).ok()
        got = await self.receiver.wait_for(self.path, self.calls)
        return Delivery(email, got[self.calls - 1])


def seed_signature_of(key: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


async def test_rotation_with_overlap_signs_with_old_and_new_key(
    clean_actions: Api, receiver: Receiver, tmp_path: Path
) -> None:
    target = RotatingTarget(clean_actions, receiver)
    await target.create()
    before = await target.call()
    assert _signers(before, target.keys) == (["first"], ["first"])

    await target.rotate("second", "1h")
    during = await target.call()
    assert _signers(during, target.keys) == (["first", "second"], ["first", "second"])
    for key in target.keys.values():
        assert Webhook(key).verify(during.body, during.received.headers) == during.payload
        assert zitadel_verify(during.headers["zitadel-signature"], during.body, key)
    # The seed's single-value header keeps the key receivers already hold.
    seed = during.headers["x-zitadel-signature"]
    assert seed == seed_signature_of(target.keys["first"], during.body)
    if NODE is not None:
        assert seed_verify(tmp_path, during.body, seed, target.keys["first"])
        assert not seed_verify(tmp_path, during.body, seed, target.keys["second"])


async def test_immediate_rotation_replaces_the_key(
    clean_actions: Api, receiver: Receiver, tmp_path: Path
) -> None:
    target = RotatingTarget(clean_actions, receiver)
    await target.create()
    await target.rotate("second", "0s")
    after = await target.call()
    assert _signers(after, target.keys) == (["second"], ["second"])
    assert not standard_verify(target.keys["first"], after.body, after.headers)
    seed = after.headers["x-zitadel-signature"]
    assert seed == seed_signature_of(target.keys["second"], after.body)
    if NODE is not None:
        assert seed_verify(tmp_path, after.body, seed, target.keys["second"])
        assert not seed_verify(tmp_path, after.body, seed, target.keys["first"])


async def test_immediate_rotation_during_an_overlap_leaves_only_the_newest_key(
    clean_actions: Api, receiver: Receiver, tmp_path: Path
) -> None:
    target = RotatingTarget(clean_actions, receiver)
    await target.create()
    await target.rotate("second", "1h")
    await target.rotate("third", "0s")
    after = await target.call()
    assert _signers(after, target.keys) == (["third"], ["third"])
    for old in ("first", "second"):
        assert not standard_verify(target.keys[old], after.body, after.headers)
        assert not zitadel_verify(after.headers["zitadel-signature"], after.body, target.keys[old])
    seed = after.headers["x-zitadel-signature"]
    assert seed == seed_signature_of(target.keys["third"], after.body)
    if NODE is not None:
        assert seed_verify(tmp_path, after.body, seed, target.keys["third"])
