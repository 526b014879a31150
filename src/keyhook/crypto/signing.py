"""The three webhook signature header sets of DESIGN.md §2.

* seed: ``X-Zitadel-Signature: sha256=<hex HMAC-SHA256(key, body)>``
* ZITADEL: ``ZITADEL-Signature: t=<unix>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>``
* Standard Webhooks: ``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature: v1,<base64 HMAC-SHA256(base64decode(key), "<id>.<ts>.<body>")>``

The seed and ZITADEL forms use the whole key string's UTF-8 bytes as the HMAC
key; the Standard Webhooks form decodes the part after ``whsec_``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence


def seed_signature(key: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def zitadel_signature(keys: Sequence[str], body: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"]
    parts += ["v1=" + hmac.new(k.encode(), signed, hashlib.sha256).hexdigest() for k in keys]
    return ",".join(parts)


def _standard_key(key: str) -> bytes:
    return base64.b64decode(key.removeprefix("whsec_"))


def standard_signature(keys: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1,"
        + base64.b64encode(hmac.new(_standard_key(k), signed, hashlib.sha256).digest()).decode()
        for k in keys
    )


def signature_headers(
    keys: Sequence[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """All signature headers for one request.

    ``keys`` are the valid signing keys, the oldest first. During a rotation
    the seed's single-value header carries the oldest key's signature (the one
    receivers already hold); the ZITADEL and Standard Webhooks headers carry
    one signature per key.
    """
    return {
        "X-Zitadel-Signature": seed_signature(keys[0], body),
        "ZITADEL-Signature": zitadel_signature(keys, body, timestamp),
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(keys, msg_id, timestamp, body),
    }
