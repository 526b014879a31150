"""The bytes and headers of one outbound call.

The body is compact UTF-8 JSON with non-ASCII characters unescaped and keys in
a fixed order, written so that JavaScript's ``JSON.stringify(JSON.parse(body))``
gives the same bytes back: the seed's receivers re-serialise before they verify.
Two JavaScript habits need help for that: floats print as JavaScript prints
them (no ``.0``, no exponent from 1e-6 up to 1e21), and integer-like object
keys come first in ascending order. (Integers beyond 2**53 cannot survive
``JSON.parse`` at all; payloads carry large numbers such as ids as strings.)
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import orjson

from keyhook import __version__
from keyhook.actions.transport import OutboundRequest
from keyhook.clock import now
from keyhook.crypto.signing import signature_headers
from keyhook.domain.target import HEADER_MASK, RELAY_ENDPOINT, Target

USER_AGENT = f"Keyhook/{__version__}"
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
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
    if isinstance(value, float) and math.isfinite(value):
        return _js_number(value)
    return value


def _js_number(value: float) -> int | orjson.Fragment:
    """A float as JavaScript's ``Number.prototype.toString`` prints it.

    JavaScript prints the shortest round-tripping digits (Python's ``repr``
    finds the same ones) but places the point differently from orjson: no
    ``.0`` on integral values, no exponent from 1e-6 up to 1e21
    (``2.0**60`` is ``1152921504606847000``, ``1.5e-6`` is ``0.0000015``).
    """
    if value.is_integer() and abs(value) <= 2**53:
        return int(value)
    sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    assert isinstance(exponent, int)
    k, n = len(digits), len(digits) + exponent  # value = 0.digits * 10**n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
        text = f"{mantissa}e{n - 1:+d}"
    return orjson.Fragment((("-" if sign else "") + text).encode())


def encode_body(payload: dict[str, Any]) -> bytes:
    return orjson.dumps(_js_order(payload))


def traceparent(incoming: str | None = None) -> str:
    """A W3C traceparent: the caller's trace id when it sent one, a new span always.

    An all-zero trace or parent id makes the header invalid (W3C Trace Context)
    and starts a new trace.
    """
    match = _TRACEPARENT.match(incoming or "")
    if match and match.group(1) != "0" * 32 and match.group(2) != "0" * 16:
        trace_id = match.group(1)
    else:
        trace_id = secrets.token_hex(16)
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


def signed_request(
    target: Target, body: bytes, msg_id: str, trace: str | None = None
) -> OutboundRequest:
    """The whole outbound request to ``target``: body, every header, its timeout."""
    headers = request_headers(
        keys=target.valid_keys(now()),
        msg_id=msg_id,
        body=body,
        custom=target.headers,
        trace=trace,
    )
    # A relay target's calls are addressed to its listener, which is known by the target.
    url = relay_url(target.id) if target.is_relay else target.endpoint
    return OutboundRequest(url, body, headers, target.timeout)


def relay_url(target_id: str) -> str:
    return f"{RELAY_ENDPOINT}{target_id}"


def masked_headers(lines: Iterable[tuple[str, str]], secret: Mapping[str, str]) -> dict[str, str]:
    """Header lines as shown and logged: the values of the target's custom headers
    (``secret``, by name) replaced by ``HEADER_MASK``, every other value as it is: the
    values are secrets (an Authorization value for the receiver), the names are not."""
    return {name: HEADER_MASK if name in secret else value for name, value in lines}
