"""The access log: one line per answered HTTP request, when ``KEYHOOK_ACCESS_LOG=1``.

``<client> "<method> <path>" <status> <ms>ms`` on the ``keyhook.access`` logger
at INFO. The path is written without its query string (a query may carry a
token, ``id_token_hint``, or a login's state) and percent-encoded again, so a
request cannot write a line break or a quote into the log. Pure ASGI: answers pass through
unbuffered.
"""

from __future__ import annotations

import logging
import time
import urllib.parse

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("keyhook.access")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            client = scope.get("client")
            log.info(
                '%s "%s %s" %s %.1fms',
                client[0] if client else "-",
                scope["method"],
                urllib.parse.quote(scope["path"], safe="/:@!$&'()*+,;=-._~"),
                status or "-",
                (time.perf_counter() - started) * 1000,
            )
