"""A strict protobuf-JSON check of UserService v2 answers against the proto's messages.

The messages (json names, types, oneofs) were taken from ``@zitadel/proto`` 1.3.1
(``tests/fixtures/zitadel_user_v2_responses.json``). The check refuses what a strict
protojson decoder refuses: a member the message does not have, a value of the wrong
JSON type (64-bit integers as decimal strings, 32-bit ones as numbers, ``bytes`` as
base64, enums by name, timestamps as RFC 3339 text) and two members of one oneof;
``null`` is any field's default, as protobuf JSON says.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson

_SCHEMA = Path(__file__).parent.parent / "fixtures" / "zitadel_user_v2_responses.json"
_TIMESTAMP = "google.protobuf.Timestamp"
_DIGITS = re.compile(r"-?[0-9]+")


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(_SCHEMA.read_bytes())
    return loaded


def response_problems(method: str, answer: Any) -> list[str]:
    """What a strict decoder would refuse in ``answer`` to UserService's ``method``."""
    return _message(schema()["methods"][method], answer, "")


def _message(type_name: str, value: Any, at: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{at or 'answer'}: {type_name} must be an object"]
    fields: dict[str, dict[str, Any]] = schema()["messages"][type_name]
    problems = [f"{at}{k}: not a member of {type_name}" for k in value if k not in fields]
    seen: dict[str, str] = {}
    for name, item in value.items():
        spec = fields.get(name)
        if spec is None:
            continue
        oneof = spec.get("oneof")
        if oneof is not None:
            if oneof in seen:
                problems.append(f"{at}{name}: oneof {oneof} already has {seen[oneof]}")
            seen[oneof] = name
        if spec.get("list"):
            if not isinstance(item, list):
                problems.append(f"{at}{name}: must be a list")
                continue
            for i, element in enumerate(item):
                problems += _value(spec, element, f"{at}{name}[{i}]")
        else:
            problems += _value(spec, item, f"{at}{name}")
    return problems


def _value(spec: dict[str, Any], value: Any, at: str) -> list[str]:
    if value is None:
        return []  # protobuf JSON: null is any field's default
    if "message" in spec:
        if spec["message"] == _TIMESTAMP:
            return _timestamp(value, at)
        return _message(spec["message"], value, at + ".")
    if "enum" in spec:
        names = schema()["enums"][spec["enum"]]
        return [] if value in names else [f"{at}: {value!r} is not one of {names}"]
    scalar = spec["scalar"]
    if scalar == 8:
        return [] if isinstance(value, bool) else [f"{at}: {value!r} is not a JSON boolean"]
    if scalar == 9:
        return [] if isinstance(value, str) else [f"{at}: {value!r} is not a JSON string"]
    if scalar in (3, 4):
        digits = isinstance(value, str) and _DIGITS.fullmatch(value) is not None
        return [] if digits else [f"{at}: {value!r} is not a 64-bit integer as a decimal string"]
    if scalar in (5, 13):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{at}: {value!r} is not a JSON number"]
    if scalar == 12:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            return [f"{at}: {value!r} is not base64"]
        return []
    return [f"{at}: scalar type {scalar} is not checked here"]


def _timestamp(value: Any, at: str) -> list[str]:
    if not isinstance(value, str) or not value.endswith("Z"):
        return [f"{at}: {value!r} is not an RFC 3339 UTC timestamp"]
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return [f"{at}: {value!r} is not an RFC 3339 timestamp"]
    return []
