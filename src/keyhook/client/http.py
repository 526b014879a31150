"""One HTTP call to the server's API, or (``--dry-run``) the call it would make.

The standard library's client: one call at a time is all a command needs, and
it keeps ``keyhook --help`` fast (imported only when a call is made). Foreign
errors are translated here into :mod:`keyhook.client.errors` with a line that
says what to do. The token is sent, never printed: a dry run masks it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from keyhook.client.config import Credentials
from keyhook.client.errors import (
    AuthProblem,
    ClientError,
    NotFoundProblem,
    ServerProblem,
    TokenRefused,
    UsageProblem,
)

USER_AGENT = "keyhook-cli"


@dataclass(frozen=True)
class Call:
    verb: str
    url: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def shown(self) -> str:
        """The request as text, the Authorization header masked."""
        lines = [f"{self.verb} {self.url}"]
        for name, value in self.headers.items():
            lines.append(f"{name}: {'Bearer ****' if name == 'Authorization' else value}")
        if self.body is not None:
            lines += ["", json.dumps(self.body, indent=2, ensure_ascii=False)]
        return "\n".join(lines)


def route(path: str, values: dict[str, Any]) -> str:
    """``path`` with its ``{field}`` parts filled from ``values`` (taken out of it)."""
    for name in list(values):
        marker = "{" + name + "}"
        if marker in path:
            path = path.replace(marker, quote(str(values.pop(name)), safe=""))
    return path


def prepare(credentials: Credentials, verb: str, path: str, body: dict[str, Any] | None) -> Call:
    headers = {"Authorization": f"Bearer {credentials.token}", "User-Agent": USER_AGENT}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return Call(verb, credentials.url + path, body if verb != "GET" else None, headers)


def _problem_text(payload: Any) -> str:
    """The server's error message with its field details, one line."""
    if not isinstance(payload, dict):
        return ""
    message = str(payload.get("message", ""))
    parts = []
    for detail in payload.get("details") or []:
        if isinstance(detail, dict) and "field" in detail:
            part = f"{detail['field']}: {detail.get('problem', 'is not valid')}"
            if detail.get("allowed"):
                part += f" (allowed: {detail['allowed']})"
            if part not in message:
                parts.append(part)
    return "; ".join([message, *parts]) if parts else message


def _failure(status: int, payload: Any, url: str) -> ClientError:
    said = _problem_text(payload)
    if status == 401:
        return TokenRefused(
            f"the server refused the token ({said or 'unauthenticated'}): it is wrong, "
            "expired or removed; run `keyhook login` again or set KEYHOOK_TOKEN"
        )
    if status == 403:
        return AuthProblem(f"not allowed: {said or 'permission denied'}")
    if status == 404:
        if not said:
            return NotFoundProblem(
                f"{url} is not a Keyhook API address (404): check the server URL "
                "(`keyhook login --url`, KEYHOOK_URL)"
            )
        if said.startswith("no operation at"):
            said += ": is the server URL right? (`keyhook login --url`, KEYHOOK_URL)"
        return NotFoundProblem(said)
    if status >= 500:
        return ServerProblem(f"the server failed ({status}): {said or 'no details'}")
    return ClientError(f"the server refused the request ({status}): {said or 'no details'}")


def send(call: Call, timeout: float = 30.0) -> dict[str, Any]:
    """The server's JSON answer to ``call``, or the :class:`ClientError` that says
    what went wrong."""
    import urllib.error
    import urllib.request

    data = None if call.body is None else json.dumps(call.body).encode()
    if not call.url.startswith(("http://", "https://")):
        raise UsageProblem(
            f"{call.url!r} is not an http:// or https:// URL: run `keyhook login --url URL`"
        )
    request = urllib.request.Request(call.url, data=data, method=call.verb, headers=call.headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        raise _failure(error.code, payload, call.url) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        where = urlsplit(call.url)
        raise ServerProblem(
            f"cannot reach {where.scheme}://{where.netloc} ({reason}): check the URL "
            "(`keyhook login --url`, KEYHOOK_URL) and that the server is running"
        ) from None
    try:
        answer = json.loads(raw) if raw else {}
    except ValueError:
        raise ServerProblem(
            f"{call.url} did not answer JSON: is it a Keyhook server? Check the URL"
        ) from None
    if not isinstance(answer, dict):
        raise ServerProblem(f"{call.url} answered JSON that is not an object")
    return answer
