"""A webhook receiver that answers at once, run as its own process by the benchmarks.

Usage: python bench/receiver.py PORT. Every POST gets 200 {"status":"success"}.
For bodies that carry an event's ``createdAt`` it notes how long after that
moment the request arrived; ``GET /stats`` returns the count and those delays,
``DELETE /stats`` clears them.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime

import orjson
from aiohttp import web

BODY = b'{"status":"success"}'
received = {"count": 0}
delays_ms: list[float] = []


async def handle(request: web.Request) -> web.Response:
    body = await request.read()
    arrived = time.time()
    if request.method == "GET" and request.path == "/stats":
        return web.Response(
            body=orjson.dumps({"count": received["count"], "delaysMs": delays_ms}),
            content_type="application/json",
        )
    if request.method == "DELETE" and request.path == "/stats":
        received["count"] = 0
        delays_ms.clear()
        return web.Response(body=BODY, content_type="application/json")
    received["count"] += 1
    if request.path.startswith("/latency"):
        created = orjson.loads(body).get("createdAt")
        if created:
            moment = datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
            delays_ms.append((arrived - moment) * 1000)
    return web.Response(body=BODY, content_type="application/json")


def main() -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
