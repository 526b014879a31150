"""Testing a receiver: byte-exact signed requests for unit tests, and replaying real
traffic — recent payloads fetched from a Keyhook server's delivery and call logs — into
a handler, checking that every answer is one Keyhook would accept.

Standard library only (the replay talks to the server with ``urllib``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from keyhook_receiver.answers import Answer, allow
from keyhook_receiver.errors import VerificationError
from keyhook_receiver.payloads import Call, EventCall, FunctionCall, RequestCall, parse


def sign(keys: str | Sequence[str], body: bytes, webhook_id: str, timestamp: int) -> dict[str, str]:
    """The signature headers Keyhook sends for ``body`` (every scheme, every key)."""
    keys = [keys] if isinstance(keys, str) else list(keys)

    def mac(key: bytes, data: bytes) -> bytes:
        return hmac.new(key, data, hashlib.sha256).digest()

    standard = " ".join(
        "v1,"
        + base64.b64encode(
            mac(
                base64.b64decode(k.removeprefix("whsec_")),
                f"{webhook_id}.{timestamp}.".encode() + body,
            )
        ).decode()
        for k in keys
    )
    zitadel = ",".join(
        [f"t={timestamp}"]
        + ["v1=" + mac(k.encode(), f"{timestamp}.".encode() + body).hex() for k in keys]
    )
    return {
        "Content-Type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard,
        "ZITADEL-Signature": zitadel,
        "X-Zitadel-Signature": "sha256=" + mac(keys[0].encode(), body).hex(),
    }


def signed_request(
    payload: Any,
    keys: str | Sequence[str],
    *,
    webhook_id: str | None = None,
    timestamp: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A request as Keyhook would send it: the body's bytes (compact JSON, UTF-8, as
    Keyhook encodes it; or ``payload`` itself if it is bytes) and every header."""
    body = (
        payload
        if isinstance(payload, bytes)
        else json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    )
    return body, sign(
        keys,
        body,
        webhook_id or f"msg_{secrets.randbelow(10**18)}",
        int(time.time()) if timestamp is None else timestamp,
    )


# --- replaying real traffic -----------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """An answer Keyhook would not accept, for a payload of the logs."""

    source: str  # "delivery <id>" or "call <id>"
    kind: str
    trigger: str
    problem: str


@dataclass
class Report:
    replayed: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def acceptable(call: Call, answer: Answer) -> str | None:
    """Why Keyhook would not take ``answer`` to ``call`` (None: it would)."""
    if isinstance(call, EventCall):
        return (
            None
            if 200 <= answer.status < 300
            else (f"answered {answer.status}: Keyhook retries the delivery (events need a 2xx)")
        )
    if answer.status >= 500 or 300 <= answer.status < 400:
        return f"answered {answer.status}: Keyhook reads it as the target failing"
    if 400 <= answer.status < 500:
        return None  # a rejection, which is a fine answer
    payload = answer.payload
    if isinstance(call, FunctionCall):
        known = {"claims", "append_claims", "set_user_metadata", "append_log_claims", "status"}
        unknown = set(payload) - known
        if unknown:
            return f"a function's answer with members Keyhook ignores: {', '.join(sorted(unknown))}"
        return None
    if payload.get("status") == "error" and not payload.get("message"):
        return "a refusal without a message: the caller would get no reason"
    return None


def _get(url: str, token: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 (the server the caller names)
        url.rstrip("/") + path,
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310
        return json.loads(reply.read())


def captured(
    url: str, token: str, since: timedelta = timedelta(days=1)
) -> Iterator[tuple[str, str, str, bytes]]:
    """(source, kind, trigger, body) of the server's deliveries and synchronous calls of
    the last ``since``; a delivery's body is the exact bytes sent; a call's is the
    record's start of what the target got (2,048 characters), so a long one is skipped."""
    moment = (datetime.now(UTC) - since).isoformat().replace("+00:00", "Z")
    offset = 0
    while True:
        page = _get(
            url,
            token,
            "/v2/actions/deliveries/search",
            {"from": moment, "query": {"offset": offset, "limit": 100, "asc": True}},
        )
        for d in page["deliveries"]:
            full = _get(url, token, f"/v2/actions/deliveries/{d['id']}")["delivery"]
            yield f"delivery {d['id']}", d["kind"], d["trigger"], full["body"].encode()
        if len(page["deliveries"]) < 100:
            break
        offset += 100
    offset = 0
    while True:
        page = _get(
            url,
            token,
            "/v2/actions/calls/search",
            {"from": moment, "query": {"offset": offset, "limit": 100, "asc": True}},
        )
        for c in page["calls"]:
            if c["kind"] != "test" and c.get("request"):
                yield f"call {c['id']}", c["kind"], c["trigger"], c["request"].encode()
        if len(page["calls"]) < 100:
            break
        offset += 100


def replay(
    handler: Callable[[Call], Answer | None],
    *,
    url: str,
    token: str,
    since: timedelta = timedelta(days=1),
) -> Report:
    """Run the last ``since`` of a server's captured traffic through ``handler`` (the
    function an adapter wraps) and report every answer Keyhook would not accept, and
    every payload the handler raised on. Signatures are not checked: the payloads come
    from the server's own log, through an authenticated API."""
    report = Report()
    for source, kind, trigger, body in captured(url, token, since):
        try:
            call = parse(body)
        except VerificationError:
            continue  # a call record cut at 2,048 characters: not the whole payload
        report.replayed += 1
        try:
            answer = handler(call) or allow()
        except Exception as error:  # the point: which payloads break the handler
            report.problems.append(Problem(source, kind, trigger, f"raised {error!r}"))
            continue
        problem = acceptable(call, answer)
        if problem:
            report.problems.append(Problem(source, kind, trigger, problem))
    return report


__all__ = [
    "Problem",
    "Report",
    "RequestCall",
    "acceptable",
    "captured",
    "replay",
    "sign",
    "signed_request",
]
