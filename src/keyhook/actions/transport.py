"""The outbound boundary: one small interface, an aiohttp implementation and a
function-backed double for unit tests of edge cases.

The aiohttp transport keeps one pooled session, never follows redirects, and
resolves host names through the network policy so the address connected to is
an address the policy allowed. A receiver is untrusted: the answer is read with
a cap on its size *after* decompression (aiohttp's own decompression has none,
so a 400 KB gzip could inflate to 400 MiB), only ``gzip`` and ``deflate`` are
offered and accepted, and any failure at all, ours included, comes out as a
:class:`TransportError`, never as another exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from keyhook.domain.netpolicy import NetworkPolicy

log = logging.getLogger("keyhook.actions")

FailureKind = Literal["timeout", "connect", "too_large", "policy", "protocol", "internal"]
# What a receiver may compress its answer with; the request says so (Accept-Encoding).
ACCEPTED_ENCODINGS = "gzip, deflate"
_READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class OutboundRequest:
    url: str
    body: bytes
    headers: Mapping[str, str]
    timeout: float
    # None: the whole answer is needed (a sync call), and one over the cap is an error.
    # A number: only that many leading bytes are kept and the rest is never read (a
    # delivery, whose answer is recorded but not used).
    keep: int | None = None


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
                auto_decompress=False,  # decoded here, with a cap (see _Decoder)
                skip_auto_headers=("User-Agent",),
                # A receiver's Set-Cookie must not reach the next call, to it or to
                # another target under the same parent domain.
                cookie_jar=aiohttp.DummyCookieJar(),
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
        headers = {**request.headers, "Accept-Encoding": ACCEPTED_ENCODINGS}
        try:
            async with session.post(
                request.url,
                data=request.body,
                headers=headers,
                allow_redirects=False,
                timeout=timeout,
            ) as response:
                body = await self._read_capped(response, request.keep)
                return OutboundResponse(response.status, body, dict(response.headers))
        except TransportError:
            raise
        except TimeoutError as exc:
            raise TransportError("timeout", f"no answer within {request.timeout:g}s") from exc
        except aiohttp.ClientConnectorError as exc:
            raise TransportError("connect", f"cannot connect: {exc.os_error}") from exc
        except aiohttp.ClientResponseError as exc:
            raise TransportError("protocol", f"unreadable answer: {exc.message}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise TransportError("connect", f"call failed: {exc}") from exc
        except Exception as exc:  # a receiver must never turn into a 500: see the docstring
            log.exception("unexpected failure calling %s", urlsplit(request.url).netloc)
            raise TransportError("internal", f"the call failed: {type(exc).__name__}") from exc

    async def _read_capped(self, response: aiohttp.ClientResponse, keep: int | None) -> bytes:
        """The decoded answer within the cap; with ``keep``, at most its first bytes."""
        if keep is not None:
            # The status is the answer; the body is only shown in the log. Whatever is
            # wrong with it (an encoding not offered, broken gzip, a short or stalled
            # body) only shortens what is kept.
            kept = bytearray()
            with contextlib.suppress(TransportError, aiohttp.ClientError, zlib.error, TimeoutError):
                decoder = _Decoder.for_encoding(response.headers.get("Content-Encoding", ""))
                await self._read(response, decoder, keep, kept)
            return bytes(kept[:keep])
        decoder = _Decoder.for_encoding(response.headers.get("Content-Encoding", ""))
        length = response.content_length
        if decoder is None and length is not None and length > self._cap:
            raise TransportError("too_large", f"answer of {length} bytes exceeds {self._cap}")
        out = bytearray()
        if await self._read(response, decoder, self._cap, out):
            after = " after decompression" if decoder is not None else ""
            raise TransportError("too_large", f"answer exceeds {self._cap} bytes{after}")
        return bytes(out)

    async def _read(
        self,
        response: aiohttp.ClientResponse,
        decoder: _Decoder | None,
        cap: int,
        out: bytearray,
    ) -> bool:
        """Read (and decode) into ``out`` up to ``cap`` bytes; True if there was more."""
        encoded = 0  # capped too: a decoder could be fed for ever with what decodes to nothing
        async for chunk in response.content.iter_chunked(_READ_CHUNK):
            encoded += len(chunk)
            out += chunk if decoder is None else decoder.feed(chunk, cap + 1 - len(out))
            if len(out) > cap or encoded > self._cap:
                break
        else:
            if decoder is not None and encoded:  # an empty body is empty in any encoding
                out += decoder.finish(cap + 1 - len(out))
        return len(out) > cap or encoded > self._cap

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class _Decoder:
    """Incremental ``gzip`` / ``deflate`` decoding that never produces more than asked."""

    def __init__(self, wbits: int) -> None:
        self._wbits = wbits
        self._inner = zlib.decompressobj(wbits)
        self._started = False

    @classmethod
    def for_encoding(cls, header: str) -> _Decoder | None:
        codings = [c.strip().lower() for c in header.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if not codings:
            return None
        if len(codings) == 1 and codings[0] in {"gzip", "x-gzip"}:
            return cls(16 + zlib.MAX_WBITS)
        if len(codings) == 1 and codings[0] == "deflate":
            return cls(zlib.MAX_WBITS)  # zlib-wrapped, as RFC 9110 says; raw is tried too
        raise TransportError(
            "protocol",
            f"the answer's Content-Encoding {header[:100]!r} is not one Keyhook accepts "
            f"({ACCEPTED_ENCODINGS}, or none)",
        )

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode ``data``; at most ``room`` bytes come out (the rest waits, undecoded)."""
        if not self._started and self._wbits == zlib.MAX_WBITS and data:
            self._started = True
            if data[0] & 0x0F != 8:  # no zlib header: a raw deflate stream
                self._inner = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            return self._inner.decompress(self._inner.unconsumed_tail + data, max(room, 1))
        except zlib.error as exc:
            raise TransportError(
                "protocol", f"the answer's compressed body is broken: {exc}"
            ) from exc

    def finish(self, room: int) -> bytes:
        """What is left once the whole encoded body was fed; a cut-off stream is an error."""
        try:
            tail = self._inner.decompress(self._inner.unconsumed_tail, max(room, 1))
            tail = tail or self._inner.flush(max(room, 1))
        except zlib.error as exc:
            raise TransportError(
                "protocol", f"the answer's compressed body is broken: {exc}"
            ) from exc
        if not self._inner.eof and len(tail) < room:
            raise TransportError("protocol", "the answer's compressed body is cut off")
        return tail


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
