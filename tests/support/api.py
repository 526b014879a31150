"""A small client for the Keyhook API in tests: status and decoded JSON together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

if TYPE_CHECKING:
    from tests.support.server import KeyhookServer


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    raw: bytes

    def ok(self) -> Any:
        assert 200 <= self.status < 300, f"{self.status}: {self.raw[:500]!r}"
        return self.body


class Api:
    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url
        self.token = token
        # The server closes a connection idle for 5 s (KEYHOOK_HTTP_KEEP_ALIVE_TIMEOUT);
        # aiohttp would reuse one for 15 s and race that close ("Server disconnected").
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(keepalive_timeout=2))

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = "default",
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        bearer = self.token if token == "default" else token
        if bearer is not None:
            sent["Authorization"] = f"Bearer {bearer}"
        data = raw if raw is not None else (None if body is None else orjson.dumps(body))
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        async with self.session.request(
            method, self.base_url + path, data=data, headers=sent
        ) as response:
            content = await response.read()
        try:
            decoded = orjson.loads(content) if content else None
        except orjson.JSONDecodeError:
            decoded = None
        return Reply(response.status, decoded, content)

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return await self.call("POST", path, body, **kw)

    async def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return await self.call("PUT", path, body, **kw)

    async def delete(self, path: str, **kw: Any) -> Reply:
        return await self.call("DELETE", path, **kw)

    async def close(self) -> None:
        await self.session.close()

    # --- helpers the tests share ---------------------------------------------------

    async def create_target(
        self,
        endpoint: str,
        *,
        kind: str = "restWebhook",
        interrupt: bool = False,
        timeout: str = "5s",
        name: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        import secrets

        body: dict[str, Any] = {
            "name": name or f"target-{secrets.token_hex(4)}",
            "endpoint": endpoint,
            "timeout": timeout,
            kind: {} if kind == "restAsync" else {"interruptOnError": interrupt},
            **extra,
        }
        result: dict[str, Any] = (await self.post("/v2/actions/targets", body)).ok()
        return result

    async def set_execution(self, condition: dict[str, Any], targets: list[str]) -> None:
        (
            await self.put("/v2/actions/executions", {"condition": condition, "targets": targets})
        ).ok()

    async def clear_executions(self) -> None:
        found = (await self.post("/v2/actions/executions/search", {})).ok()
        for execution in found["executions"]:
            await self.set_execution(execution["condition"], [])

    async def add_user(self, email: str, **user: Any) -> Reply:
        body = {
            "user": {
                "profile": {"givenName": "John", "familyName": "Doe"},
                "email": {"email": email},
                **user,
            }
        }
        return await self.post("/v2/users/human", body)

    async def add_machine_user(self, user_name: str, name: str, **extra: Any) -> str:
        """A new machine user's id (AddMachineUser)."""
        body = {"userName": user_name, "name": name, **extra}
        reply = await self.post("/management/v1/users/machine", body)
        return str(reply.ok()["userId"])

    async def metadata(self, user_id: str) -> list[dict[str, str]]:
        """The user's metadata by key (ListUserMetadata), its base64 values decoded."""
        import base64

        reply = await self.post(
            f"/v2/users/{user_id}/metadata/search", {"pagination": {"limit": 1000, "asc": True}}
        )
        return [
            {"key": m["key"], "value": base64.b64decode(m["value"]).decode()}
            for m in reply.ok()["metadata"]
        ]

    async def add_secret(self, user_id: str) -> str:
        """A new client secret for a machine user (AddSecret); shown only here."""
        return str((await self.post(f"/v2/users/{user_id}/secret")).ok()["clientSecret"])


@asynccontextmanager
async def serving(server: KeyhookServer) -> AsyncIterator[Api]:
    """``server`` started, an API client of it, and both stopped afterwards."""
    await server.start()
    client = Api(server.url, server.token)
    try:
        yield client
    finally:
        await client.close()
        await server.stop()
