"""The three signature header sets, checked against vectors computed independently."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from keyhook.crypto.signing import (
    seed_signature,
    signature_headers,
    standard_signature,
    zitadel_signature,
)
from keyhook.crypto.tokens import new_signing_key

# The Standard Webhooks specification's own example, plus the seed and ZITADEL
# signatures of the same message (computed with `openssl dgst -sha256 -hmac`).
SPEC_KEY = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_STANDARD = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
SPEC_SEED = "sha256=80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c"
SPEC_ZITADEL = "t=1614265330,v1=2e37df5d4a028c51a7f3133d64ae1e300d2c2c900f1b1d49d4369ad2530f8964"

BODY = '{"user":{"givenName":"Zoë","familyName":"山田 🎉"}}'.encode()


def hex_hmac(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def b64_hmac(key: bytes, data: bytes) -> str:
    return base64.b64encode(hmac.new(key, data, hashlib.sha256).digest()).decode()


def test_known_answer_vectors() -> None:
    assert standard_signature([SPEC_KEY], SPEC_ID, SPEC_TS, SPEC_BODY) == SPEC_STANDARD
    assert seed_signature(SPEC_KEY, SPEC_BODY) == SPEC_SEED
    assert zitadel_signature([SPEC_KEY], SPEC_BODY, SPEC_TS) == SPEC_ZITADEL


def test_known_answer_vectors_recomputed_with_hmac() -> None:
    raw_key = base64.b64decode(SPEC_KEY.removeprefix("whsec_"))
    utf8_key = SPEC_KEY.encode("utf-8")
    standard = "v1," + b64_hmac(raw_key, f"{SPEC_ID}.{SPEC_TS}.".encode() + SPEC_BODY)
    seed = "sha256=" + hex_hmac(utf8_key, SPEC_BODY)
    zitadel = f"t={SPEC_TS},v1=" + hex_hmac(utf8_key, f"{SPEC_TS}.".encode() + SPEC_BODY)
    assert (standard, seed, zitadel) == (SPEC_STANDARD, SPEC_SEED, SPEC_ZITADEL)
    assert standard_signature([SPEC_KEY], SPEC_ID, SPEC_TS, SPEC_BODY) == standard
    assert seed_signature(SPEC_KEY, SPEC_BODY) == seed
    assert zitadel_signature([SPEC_KEY], SPEC_BODY, SPEC_TS) == zitadel


def test_seed_signature_keys_hmac_with_the_whole_key_string() -> None:
    key = new_signing_key()
    signature = seed_signature(key, BODY)
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", signature)
    assert signature == "sha256=" + hex_hmac(key.encode("utf-8"), BODY)
    decoded = base64.b64decode(key.removeprefix("whsec_"))
    assert signature != "sha256=" + hex_hmac(decoded, BODY)


def test_seed_signature_covers_every_byte() -> None:
    key = new_signing_key()
    assert seed_signature(key, BODY) != seed_signature(key, BODY + b" ")
    assert seed_signature(key, BODY) != seed_signature(new_signing_key(), BODY)


def test_zitadel_signature_one_v1_per_key_in_order() -> None:
    keys = [new_signing_key(), new_signing_key(), new_signing_key()]
    header = zitadel_signature(keys, BODY, 1_700_000_000)
    signed = b"1700000000." + BODY
    expected = ["t=1700000000"] + ["v1=" + hex_hmac(k.encode("utf-8"), signed) for k in keys]
    assert header.split(",") == expected


def test_zitadel_signature_binds_the_timestamp() -> None:
    key = new_signing_key()
    first = zitadel_signature([key], BODY, 1_700_000_000).split(",")[1]
    later = zitadel_signature([key], BODY, 1_700_000_001).split(",")[1]
    assert first != later


def test_standard_signature_decodes_the_key_after_whsec() -> None:
    raw = secrets.token_bytes(32)
    key = "whsec_" + base64.b64encode(raw).decode()
    signature = standard_signature([key], "msg_1", 1_700_000_000, BODY)
    assert signature == "v1," + b64_hmac(raw, b"msg_1.1700000000." + BODY)


def test_standard_signature_space_separates_one_signature_per_key() -> None:
    keys = [new_signing_key(), new_signing_key()]
    header = standard_signature(keys, "msg_2", 1_700_000_000, BODY)
    parts = header.split(" ")
    assert len(parts) == 2
    for key, part in zip(keys, parts, strict=True):
        assert part == standard_signature([key], "msg_2", 1_700_000_000, BODY)
        version, _, value = part.partition(",")
        assert version == "v1"
        assert len(base64.b64decode(value, validate=True)) == 32


def test_signature_headers_has_all_three_sets() -> None:
    old, new = new_signing_key(), new_signing_key()
    now = int(time.time())
    headers = signature_headers([old, new], "msg_3", now, BODY)
    assert set(headers) == {
        "X-Zitadel-Signature",
        "ZITADEL-Signature",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
    assert headers["webhook-id"] == "msg_3"
    assert headers["webhook-timestamp"] == str(now)
    assert headers["ZITADEL-Signature"] == zitadel_signature([old, new], BODY, now)
    assert headers["webhook-signature"] == standard_signature([old, new], "msg_3", now, BODY)


def test_signature_headers_seed_header_uses_the_oldest_key() -> None:
    old, new = new_signing_key(), new_signing_key()
    headers = signature_headers([old, new], "msg_4", int(time.time()), BODY)
    assert headers["X-Zitadel-Signature"] == "sha256=" + hex_hmac(old.encode(), BODY)


def test_standard_webhooks_library_accepts_every_key_during_a_rotation() -> None:
    old, new = new_signing_key(), new_signing_key()
    headers = signature_headers([old, new], "msg_5", int(time.time()), BODY)
    for key in (old, new):
        assert Webhook(key).verify(BODY, headers) == {
            "user": {"givenName": "Zoë", "familyName": "山田 🎉"}
        }
    with pytest.raises(WebhookVerificationError):
        Webhook(new_signing_key()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(BODY.replace("Zoë".encode(), b"Zoe"), headers)
