"""Starlette and FastAPI: :func:`route` makes an endpoint of a handler; for FastAPI,
:class:`KeyhookCall` is also a dependency (``call: Call = Depends(KeyhookCall(v))``)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from keyhook_receiver.answers import Answer
from keyhook_receiver.dedupe import Deduplicator
from keyhook_receiver.payloads import Call
from keyhook_receiver.receive import accept, finish
from keyhook_receiver.verify import Verifier

Handler = Callable[[Call], "Answer | Awaitable[Answer | None] | None"]


def response(answer: Answer) -> Response:
    return Response(answer.body, status_code=answer.status, headers=answer.headers)


def route(
    verifier: Verifier, dedupe: Deduplicator | None = None
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """``@route(verifier)`` on ``async def hook(call) -> Answer | None`` (or a plain
    function): an endpoint for ``app.add_route`` / ``app.add_api_route``."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            result = accept(verifier, await request.body(), request.headers.items(), dedupe)
            if isinstance(result, Answer):
                return response(result)
            outcome = handler(result)
            if inspect.isawaitable(outcome):
                outcome = await outcome
            return response(finish(outcome))

        endpoint.__name__ = getattr(handler, "__name__", "keyhook_endpoint")
        return endpoint

    return wrap


class KeyhookCall:
    """A FastAPI dependency giving the verified, parsed call; a refusal is raised as an
    ``HTTPException`` with the library's status (and a duplicate as a ``200``, so
    Keyhook stops sending it)."""

    def __init__(self, verifier: Verifier, dedupe: Deduplicator | None = None) -> None:
        self.verifier = verifier
        self.dedupe = dedupe

    async def __call__(self, request: Request) -> Call:
        result = accept(self.verifier, await request.body(), request.headers.items(), self.dedupe)
        if isinstance(result, Answer):
            # FastAPI answers {"detail": …}: the library's reason and message in it.
            payload = result.payload
            detail = f"{payload.get('reason', 'duplicate')}: {payload.get('message', '')}"
            raise HTTPException(result.status, detail=detail.rstrip(": "))
        return result
