"""The bytes and headers of one outbound call.

The body is compact UTF-8 JSON with non-ASCII characters unescaped and keys in
a fixed order, written so that JavaScript's ``JSON.stringify(JSON.parse(body))``
gives the same bytes back: the seed's receivers re-serialise before they verify.
Two JavaScript habits need help for that: integral floats print without ``.0``,
and integer-like object keys come first in ascending order.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import orjson

from keyhook import __version__
from keyhook.crypto.signing import signature_headers

USER_AGENT = f"Keyhook/{__version__}"
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_INDEX_KEY = re.compile(r"^(0|[1-9][0-9]{0,9})$")


def _js_order(value: Any) -> Any:
    if isinstance(value, dict):
        index_keys = sorted(
            (k for k in value if _INDEX_KEY.match(k) and int(k) < 2**32 - 1), key=int
        )
        ordered = {k: _js_order(value[k]) for k in index_keys}
        ordered.update({k: _js_order(v) for k, v in value.items() if k not in ordered})
        return ordered
    if isinstance(value, list):
        return [_js_order(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def encode_body(payload: dict[str, Any]) -> bytes:
    return orjson.dumps(_js_order(payload))


def traceparent(incoming: str | None = None) -> str:
    """A W3C traceparent: the caller's trace id when it sent one, a new span always."""
    match = _TRACEPARENT.match(incoming or "")
    trace_id = match.group(1) if match else secrets.token_hex(16)
    return f"00-{trace_id}-{secrets.token_hex(8)}-01"


def request_headers(
    *,
    keys: list[str],
    msg_id: str,
    body: bytes,
    custom: dict[str, str],
    trace: str | None,
    timestamp: int | None = None,
) -> dict[str, str]:
    headers = dict(custom)
    headers.update(signature_headers(keys, msg_id, timestamp or int(time.time()), body))
    headers["Content-Type"] = "application/json"
    headers["User-Agent"] = USER_AGENT
    headers["traceparent"] = traceparent(trace)
    return headers
