"""Plain WSGI: ``application = wsgi(verifier, hook)`` for any WSGI server."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from keyhook_receiver.answers import Answer
from keyhook_receiver.dedupe import Deduplicator
from keyhook_receiver.payloads import Call
from keyhook_receiver.receive import accept, finish
from keyhook_receiver.verify import Verifier

MAX_BODY = 16 * 1024 * 1024

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    found = [
        (key[5:].replace("_", "-"), str(value))
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    if environ.get("CONTENT_TYPE"):
        found.append(("Content-Type", environ["CONTENT_TYPE"]))
    return found


def wsgi(
    verifier: Verifier,
    handler: Callable[[Call], Answer | None],
    dedupe: Deduplicator | None = None,
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(min(length, MAX_BODY)) if length else b""
        result = accept(verifier, body, _headers(environ), dedupe)
        answer = result if isinstance(result, Answer) else finish(handler(result))
        start_response(
            f"{answer.status} {_REASONS.get(answer.status, 'OK')}", list(answer.headers.items())
        )
        return [answer.body]

    return application


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    422: "Unprocessable Entity",
}
