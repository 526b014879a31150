"""proto3 JSON for the Connect form, by ZITADEL's published definitions.

``zitadel_protos.json`` (generated from the npm package ``@zitadel/proto`` by
``tests/node/zitadel/schema.mjs``; a test keeps it current) holds every service
of those definitions with its methods, and the messages of each ZITADEL method
Keyhook serves. For those methods, ``POST /<full method>`` reads and writes
protobuf's JSON mapping, as ZITADEL's own Connect clients do:

- in: a member by its lowerCamel JSON name or its original proto name; a 64- or
  32-bit integer as a number or a string of digits; an enum by name or number;
  ``null`` as absent (protojson's rule). Durations and timestamps are strings
  already, and Keyhook's messages read them.
- out: exactly the proto message: members it does not have (Keyhook's additions,
  which the REST form keeps) left out, so a strict decoder (unknown fields
  refused) reads every answer; 64-bit integers as strings; default values left
  out as protojson does (an empty string, a zero, ``false``, an empty list) unless
  the member has presence (``optional``, or a oneof member); durations in
  protojson's seconds form (``"0.500s"``, not ``"500ms"``).

No I/O beyond reading the packaged schema once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from keyhook.domain.durations import parse_duration
from keyhook.errors import KeyhookError, field_error

_INTEGERS = {"int32", "uint32", "sint32", "fixed32", "sfixed32"}
_LONGS = {"int64", "uint64", "sint64", "fixed64", "sfixed64"}
_WRAPPERS = {
    "google.protobuf.StringValue": "string",
    "google.protobuf.BoolValue": "bool",
    "google.protobuf.Int32Value": "int32",
    "google.protobuf.UInt32Value": "uint32",
    "google.protobuf.Int64Value": "int64",
    "google.protobuf.UInt64Value": "uint64",
    "google.protobuf.DoubleValue": "double",
    "google.protobuf.FloatValue": "float",
    "google.protobuf.BytesValue": "bytes",
}
_AS_JSON = {
    "google.protobuf.Struct",
    "google.protobuf.Value",
    "google.protobuf.ListValue",
    "google.protobuf.Any",
    "google.protobuf.Empty",
    "google.protobuf.FieldMask",
}


@dataclass(frozen=True)
class Field:
    name: str  # the proto's name (snake_case)
    json: str  # protojson's name (lowerCamel)
    kind: str  # scalar | enum | message
    type: str  # a scalar's name, or the enum's or message's full name
    repeated: bool = False
    map: str | None = None  # the key type of a map
    oneof: str | None = None
    optional: bool = False

    @property
    def has_presence(self) -> bool:
        """Whether protojson writes the member even when it holds the default."""
        return (
            self.oneof is not None
            or self.optional
            or (self.kind == "message" and not self.repeated and self.map is None)
        )


@dataclass(frozen=True)
class Schema:
    source: str
    services: dict[str, list[str]]  # full service name -> its method names
    methods: dict[str, tuple[str, str]]  # full method -> (input, output) message
    messages: dict[str, dict[str, Field]]  # message -> JSON name -> field
    enums: dict[str, dict[str, int]]

    def has(self, full_method: str) -> bool:
        return full_method in self.methods

    def incoming(self, full_method: str, message: dict[str, Any]) -> dict[str, Any]:
        """A Connect request body in the JSON form Keyhook's messages read."""
        return self._read(self.methods[full_method][0], message, "")

    def outgoing(self, full_method: str, answer: dict[str, Any]) -> dict[str, Any]:
        """Keyhook's answer as exactly the method's response message."""
        return self._write(self.methods[full_method][1], answer, "", None)

    def written(self, full_method: str, answer: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Keyhook's answer as the response message, and the paths of the members it
        left out (``targets[].headers``: each list's items as one)."""
        dropped: list[str] = []
        out = self._write(self.methods[full_method][1], answer, "", dropped)
        return out, list(dict.fromkeys(dropped))

    def left_out(self, full_method: str, answer: dict[str, Any]) -> list[str]:
        """The members of ``answer`` the response message does not have (their paths)."""
        return self.written(full_method, answer)[1]

    # --- in ---------------------------------------------------------------------------

    def _read(self, message: str, value: dict[str, Any], path: str) -> dict[str, Any]:
        fields = self.messages.get(message)
        if fields is None:
            return value
        by_proto = {f.name: f for f in fields.values()}
        read: dict[str, Any] = {}
        for key, item in value.items():
            field = fields.get(key) or by_proto.get(key)
            if field is None:
                read[key] = item  # the message's own check names it
                continue
            if item is None and field.type != "google.protobuf.Value":
                continue
            if field.json in read:
                raise _twice(path, field)
            read[field.json] = self._read_member(field, item, f"{path}{field.json}")
        return read

    def _read_member(self, field: Field, item: Any, path: str) -> Any:
        if field.map is not None and isinstance(item, dict):
            return {k: self._read_one(field, v, f"{path}.{k}") for k, v in item.items()}
        if field.repeated and isinstance(item, list):
            return [self._read_one(field, v, f"{path}[{i}]") for i, v in enumerate(item)]
        return self._read_one(field, item, path)

    def _read_one(self, field: Field, item: Any, path: str) -> Any:
        if field.kind == "enum" and isinstance(item, int) and not isinstance(item, bool):
            names = [n for n, v in self.enums.get(field.type, {}).items() if v == item]
            return names[0] if names else item
        if field.kind == "scalar" and field.type in _INTEGERS | _LONGS:
            return _integer(item)
        if field.kind == "message" and field.type in _WRAPPERS:
            kind = _WRAPPERS[field.type]
            return _integer(item) if kind in _INTEGERS | _LONGS else item
        if field.kind == "message" and isinstance(item, dict):
            return self._read(field.type, item, path + ".")
        return item

    # --- out --------------------------------------------------------------------------

    def _write(
        self, message: str, value: dict[str, Any], path: str, dropped: list[str] | None
    ) -> dict[str, Any]:
        fields = self.messages.get(message)
        if fields is None:
            return value
        written: dict[str, Any] = {}
        for key, item in value.items():
            field = fields.get(key)
            if field is None:
                if dropped is not None:
                    dropped.append(path + key)
                continue
            if item is None:
                continue
            out = self._write_member(field, item, f"{path}{key}", dropped)
            if out is _DEFAULT and not field.has_presence:
                continue
            written[key] = self._present_default(field) if out is _DEFAULT else out
        return written

    def _write_member(self, field: Field, item: Any, path: str, dropped: list[str] | None) -> Any:
        if field.map is not None:
            if not isinstance(item, dict) or not item:
                return _DEFAULT
            return {
                str(k): self._write_one(field, v, f"{path}{{}}", dropped) for k, v in item.items()
            }
        if field.repeated:
            if not isinstance(item, list) or not item:
                return _DEFAULT
            return [self._write_one(field, v, f"{path}[]", dropped) for v in item]
        out = self._write_one(field, item, path, dropped)
        if field.kind == "enum" and self.enums.get(field.type, {}).get(out) == 0:
            return _DEFAULT
        if field.kind == "scalar" and out == _default_of(field):
            return _DEFAULT
        return out

    def _present_default(self, field: Field) -> Any:
        """What protojson writes for a member with presence that holds the default."""
        if field.kind == "enum":
            zero = [n for n, v in self.enums.get(field.type, {}).items() if v == 0]
            return zero[0] if zero else 0
        return _default_of(field)

    def _write_one(self, field: Field, item: Any, path: str, dropped: list[str] | None) -> Any:
        if field.kind == "enum":
            if isinstance(item, int) and not isinstance(item, bool):
                names = [n for n, v in self.enums.get(field.type, {}).items() if v == item]
                return names[0] if names else item
            return item
        if field.kind == "scalar":
            return _scalar(field.type, item)
        if field.type in _WRAPPERS:
            return _scalar(_WRAPPERS[field.type], item)
        if field.type == "google.protobuf.Duration":
            return protojson_duration(item)
        if field.type in _AS_JSON or field.type == "google.protobuf.Timestamp":
            return item
        if isinstance(item, dict):
            return self._write(field.type, item, path + ".", dropped)
        return item


class _Default:
    """A member holding its type's default: left out unless it has presence."""


_DEFAULT = _Default()


def _default_of(field: Field) -> Any:
    """A single member's default (lists and maps are left out empty before this)."""
    if field.kind == "scalar":
        if field.type == "bool":
            return False
        if field.type in ("string", "bytes"):
            return ""
        if field.type in _LONGS:
            return "0"
        return 0
    return {}


_DIGITS = re.compile(r"-?[0-9]{1,20}")


def _integer(item: Any) -> Any:
    # At most 20 digits (a uint64's): int() of 5,000 digits is an error of its own; the
    # message's check then names the field whatever the number.
    if isinstance(item, str) and _DIGITS.fullmatch(item):
        return int(item)
    return item


def _scalar(kind: str, item: Any) -> Any:
    if kind in _LONGS and isinstance(item, int | str) and not isinstance(item, bool):
        return str(item)
    if kind in _INTEGERS and isinstance(item, str) and item.isdigit():
        return int(item)
    return item


def protojson_duration(text: Any) -> Any:
    """Keyhook's ``"500ms"`` or ``"1m"`` as protojson's ``"0.500s"`` or ``"60s"``."""
    if not isinstance(text, str):
        return text
    try:
        seconds = parse_duration(text, "duration")
    except KeyhookError:
        return text
    nanos = round(seconds * 1_000_000_000)
    whole, fraction = divmod(nanos, 1_000_000_000)
    if fraction == 0:
        return f"{whole}s"
    digits = f"{fraction:09d}"
    for width in (3, 6):
        if digits[width:] == "0" * (9 - width):
            return f"{whole}.{digits[:width]}s"
    return f"{whole}.{digits}s"


def _twice(path: str, field: Field) -> KeyhookError:
    return field_error(
        path + field.json,
        f"is given twice (as {field.json!r} and as {field.name!r})",
        "one of the two names",
    )


def _field(raw: dict[str, Any]) -> Field:
    return Field(
        name=raw["name"],
        json=raw["json"],
        kind=raw["kind"],
        type=raw["type"],
        repeated=bool(raw.get("repeated")),
        map=raw.get("map"),
        oneof=raw.get("oneof"),
        optional=bool(raw.get("optional")),
    )


@cache
def zitadel_schema() -> Schema:
    raw = json.loads(resources.files("keyhook.api").joinpath("zitadel_protos.json").read_text())
    return Schema(
        source=raw["source"],
        services={name: list(s["methods"]) for name, s in raw["services"].items()},
        methods={name: (m["input"], m["output"]) for name, m in raw["methods"].items()},
        messages={
            name: {f["json"]: _field(f) for f in fields} for name, fields in raw["messages"].items()
        },
        enums=raw["enums"],
    )
