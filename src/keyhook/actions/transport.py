"""The outbound boundary: one small interface, an aiohttp implementation and a
function-backed double for unit tests of edge cases.

The aiohttp transport keeps one pooled session, never follows redirects, caps
the answer it reads, and resolves host names through the network policy so the
address connected to is an address the policy allowed.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from keyhook.domain.netpolicy import NetworkPolicy

FailureKind = Literal["timeout", "connect", "too_large", "policy", "protocol"]


@dataclass(frozen=True)
class OutboundRequest:
    url: str
    body: bytes
    headers: Mapping[str, str]
    timeout: float


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class TransportError(Exception):
    """A call that got no usable answer; ``kind`` says why."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class Transport(Protocol):
    async def send(self, request: OutboundRequest) -> OutboundResponse: ...

    async def close(self) -> None: ...


class PolicyResolver(AbstractResolver):
    """Resolves names (A and AAAA), then keeps only the addresses the policy allows."""

    def __init__(self, policy: NetworkPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        allowed = [r for r in found if self._policy.address_allowed(host, r["host"])]
        if not allowed:
            raise OSError(
                f"{host} resolves only to non-public addresses; start with --dev (KEYHOOK_DEV=1) "
                "or list the host in KEYHOOK_ACTIONS_ALLOW_HOSTS"
            )
        return allowed

    async def close(self) -> None:
        await self._inner.close()


class AiohttpTransport:
    def __init__(self, policy: NetworkPolicy, max_response_bytes: int, limit: int = 200) -> None:
        self._policy = policy
        self._cap = max_response_bytes
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._limit,
                limit_per_host=0,
                resolver=PolicyResolver(self._policy),
                ttl_dns_cache=10,
                enable_cleanup_closed=True,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=True,
                skip_auto_headers=("User-Agent",),
                json_serialize=None,  # type: ignore[arg-type]
            )
        return self._session

    def _check_literal_address(self, url: str) -> None:
        host = urlsplit(url).hostname or ""
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        except OSError:
            return  # a name: the resolver applies the policy
        if not self._policy.address_allowed(host, host):
            raise TransportError(
                "policy",
                f"{host} is not a public address; start with --dev (KEYHOOK_DEV=1) "
                "or list it in KEYHOOK_ACTIONS_ALLOW_HOSTS",
            )

    async def send(self, request: OutboundRequest) -> OutboundResponse:
        self._check_literal_address(request.url)
        session = self._get_session()
        timeout = self._timeouts.get(request.timeout)
        if timeout is None:
            timeout = self._timeouts[request.timeout] = aiohttp.ClientTimeout(total=request.timeout)
        try:
            async with session.post(
                request.url,
                data=request.body,
                headers=request.headers,
                allow_redirects=False,
                timeout=timeout,
            ) as response:
                body = await self._read_capped(response)
                return OutboundResponse(response.status, body, dict(response.headers))
        except TimeoutError as exc:
            raise TransportError("timeout", f"no answer within {request.timeout:g}s") from exc
        except aiohttp.ClientConnectorError as exc:
            raise TransportError("connect", f"cannot connect: {exc.os_error}") from exc
        except aiohttp.ClientResponseError as exc:
            raise TransportError("protocol", f"unreadable answer: {exc.message}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise TransportError("connect", f"call failed: {exc}") from exc

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        length = response.content_length
        if length is not None and length > self._cap:
            raise TransportError("too_large", f"answer of {length} bytes exceeds {self._cap}")
        if length is not None:  # announced and within the cap: read it in one go
            return await response.read()
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > self._cap:
                raise TransportError("too_large", f"answer exceeds {self._cap} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


Handler = Callable[[OutboundRequest], Awaitable[OutboundResponse]]


class MockTransport:
    """A transport whose answers come from a function (unit tests of edge cases only)."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.requests: list[OutboundRequest] = []

    async def send(self, request: OutboundRequest) -> OutboundResponse:
        self.requests.append(request)
        try:
            return await asyncio.wait_for(self._handler(request), request.timeout)
        except TimeoutError as exc:
            raise TransportError("timeout", f"no answer within {request.timeout:g}s") from exc

    async def close(self) -> None:
        return None
