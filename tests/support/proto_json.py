"""A strict protobuf-JSON check of UserService v2 answers against the proto's messages.

The messages (json names, types, oneofs) are the server's own copy of ``@zitadel/proto``'s
(``src/keyhook/api/zitadel_protos.json``, generated and kept current by a test). The
check refuses what a strict
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
from typing import Any

from keyhook.api.protojson import Field, zitadel_schema

SERVICE = "/zitadel.user.v2.UserService/"
_TIMESTAMP = "google.protobuf.Timestamp"
_DIGITS = re.compile(r"-?[0-9]+")


def response_problems(method: str, answer: Any) -> list[str]:
    """What a strict decoder would refuse in ``answer`` to UserService's ``method``."""
    return _message(zitadel_schema().methods[SERVICE + method][1], answer, "")


def _message(type_name: str, value: Any, at: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{at or 'answer'}: {type_name} must be an object"]
    fields = zitadel_schema().messages[type_name]
    problems = [f"{at}{k}: not a member of {type_name}" for k in value if k not in fields]
    seen: dict[str, str] = {}
    for name, item in value.items():
        spec = fields.get(name)
        if spec is None:
            continue
        if spec.oneof is not None:
            if spec.oneof in seen:
                problems.append(f"{at}{name}: oneof {spec.oneof} already has {seen[spec.oneof]}")
            seen[spec.oneof] = name
        if spec.repeated:
            if not isinstance(item, list):
                problems.append(f"{at}{name}: must be a list")
                continue
            for i, element in enumerate(item):
                problems += _value(spec, element, f"{at}{name}[{i}]")
        else:
            problems += _value(spec, item, f"{at}{name}")
    return problems


def _value(spec: Field, value: Any, at: str) -> list[str]:
    if value is None:
        return []  # protobuf JSON: null is any field's default
    if spec.kind == "message":
        if spec.type == _TIMESTAMP:
            return _timestamp(value, at)
        return _message(spec.type, value, at + ".")
    if spec.kind == "enum":
        names = list(zitadel_schema().enums[spec.type])
        return [] if value in names else [f"{at}: {value!r} is not one of {names}"]
    if spec.type == "bool":
        return [] if isinstance(value, bool) else [f"{at}: {value!r} is not a JSON boolean"]
    if spec.type == "string":
        return [] if isinstance(value, str) else [f"{at}: {value!r} is not a JSON string"]
    if spec.type in ("int64", "uint64"):
        digits = isinstance(value, str) and _DIGITS.fullmatch(value) is not None
        return [] if digits else [f"{at}: {value!r} is not a 64-bit integer as a decimal string"]
    if spec.type in ("int32", "uint32"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{at}: {value!r} is not a JSON number"]
    if spec.type == "bytes":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            return [f"{at}: {value!r} is not base64"]
        return []
    return [f"{at}: scalar type {spec.type} is not checked here"]


def _timestamp(value: Any, at: str) -> list[str]:
    if not isinstance(value, str) or not value.endswith("Z"):
        return [f"{at}: {value!r} is not an RFC 3339 UTC timestamp"]
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return [f"{at}: {value!r} is not an RFC 3339 timestamp"]
    return []
