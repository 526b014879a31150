"""Targets: what an endpoint is and the rules a target must satisfy."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from keyhook.crypto.secretbox import SecretBox
from keyhook.domain.durations import format_duration, parse_duration
from keyhook.errors import field_error

MIN_TIMEOUT_SECONDS = 0.001
MAX_TIMEOUT_SECONDS = 270.0
MAX_HEADERS = 20
#: What the API shows for a custom header's value; sent back in an update, it keeps
#: the stored value (custom header values are write-only).
HEADER_MASK = "********"
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$")
# RFC 9110 §5.5 field-value: visible characters (obs-text, i.e. non-ASCII, included;
# it is sent as UTF-8) with spaces or tabs between them; no control characters (DEL,
# ESC and the C1 range included) and no whitespace around it.
_VISIBLE = "\x21-\x7e\xa0-\ud7ff\ue000-\U0010ffff"
_HEADER_VALUE = re.compile(f"(?:[{_VISIBLE}]+(?:[ \t]+[{_VISIBLE}]+)*)?")
MAX_HEADER_VALUE = 8192
# Headers Keyhook sets itself; a target may not replace them.
_RESERVED_HEADERS = {
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "traceparent",
    "connection",
    "transfer-encoding",
    "x-zitadel-signature",
    "zitadel-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
}
# Headers that change how the request is sent or read rather than what it says; a
# target setting them would break every call to it (or the answer's decoding).
_SEMANTIC_HEADERS = {
    "te",
    "trailer",
    "upgrade",
    "expect",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "content-encoding",
    "accept-encoding",
    "range",
    "if-range",
}
HEADER_RULES = (
    "visible characters with spaces or tabs between them, at most 8192 characters, "
    "no control characters and no whitespace around the value"
)
#: The endpoint of a relay target: Keyhook's own relay to a ``keyhook listen`` attached to
#: it (docs/cli.md, "listen") instead of a URL. The target keeps its type, timeout and
#: ``interruptOnError``, so it is called exactly as an HTTP target of that type.
RELAY_ENDPOINT = "relay:"
TARGET_TYPES = "one of restWebhook: {interruptOnError}, restCall: {interruptOnError}, restAsync: {}"


class PayloadType(StrEnum):
    """How a call's payload is sent (ZITADEL v4's ``payloadType``; docs/api.md,
    "Payload types")."""

    JSON = "PAYLOAD_TYPE_JSON"
    JWT = "PAYLOAD_TYPE_JWT"
    JWE = "PAYLOAD_TYPE_JWE"


PAYLOAD_UNSPECIFIED = "PAYLOAD_TYPE_UNSPECIFIED"
PAYLOAD_TYPES = "PAYLOAD_TYPE_JSON (the default), PAYLOAD_TYPE_JWT or PAYLOAD_TYPE_JWE"
# Protobuf JSON may write an enum as its number.
_PAYLOAD_NUMBERS = {
    0: PAYLOAD_UNSPECIFIED,
    1: "PAYLOAD_TYPE_JSON",
    2: "PAYLOAD_TYPE_JWT",
    3: "PAYLOAD_TYPE_JWE",
}


def parse_payload_type(value: object) -> PayloadType | None:
    """The payload type a create or update body names; None for none or
    ``PAYLOAD_TYPE_UNSPECIFIED`` (create: JSON; update: unchanged, as in ZITADEL)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = _PAYLOAD_NUMBERS.get(value, value)
    if value == PAYLOAD_UNSPECIFIED:
        return None
    try:
        return PayloadType(value)  # type: ignore[arg-type]
    except ValueError:
        raise field_error("payloadType", f"is {value!r}", PAYLOAD_TYPES) from None


@dataclass(frozen=True)
class EncryptionKey:
    """A target's active public key: what a JWE payload is encrypted to."""

    id: str
    pem: str
    algorithm: str  # the JWE key-management "alg"
    expires_at: datetime | None = None

    def usable(self, at: datetime) -> bool:
        return self.expires_at is None or self.expires_at > at


class TargetType(StrEnum):
    REST_WEBHOOK = "restWebhook"
    REST_CALL = "restCall"
    REST_ASYNC = "restAsync"


@dataclass(frozen=True)
class SigningKey:
    key: str
    expires_at: datetime | None = None  # None: the current key


@dataclass(frozen=True)
class Target:
    id: str
    name: str
    endpoint: str
    timeout: float
    type: TargetType
    interrupt_on_error: bool
    headers: dict[str, str] = field(default_factory=dict)
    signing_keys: tuple[SigningKey, ...] = ()
    paused: bool = False
    payload_type: PayloadType = PayloadType.JSON
    # The active public key of a JWE target (None: none is active).
    encryption_key: EncryptionKey | None = None

    @property
    def is_relay(self) -> bool:
        return self.endpoint == RELAY_ENDPOINT

    def valid_keys(self, at: datetime) -> list[str]:
        """Signing keys to sign with at ``at``: still-valid old keys first, the current last."""
        old = [k for k in self.signing_keys if k.expires_at is not None and k.expires_at > at]
        old.sort(key=lambda k: k.expires_at or at)
        current = [k for k in self.signing_keys if k.expires_at is None]
        return [k.key for k in old + current]


