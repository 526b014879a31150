"""Body bytes and call headers: what JavaScript receivers re-serialise must match."""

from __future__ import annotations

import json
import random
import re
import shutil
import struct
import subprocess
import time
from typing import Any

import orjson
import pytest

from keyhook.actions.wire import USER_AGENT, encode_body, request_headers, traceparent
from keyhook.crypto.signing import signature_headers
from keyhook.crypto.tokens import new_signing_key

NODE = shutil.which("node")
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$")
INCOMING = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

ROUNDTRIP = r"""
const raw = require('fs').readFileSync(0, 'utf8');
process.stdout.write(JSON.stringify(JSON.parse(raw)));
"""


def js_roundtrip(body: bytes) -> bytes:
    """``JSON.stringify(JSON.parse(body))`` as Node.js computes it, UTF-8 encoded."""
    if NODE is None:
        pytest.skip("node is not on PATH: JavaScript's re-serialisation cannot be checked")
    done = subprocess.run(
        [NODE, "-e", ROUNDTRIP], input=body, capture_output=True, timeout=30, check=True
    )
    return done.stdout


# --- encode_body --------------------------------------------------------------------------


def test_compact_utf8_with_non_ascii_unescaped() -> None:
    payload = {"user": {"givenName": "Zoë", "familyName": "山田", "nick": "🦊", "n": [1, 2]}}
    body = encode_body(payload)
    assert body == '{"user":{"givenName":"Zoë","familyName":"山田","nick":"🦊","n":[1,2]}}'.encode()
    assert orjson.loads(body) == payload


def test_string_escapes_are_the_ones_javascript_writes() -> None:
    value = 'q"b\\s/ \b\f\n\r\t \x00\x1f\x7f \u2028\u2029 é 😀'
    body = encode_body({"v": value})
    assert body == (
        '{"v":"q\\"b\\\\s/ \\b\\f\\n\\r\\t \\u0000\\u001f\x7f \u2028\u2029 é 😀"}'.encode()
    )
    assert js_roundtrip(body) == body


def test_integral_floats_print_without_point() -> None:
    payload = {"a": 1.0, "b": -0.0, "c": -42.0, "d": 2.0**53, "e": 1e20, "f": 1e21, "g": 7}
    assert encode_body(payload) == (
        b'{"a":1,"b":0,"c":-42,"d":9007199254740992,"e":100000000000000000000,"f":1e+21,"g":7}'
    )


def test_floats_beyond_2_53_print_shortest_digits_like_javascript() -> None:
    # JavaScript prints the shortest round-tripping digits padded with zeros,
    # not the exact integer value of the double.
    assert encode_body({"v": 2.0**60}) == b'{"v":1152921504606847000}'
    assert encode_body({"v": -(2.0**64)}) == b'{"v":-18446744073709552000}'


def test_small_floats_use_decimal_notation_from_1e_minus_6() -> None:
    assert encode_body({"v": [1.5e-6, 1e-6, 9.99e-7, 0.1, 123.456]}) == (
        b'{"v":[0.0000015,0.000001,9.99e-7,0.1,123.456]}'
    )


def test_non_finite_floats_become_null_like_javascript() -> None:
    assert encode_body({"v": [float("nan"), float("inf"), -float("inf")]}) == (
        b'{"v":[null,null,null]}'
    )


def test_floats_survive_javascript_reserialisation() -> None:
    rng = random.Random(20240611)
    floats = [rng.random() * 10 ** rng.randint(-30, 30) for _ in range(3000)]
    floats += [float(rng.randint(0, 10**22)) * rng.choice((1, -1)) for _ in range(1000)]
    floats += [struct.unpack("<d", rng.randbytes(8))[0] for _ in range(3000)]
    floats = [f for f in floats if f == f and abs(f) != float("inf")]
    body = encode_body({"floats": floats})
    assert js_roundtrip(body) == body
    parsed = [float(v) for v in orjson.loads(body)["floats"]]
    assert parsed == floats, "the values themselves are unchanged"


