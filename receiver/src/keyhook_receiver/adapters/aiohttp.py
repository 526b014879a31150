"""aiohttp: ``@handler(verifier)`` on ``async def hook(call)``, then
``app.router.add_post("/hook", hook)``."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from aiohttp import web

from keyhook_receiver.answers import Answer
from keyhook_receiver.dedupe import Deduplicator
from keyhook_receiver.payloads import Call
from keyhook_receiver.receive import accept, finish
from keyhook_receiver.verify import Verifier

Handler = Callable[[Call], "Answer | Awaitable[Answer | None] | None"]


def response(answer: Answer) -> web.Response:
    return web.Response(body=answer.body, status=answer.status, headers=answer.headers)


def handler(
    verifier: Verifier, dedupe: Deduplicator | None = None
) -> Callable[[Handler], Callable[[web.Request], Awaitable[web.Response]]]:
    def wrap(user: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def endpoint(request: web.Request) -> web.Response:
            result = accept(verifier, await request.read(), request.headers.items(), dedupe)
            if isinstance(result, Answer):
                return response(result)
            outcome = user(result)
            if inspect.isawaitable(outcome):
                outcome = await outcome
            return response(finish(outcome))

        return endpoint

    return wrap
