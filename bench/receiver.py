"""A webhook receiver that answers at once, run as its own process by the benchmarks.

Usage: python bench/receiver.py PORT  — answers every POST with 200 {"status":"success"}.
"""

from __future__ import annotations

import sys

from aiohttp import web

BODY = b'{"status":"success"}'


async def handle(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=BODY, content_type="application/json")


def main() -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
