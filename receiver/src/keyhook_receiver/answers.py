"""Answering synchronous hooks in the forms Keyhook reads (docs/receivers.md).

Every builder returns an :class:`Answer`: the HTTP status and the JSON body to send,
which any framework writes (``answer.status``, ``answer.body`` as bytes,
``answer.headers``). The guide's (seed's) form is the default; ``form="zitadel"``
writes ZITADEL's:

* allow: ``200 {"status": "success"}`` (ZITADEL: ``200 {}``);
* reject: the status (4xx) and ``{"status": "error", "message": …}`` (ZITADEL: ``200
  {"forwardedStatusCode": …, "forwardedErrorMessage": …}``) — the API caller gets that
  status and message when the target has ``interruptOnError``;
* modify a request or response: ``{"status": "success", "request": …}`` (ZITADEL: the
  bare message, for ``restCall`` targets);
* function answers (:class:`Claims`): ``{"claims": {…}}`` plus ZITADEL's
  ``set_user_metadata`` (values base64, as ZITADEL's bytes) and ``append_log_claims``,
  or ZITADEL's form only (``append_claims``).

Standard library only.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Literal

Form = Literal["seed", "zitadel"]


@dataclass(frozen=True)
class Answer:
    status: int
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})

    @property
    def body(self) -> bytes:
        return json.dumps(self.payload, separators=(",", ":"), ensure_ascii=False).encode()


def allow(*, form: Form = "seed") -> Answer:
    """Let the call go on unchanged."""
    return Answer(200, {} if form == "zitadel" else {"status": "success"})


def reject(status: int, message: str, *, form: Form = "seed") -> Answer:
    """Refuse the call: the API caller gets ``status`` (400 to 499) and ``message``."""
    if not 400 <= status < 500:
        raise ValueError(f"a rejection's status is 400-499 (the caller's error), not {status}")
    if form == "zitadel":
        return Answer(200, {"forwardedStatusCode": status, "forwardedErrorMessage": message})
    return Answer(status, {"status": "error", "message": message})


def modify_request(request: dict[str, Any], *, form: Form = "seed") -> Answer:
    """Go on with ``request`` in place of the caller's (a ``restCall`` target; the seed's
    form works for ``restWebhook`` too). Secrets Keyhook left out stay as they were."""
    return Answer(200, request if form == "zitadel" else {"status": "success", "request": request})


def modify_response(response: dict[str, Any], *, form: Form = "seed") -> Answer:
    """Give the caller ``response`` in place of the method's."""
    if form == "zitadel":
        return Answer(200, response)
    return Answer(200, {"status": "success", "response": response})


@dataclass
class Claims:
    """A function's answer: claims to add to the token, metadata to set on the user,
    lines for the target's log claim. ``Claims().add("department", "eng").answer()``."""

    claims: dict[str, Any] = field(default_factory=dict)
    metadata: list[tuple[str, str]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    def add(self, name: str, value: Any) -> Claims:
        self.claims[name] = value
        return self

    def set_metadata(self, key: str, value: str) -> Claims:
        self.metadata.append((key, value))
        return self

    def log(self, line: str) -> Claims:
        self.logs.append(line)
        return self

    def answer(self, *, form: Form = "seed") -> Answer:
        payload: dict[str, Any] = {}
        if form == "zitadel":
            if self.claims:
                payload["append_claims"] = [{"key": k, "value": v} for k, v in self.claims.items()]
        elif self.claims:
            payload["claims"] = self.claims
        if self.metadata:
            # ZITADEL's metadata values are bytes, sent base64; Keyhook decodes them. Always
            # encoded, so a value that happens to look like base64 arrives as written.
            payload["set_user_metadata"] = [
                {"key": k, "value": base64.b64encode(v.encode()).decode()} for k, v in self.metadata
            ]
        if self.logs:
            payload["append_log_claims"] = list(self.logs)
        return Answer(200, payload)