def test_integer_like_keys_come_first_in_ascending_order() -> None:
    payload = {
        "b": 1,
        "10": 2,
        "2": 3,
        "a": 4,
        "01": 5,
        "4294967294": 6,
        "4294967295": 7,
        "-1": 8,
        "1.5": 9,
        "0": 10,
    }
    body = encode_body(payload)
    keys = list(json.loads(body))
    assert keys == ["0", "2", "10", "4294967294", "b", "a", "01", "4294967295", "-1", "1.5"]
    assert js_roundtrip(body) == body


def test_integer_like_keys_are_ordered_at_every_depth() -> None:
    payload = {"list": [{"z": 1, "3": 2, "1": 3}], "nested": {"x": {"20": 0, "y": 1, "5": 2}}}
    body = encode_body(payload)
    assert body == b'{"list":[{"1":3,"3":2,"z":1}],"nested":{"x":{"5":2,"20":0,"y":1}}}'
    assert js_roundtrip(body) == body


def test_realistic_payload_survives_javascript_reserialisation() -> None:
    payload: dict[str, Any] = {
        "fullMethod": "/zitadel.user.v2.UserService/AddHumanUser",
        "instanceID": "913920651960517603",
        "userID": "",
        "request": {
            "user": {
                "profile": {"givenName": "Zoë", "familyName": "Ærøskøbing 山田 👩‍💻"},
                "metadata": [{"key": "q", "value": 'a "b" \\c\\ \u2028 \x01'}],
            },
            "scores": {"2": 0.5, "10": 1.0, "1e3": 1e3, "neg": -1e-9},
        },
    }
    body = encode_body(payload)
    assert js_roundtrip(body) == body


# --- traceparent ---------------------------------------------------------------------------


def test_traceparent_starts_a_new_trace() -> None:
    first, second = traceparent(), traceparent(None)
    assert TRACEPARENT.match(first) and TRACEPARENT.match(second)
    assert first.split("-")[1] != second.split("-")[1]


def test_traceparent_continues_an_incoming_trace_with_a_new_span() -> None:
    spans = set()
    for _ in range(5):
        match = TRACEPARENT.match(traceparent(INCOMING))
        assert match
        assert match.group(1) == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert match.group(2) != "00f067aa0ba902b7"
        spans.add(match.group(2))
    assert len(spans) == 5, "every call has its own span id"


@pytest.mark.parametrize(
    "incoming",
    [
        "",
        "garbage",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ],
)
def test_traceparent_ignores_an_invalid_incoming_header(incoming: str) -> None:
    match = TRACEPARENT.match(traceparent(incoming))
    assert match
    assert match.group(1) not in [*incoming.split("-"), "0" * 32]
    assert match.group(1).lower() != "4bf92f3577b34da6a3ce929d0e0e4736"


# --- request_headers -----------------------------------------------------------------------


def test_request_headers() -> None:
    keys = [new_signing_key(), new_signing_key()]
    body = encode_body({"v": "Zoë"})
    now = int(time.time())
    headers = request_headers(
        keys=keys,
        msg_id="msg_1",
        body=body,
        custom={"Authorization": "Bearer xyz", "X-Tenant": "acme"},
        trace=INCOMING,
        timestamp=now,
    )
    assert headers["Authorization"] == "Bearer xyz"
    assert headers["X-Tenant"] == "acme"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("Keyhook/")
    match = TRACEPARENT.match(headers["traceparent"])
    assert match and match.group(1) == "4bf92f3577b34da6a3ce929d0e0e4736"
    for name, value in signature_headers(keys, "msg_1", now, body).items():
        assert headers[name] == value


def test_request_headers_stamp_the_current_time_by_default() -> None:
    before = int(time.time())
    headers = request_headers(
        keys=[new_signing_key()], msg_id="msg_2", body=b"{}", custom={}, trace=None
    )
    assert before <= int(headers["webhook-timestamp"]) <= int(time.time())
    assert headers["ZITADEL-Signature"].startswith(f"t={headers['webhook-timestamp']},v1=")