def validate_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise field_error("name", "is required and must be a non-empty string")
    if len(name) > 200:
        raise field_error("name", "is longer than 200 characters")
    return name.strip()


def validate_timeout(value: object) -> float:
    # Below a millisecond no answer can arrive (and the value would not even show: "0ms").
    return parse_duration(
        value,
        "timeout",
        at_least=MIN_TIMEOUT_SECONDS,
        at_most=MAX_TIMEOUT_SECONDS,
        allowed="at least 1ms, at most 270s",
    )


def format_timeout(seconds: float) -> str:
    return format_duration(seconds)


def parse_target_type(body: dict[str, object]) -> tuple[TargetType, bool]:
    """The target type and its ``interruptOnError`` from a create or update body."""
    present = [t for t in TargetType if body.get(t.value) is not None]
    unknown = [k for k in body if k.startswith("rest") and k not in {t.value for t in TargetType}]
    if unknown:
        raise field_error(unknown[0], "is not a target type", TARGET_TYPES)
    if len(present) != 1:
        problem = (
            "is missing" if not present else f"has {len(present)} types ({', '.join(present)})"
        )
        raise field_error("targetType", problem, TARGET_TYPES)
    kind = present[0]
    options = body[kind.value]
    if not isinstance(options, dict):
        raise field_error(kind.value, "must be an object", TARGET_TYPES)
    interrupt = options.get("interruptOnError", False)
    if not isinstance(interrupt, bool):
        raise field_error(f"{kind.value}.interruptOnError", "must be true or false")
    if kind is TargetType.REST_ASYNC and interrupt:
        raise field_error(
            "restAsync.interruptOnError",
            "is not available for restAsync targets",
            "restWebhook or restCall with interruptOnError",
        )
    return kind, interrupt


def same_origin(one: str, other: str) -> bool:
    """Whether two endpoints are the same receiver as far as secrets go: scheme, host
    and port (RFC 6454's origin). Custom header values follow a target only within it."""

    def origin(url: str) -> tuple[str, str, int | None]:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
        return scheme, (parts.hostname or "").lower(), port

    try:
        return origin(one) == origin(other)
    except ValueError:  # a port out of range: not an origin one can compare
        return False


def validate_headers(headers: object) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, dict):
        raise field_error("headers", "must be an object of header names to string values")
    if len(headers) > MAX_HEADERS:
        raise field_error("headers", f"has {len(headers)} entries", f"at most {MAX_HEADERS}")
    clean: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise field_error(f"headers.{name}", "is not a valid header name", "RFC 9110 tokens")
        if name.lower() in _RESERVED_HEADERS:
            raise field_error(f"headers.{name}", "is set by Keyhook and cannot be replaced")
        if name.lower() in _SEMANTIC_HEADERS:
            raise field_error(
                f"headers.{name}",
                "changes how the call is sent, not what it says, and cannot be set",
                "headers such as Authorization or X-Api-Key",
            )
        if not isinstance(value, str):
            raise field_error(f"headers.{name}", "must be a string", HEADER_RULES)
        if len(value) > MAX_HEADER_VALUE or not _HEADER_VALUE.fullmatch(value):
            problem = "is not a valid header value"
            bad = next((c for c in value if _is_control(c)), None)
            if bad is not None:
                problem += f" (it contains {bad!r})"
            raise field_error(f"headers.{name}", problem, HEADER_RULES)
        clean[name] = value
    return clean


def _is_control(c: str) -> bool:
    return c != "\t" and (c < " " or "\x7f" <= c <= "\x9f" or "\ud800" <= c <= "\udfff")


def target_from_record(
    record: Mapping[Any, Any], box: SecretBox, encryption_key: EncryptionKey | None = None
) -> Target:
    """A :class:`Target` from a read-table row, its secrets opened with ``box``."""
    keys = json.loads(box.open(record["signing_keys_sealed"]))
    headers = json.loads(box.open(record["headers_sealed"])) if record["headers_sealed"] else {}
    return Target(
        id=record["id"],
        name=record["name"],
        endpoint=record["endpoint"],
        timeout=record["timeout_seconds"],
        type=TargetType(record["target_type"]),
        interrupt_on_error=record["interrupt_on_error"],
        paused=bool(record.get("paused", False)),
        payload_type=PayloadType(record.get("payload_type") or PayloadType.JSON),
        encryption_key=encryption_key,
        headers=headers,
        signing_keys=tuple(
            SigningKey(k["key"], datetime.fromisoformat(k["expiresAt"]) if k["expiresAt"] else None)
            for k in keys
        ),
    )


def loggable(text: str, limit: int = 300) -> str:
    """A receiver's text fit for one log line: control characters escaped, at most
    ``limit`` characters (a target's message is the receiver's to choose)."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")
