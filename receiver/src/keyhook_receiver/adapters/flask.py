"""Flask: ``@route(verifier)`` under ``@app.post("/hook")`` on ``def hook(call)``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Response, request

from keyhook_receiver.answers import Answer
from keyhook_receiver.dedupe import Deduplicator
from keyhook_receiver.payloads import Call
from keyhook_receiver.receive import accept, finish
from keyhook_receiver.verify import Verifier


def response(answer: Answer) -> Response:
    return Response(answer.body, status=answer.status, headers=answer.headers)


def route(
    verifier: Verifier, dedupe: Deduplicator | None = None
) -> Callable[[Callable[[Call], Answer | None]], Callable[[], Response]]:
    def wrap(handler: Callable[[Call], Answer | None]) -> Callable[[], Response]:
        @wraps(handler)
        def view() -> Response:
            # get_data(): the raw bytes, before Flask parses anything as JSON or form.
            result = accept(verifier, request.get_data(), request.headers.items(), dedupe)
            if isinstance(result, Answer):
                return response(result)
            return response(finish(handler(result)))

        return view

    return wrap
