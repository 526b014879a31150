"""Plain ASGI: ``app = asgi(verifier, hook)`` for any ASGI server (uvicorn, hypercorn)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from keyhook_receiver.answers import Answer
from keyhook_receiver.dedupe import Deduplicator
from keyhook_receiver.payloads import Call
from keyhook_receiver.receive import accept, finish
from keyhook_receiver.verify import Verifier

MAX_BODY = 16 * 1024 * 1024
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Handler = Callable[[Call], "Answer | Awaitable[Answer | None] | None"]


def asgi(
    verifier: Verifier, handler: Handler, dedupe: Deduplicator | None = None
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body") or len(body) > MAX_BODY:
                break
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        result = accept(verifier, body, headers, dedupe)
        if isinstance(result, Answer):
            answer = result
        else:
            outcome = handler(result)
            if inspect.isawaitable(outcome):
                outcome = await outcome
            answer = finish(outcome)
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [(k.lower().encode(), v.encode()) for k, v in answer.headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": answer.body})

    return app
