"""Django: ``@view(verifier)`` on ``def hook(call)``, routed in urls.py (CSRF-exempt:
Keyhook signs its calls; it has no CSRF token)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse

from keyhook_receiver.answers import Answer
from keyhook_receiver.dedupe import Deduplicator
from keyhook_receiver.payloads import Call
from keyhook_receiver.receive import accept, finish
from keyhook_receiver.verify import Verifier


def response(answer: Answer) -> HttpResponse:
    return HttpResponse(answer.body, status=answer.status, headers=answer.headers)


def view(
    verifier: Verifier, dedupe: Deduplicator | None = None
) -> Callable[[Callable[[Call], Answer | None]], Callable[[HttpRequest], HttpResponse]]:
    def wrap(handler: Callable[[Call], Answer | None]) -> Callable[[HttpRequest], HttpResponse]:
        @wraps(handler)
        def endpoint(request: HttpRequest) -> HttpResponse:
            if request.method != "POST":
                return HttpResponse(status=405, headers={"Allow": "POST"})
            result = accept(verifier, request.body, request.headers.items(), dedupe)
            if isinstance(result, Answer):
                return response(result)
            return response(finish(handler(result)))

        # What django.views.decorators.csrf.csrf_exempt sets (it is untyped).
        endpoint.csrf_exempt = True  # type: ignore[attr-defined]
        return endpoint

    return wrap
