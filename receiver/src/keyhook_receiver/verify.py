"""Verifying a Keyhook call from its raw body bytes and headers.

Keyhook signs every call three ways (docs/receivers.md): Standard Webhooks
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64>`` over
``"<id>.<timestamp>.<body>"`` with the key's bytes after ``whsec_``), ZITADEL's
(``ZITADEL-Signature: t=<unix>,v1=<hex>`` over ``"<t>.<body>"``) and the guide's
(``X-Zitadel-Signature: sha256=<hex>`` over the body), the last two with the key
string's UTF-8 bytes. :class:`Verifier` prefers the strongest scheme present (the id
and the time signed, then the time, then neither), or the one it is pinned to; it
takes several keys (a rotation's overlap) and checks the timestamp both ways.
Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from keyhook_receiver.errors import VerificationError

Scheme = Literal["standard", "zitadel", "seed"]
#: The order "strongest present" is judged in.
SCHEMES: tuple[Scheme, ...] = ("standard", "zitadel", "seed")
DEFAULT_TOLERANCE = 300.0  # seconds, either way (Standard Webhooks' default)


@dataclass(frozen=True)
class Verified:
    """What a verified call proved: which scheme, with which key (0 the first given),
    its ``webhook-id`` and signing time where the scheme signs them."""

    scheme: Scheme
    key_index: int
    webhook_id: str | None
    timestamp: int | None


def _mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _standard_key(key: str) -> bytes:
    try:
        return base64.b64decode(key.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "a Keyhook signing key is 'whsec_' and base64, as Keyhook shows it when the "
            "target is created"
        ) from None


def _lower(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {str(k).lower(): str(v) for k, v in items}


def _reserialised(body: bytes) -> list[bytes]:
    """The forms a JSON body takes when parsed and dumped again (the guide's mistake)."""
    try:
        value = json.loads(body)
    except ValueError:
        return []
    forms = {
        json.dumps(value, separators=separators, ensure_ascii=ascii_only).encode()
        for separators in ((", ", ": "), (",", ":"))
        for ascii_only in (True, False)
    }
    forms.discard(body)
    return sorted(forms)


class Verifier:
    """Verifies calls signed with any of ``keys`` (a target's key; during a rotation's
    overlap, the old and the new).

    ``tolerance`` is how far the signed time may be from now, either way, in seconds
    (``None`` checks no time: for replays of old deliveries). ``scheme`` pins one
    scheme; by default the strongest present decides.
    """

    def __init__(
        self,
        keys: str | Sequence[str],
        *,
        tolerance: float | None = DEFAULT_TOLERANCE,
        scheme: Scheme | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = [keys] if isinstance(keys, str) else list(keys)
        if not self.keys:
            raise ValueError("give at least one signing key")
        self._standard = [_standard_key(k) for k in self.keys]
        self._raw = [k.encode() for k in self.keys]
        if scheme is not None and scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}, not {scheme!r}")
        self.scheme = scheme
        self.tolerance = tolerance
        self.clock = clock

    def verify(
        self, body: bytes, headers: Mapping[str, str] | Iterable[tuple[str, str]]
    ) -> Verified:
        """The call's proof, or :class:`VerificationError` saying why not. ``body`` must
        be the raw bytes as received, before any JSON parsing."""
        if not isinstance(body, bytes | bytearray | memoryview):
            raise VerificationError(
                "body_not_bytes",
                f"the body must be the raw bytes as received, not {type(body).__name__}: "
                "pass request.body / request.get_data(), never a parsed or re-dumped payload",
            )
        body = bytes(body)
        lowered = _lower(headers)
        scheme = self.scheme or next((s for s in SCHEMES if _present(s, lowered)), None)
        if scheme is None:
            raise VerificationError(
                "missing_header",
                "the request carries none of Keyhook's signature headers (webhook-signature, "
                "ZITADEL-Signature, X-Zitadel-Signature): is it from Keyhook, and does your "
                "framework pass the headers on?",
            )
        try:
            return self._verify(scheme, body, lowered)
        except VerificationError as error:
            if error.reason != "no_matching_signature":
                raise
            for form in _reserialised(body):
                try:
                    self._verify(scheme, form, lowered)
                except VerificationError:
                    continue
                raise VerificationError(
                    "body_reserialised",
                    "the signature matches the body only after it is parsed and dumped "
                    "again: pass the raw request body bytes as received, not "
                    "json.dumps(payload)",
                ) from None
            raise

    # -- the schemes -------------------------------------------------------------------

    def _verify(self, scheme: Scheme, body: bytes, headers: dict[str, str]) -> Verified:
        if scheme == "standard":
            return self._standard_scheme(body, headers)
        if scheme == "zitadel":
            return self._zitadel_scheme(body, headers)
        return self._seed_scheme(body, headers)

    def _check_time(self, stamp: str, header: str) -> int:
        try:
            moment = int(stamp)
        except ValueError:
            raise VerificationError(
                "malformed_header", f"{header}'s timestamp {stamp!r} is not Unix seconds"
            ) from None
        if self.tolerance is not None:
            now = self.clock()
            if moment < now - self.tolerance:
                raise VerificationError(
                    "timestamp_too_old",
                    f"the call was signed {now - moment:.0f} s ago, more than the "
                    f"{self.tolerance:.0f} s allowed: a replayed request? (verify a delivery "
                    "you resend yourself with tolerance=None)",
                )
            if moment > now + self.tolerance:
                raise VerificationError(
                    "timestamp_too_new",
                    f"the call is signed {moment - now:.0f} s in the future: check this "
                    "machine's clock (NTP)",
                )
        return moment

    def _standard_scheme(self, body: bytes, headers: dict[str, str]) -> Verified:
        msg_id = headers.get("webhook-id")
        stamp = headers.get("webhook-timestamp")
        given = headers.get("webhook-signature")
        if not (msg_id and stamp and given):
            missing = [
                n
                for n, v in (
                    ("webhook-id", msg_id),
                    ("webhook-timestamp", stamp),
                    ("webhook-signature", given),
                )
                if not v
            ]
            raise VerificationError("missing_header", f"no {', '.join(missing)} header")
        moment = self._check_time(stamp, "webhook-timestamp")
        wanted = [p.split(",", 1)[1] for p in given.split() if p.startswith("v1,")]
        if not wanted:
            raise VerificationError(
                "malformed_header", "webhook-signature holds no v1,<base64> signature"
            )
        signed = f"{msg_id}.{stamp}.".encode() + body
        for index, key in enumerate(self._standard):
            mine = base64.b64encode(_mac(key, signed)).decode()
            if any(hmac.compare_digest(mine, w) for w in wanted):
                return Verified("standard", index, msg_id, moment)
        raise VerificationError("no_matching_signature", _NO_MATCH)

    def _zitadel_scheme(self, body: bytes, headers: dict[str, str]) -> Verified:
        given = headers.get("zitadel-signature")
        if not given:
            raise VerificationError("missing_header", "no ZITADEL-Signature header")
        parts = [p.strip().split("=", 1) for p in given.split(",")]
        if any(len(p) != 2 for p in parts):
            raise VerificationError(
                "malformed_header", "ZITADEL-Signature is not t=<unix>,v1=<hex>[,v1=…]"
            )
        stamp = next((v for n, v in parts if n == "t"), None)
        wanted = [v for n, v in parts if n == "v1"]
        if stamp is None or not wanted:
            raise VerificationError("malformed_header", "ZITADEL-Signature lacks t= or v1=")
        moment = self._check_time(stamp, "ZITADEL-Signature")
        signed = f"{stamp}.".encode() + body
        for index, key in enumerate(self._raw):
            mine = _mac(key, signed).hex()
            if any(hmac.compare_digest(mine, w) for w in wanted):
                return Verified("zitadel", index, headers.get("webhook-id"), moment)
        raise VerificationError("no_matching_signature", _NO_MATCH)

    def _seed_scheme(self, body: bytes, headers: dict[str, str]) -> Verified:
        given = headers.get("x-zitadel-signature")
        if not given:
            raise VerificationError("missing_header", "no X-Zitadel-Signature header")
        if not given.startswith("sha256="):
            raise VerificationError("malformed_header", "X-Zitadel-Signature is not sha256=<hex>")
        for index, key in enumerate(self._raw):
            if hmac.compare_digest("sha256=" + _mac(key, body).hex(), given):
                return Verified("seed", index, headers.get("webhook-id"), None)
        raise VerificationError("no_matching_signature", _NO_MATCH)


_NO_MATCH = (
    "no signature matches the keys given: is it this target's key (GetTarget shows it), "
    "and during a rotation, are both keys given?"
)


def _present(scheme: Scheme, headers: dict[str, str]) -> bool:
    name = {
        "standard": "webhook-signature",
        "zitadel": "zitadel-signature",
        "seed": "x-zitadel-signature",
    }[scheme]
    return name in headers
