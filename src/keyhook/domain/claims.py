"""Claims a function execution may add to a token, and the ones it may not touch.

Pure rules shared by every form of answer: the seed's ``{"claims": {…}}`` and
ZITADEL's ``append_claims`` / ``set_user_metadata`` / ``append_log_claims``.
Reserved claims (``iss``, ``sub``, ``aud``, … and anything under
``urn:zitadel:iam``) are never overwritten; each refusal is said in the log
claim, so whoever reads the token learns why a claim is missing.
"""

from __future__ import annotations

import base64
import binascii
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from keyhook.domain.user import MAX_METADATA_VALUE, validate_metadata_key
from keyhook.errors import InvalidArgument

RESERVED = frozenset(
    {
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "azp",
        "nonce",
        "auth_time",
        "at_hash",
        "sid",
        # Not in DESIGN.md's list, but a target setting them would misstate who the
        # token is for or what it allows (RFC 9068 §2.2, RFC 8693 §4).
        "client_id",
        "scope",
        "amr",
        "acr",
        "typ",
        "cnf",
        "act",
    }
)
RESERVED_PREFIX = "urn:zitadel:iam"


def log_claim(target_name: str) -> str:
    """Where a target's log lines go in the token (ZITADEL's name for them)."""
    return f"{RESERVED_PREFIX}:action:{target_name}:log"


def is_reserved(name: str) -> bool:
    return name in RESERVED or name.startswith(RESERVED_PREFIX)


@dataclass
class Complement:
    """What the targets of one function execution added, in order."""

    claims: dict[str, Any] = field(default_factory=dict)
    metadata: list[tuple[str, str]] = field(default_factory=list)
    logs: dict[str, list[str]] = field(default_factory=dict)  # log claim name -> lines

    def log(self, target_name: str, line: str) -> None:
        self.logs.setdefault(log_claim(target_name), []).append(line)

    def add_claim(self, target_name: str, name: object, value: Any) -> None:
        if not isinstance(name, str) or not name:
            self.log(target_name, f"a claim without a name was ignored: {name!r}")
        elif is_reserved(name):
            self.log(target_name, f"claim {name!r} is reserved and was not changed")
        else:
            self.claims[name] = value

    def merge(self, other: Complement) -> None:
        """Add what a later function execution added (its claims win over earlier ones)."""
        self.claims.update(other.claims)
        self.metadata += other.metadata
        for name, lines in other.logs.items():
            self.logs.setdefault(name, []).extend(lines)

    def token_claims(self) -> dict[str, Any]:
        """The claims and log claims as they go into a token."""
        return {**self.claims, **self.logs}

    def absorb(self, target_name: str, answer: Any) -> None:
        """Take a target's answer in either form; anything malformed is logged, not fatal."""
        if not isinstance(answer, dict):
            return
        seed_claims = answer.get("claims")
        if isinstance(seed_claims, dict):
            for name, value in seed_claims.items():
                self.add_claim(target_name, name, value)
        for item in _items(answer.get("append_claims")):
            self.add_claim(target_name, _member(item, "key"), _member(item, "value"))
        for item in _items(answer.get("set_user_metadata")):
            key, value = _member(item, "key"), _member(item, "value")
            if isinstance(value, str):
                value = metadata_text(value)
            if not (isinstance(key, str) and key and isinstance(value, str)):
                self.log(
                    target_name, f"metadata item ignored (needs string key and value): {item!r}"
                )
                continue
            try:
                validate_metadata_key(key, "set_user_metadata.key")
            except InvalidArgument as refusal:
                self.log(target_name, f"metadata item ignored: {refusal}")
                continue
            if "\x00" in key or "\x00" in value:
                # The API refuses NUL in every message (no database stores it); so here.
                self.log(
                    target_name,
                    f"metadata {key!r} ignored: NUL characters (\\u0000) are not allowed",
                )
                continue
            if len(value) > MAX_METADATA_VALUE:
                self.log(
                    target_name,
                    f"metadata {key!r} ignored: the value is over {MAX_METADATA_VALUE} characters",
                )
                continue
            self.metadata.append((key, value))
        for line in answer.get("append_log_claims") or []:
            if isinstance(line, str):
                self.log(target_name, line)


def _member(item: dict[str, Any], name: str) -> Any:
    """``item[name]`` in any letter case: ZITADEL's Go receivers marshal ``Key``/``Value``."""
    if name in item:
        return item[name]
    return next((v for k, v in item.items() if k.lower() == name), None)


def metadata_text(value: str) -> str:
    """A ``set_user_metadata`` value as text.

    ZITADEL's metadata values are bytes, so its receivers send them base64-encoded
    (Go's ``[]byte``). A value that is strict base64 of printable UTF-8 text is
    decoded; anything else is taken as written.
    """
    if not value or len(value) % 4:
        return value
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return value
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in decoded):
        return value
    return decoded


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
