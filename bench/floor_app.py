"""The floor app: the least a durable AddHumanUser could cost in this server stack.

A Starlette endpoint on uvicorn with Keyhook's own HTTP protocol options; it
authenticates the Bearer token from an in-memory dict, parses the JSON body and
does one INSERT of the body in one transaction on the same kind of database
(``sqlite3`` in WAL with ``synchronous=NORMAL`` as Keyhook uses it, or asyncpg),
then answers a small JSON body. Keyhook's AddHumanUser is judged against it
(issue 9, goal 3: p50 at most twice the floor's).

``/v2/users/human/hooked`` does the same after one bare aiohttp POST of the body
to HOOK_URL (a pooled session, no signing, no checks): what one call to a target
costs at the least in this stack, the floor of a request execution's added cost.

Run: ``python bench/floor_app.py PORT DATABASE TOKEN [HOOK_URL]`` where DATABASE
is a file path for SQLite or a ``postgresql://`` URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from keyhook.api.http_server import server_options
from keyhook.config import HttpServerSettings

_TABLE = "CREATE TABLE IF NOT EXISTS floor_users (id TEXT PRIMARY KEY, owner TEXT, payload TEXT)"


class Store:
    def __init__(self, database: str) -> None:
        self.database = database
        self.sqlite: sqlite3.Connection | None = None
        self.pool: Any = None
        self.lock = asyncio.Lock()

    async def open(self) -> None:
        if self.database.startswith("postgresql://"):
            import asyncpg

            self.pool = await asyncpg.create_pool(self.database, min_size=1, max_size=20)
            async with self.pool.acquire() as conn:
                await conn.execute(_TABLE)
            return
        self.sqlite = sqlite3.connect(self.database, isolation_level=None)
        self.sqlite.execute("PRAGMA journal_mode=WAL")
        self.sqlite.execute("PRAGMA synchronous=NORMAL")
        self.sqlite.execute(_TABLE)

    async def insert(self, user_id: str, owner: str, payload: str) -> None:
        if self.sqlite is not None:
            async with self.lock:
                self.sqlite.execute("BEGIN IMMEDIATE")
                self.sqlite.execute(
                    "INSERT INTO floor_users (id, owner, payload) VALUES (?, ?, ?)",
                    (user_id, owner, payload),
                )
                self.sqlite.execute("COMMIT")
            return
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO floor_users (id, owner, payload) VALUES ($1, $2, $3)",
                user_id,
                owner,
                payload,
            )


def build(store: Store, token: str, hook_url: str | None = None) -> Starlette:
    callers = {f"Bearer {token}": "admin"}
    hook: dict[str, aiohttp.ClientSession] = {}

    async def add_user(request: Request) -> Response:
        caller = callers.get(request.headers.get("authorization", ""))
        if caller is None:
            return Response(b'{"code":"unauthenticated"}', 401, media_type="application/json")
        body = orjson.loads(await request.body())
        user_id = secrets.token_hex(9)
        await store.insert(user_id, caller, orjson.dumps(body).decode())
        return Response(
            orjson.dumps({"userId": user_id, "details": {"resourceOwner": caller}}),
            media_type="application/json",
        )

    async def add_user_hooked(request: Request) -> Response:
        assert hook_url is not None, "started without HOOK_URL"
        body = await request.body()
        async with hook["session"].post(
            hook_url, data=body, headers={"Content-Type": "application/json"}
        ) as answer:
            await answer.read()
        return await add_user(request)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await store.open()
        async with aiohttp.ClientSession() as session:
            hook["session"] = session
            yield

    async def health(_request: Request) -> Response:
        return Response(b"ok")

    return Starlette(
        routes=[
            Route("/v2/users/human", add_user, methods=["POST"]),
            Route("/v2/users/human/hooked", add_user_hooked, methods=["POST"]),
            Route("/healthz", health),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    port, database, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    hook_url = sys.argv[4] if len(sys.argv) > 4 else None
    config = uvicorn.Config(
        build(Store(database), token, hook_url),
        host="127.0.0.1",
        port=port,
        access_log=False,
        log_level="warning",
        lifespan="on",
        **server_options(HttpServerSettings()),
    )
    import uvloop  # as ``keyhook start`` runs

    uvloop.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
