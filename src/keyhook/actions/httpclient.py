"""The outbound HTTP/1.1 client: ``Http11Transport``, Keyhook's one way to call a target.

Each call is ``POST`` with the caller's headers, resolved and connected under the
network policy (resolver.py), sent on a pooled keep-alive connection (http11.py)
and answered within the request's timeout, which covers waiting for a
connection, connecting, sending and reading. The answer's body is read with a
cap that holds after decompression (decoding.py), or, with ``keep``, only its
first bytes. No redirects are followed, no proxies or cookies used, nothing is
logged but the receiver's host on an unexpected failure. Every failure, ours
included, comes out as a ``TransportError`` (see transport.py).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import aiohappyeyeballs

from keyhook.actions.decoding import Decoder
from keyhook.actions.http11 import (
    AnswerUnreadable,
    Connection,
    ConnectionLost,
    Pool,
    PoolKey,
    ResponseHeaders,
)
from keyhook.actions.resolver import NameResolver, PolicyResolver
from keyhook.actions.transport import (
    ACCEPTED_ENCODINGS,
    OutboundRequest,
    OutboundResponse,
    TransportError,
)
from keyhook.domain.hostnames import ascii_host
from keyhook.domain.netpolicy import NetworkPolicy

log = logging.getLogger("keyhook.actions")

# A name or address family that answers slowly does not hold up the next (RFC 8305),
# as aiohttp's connector did.
HAPPY_EYEBALLS_DELAY = 0.25

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_UNSAFE_VALUE = re.compile(r"[\r\n\0]")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Headers this client writes itself; a caller's are left out (targets cannot set them).
_WRITTEN_HERE = frozenset({"host", "content-length", "transfer-encoding", "accept-encoding"})


@dataclass(frozen=True, slots=True)
class _Origin:
    """What a URL says about where and how to send (remembered per URL)."""

    key: PoolKey
    host: str  # as in the URL, without brackets: resolved, checked, the TLS server name
    literal: socket.AddressFamily | None  # the URL names an IP address, not a host
    tls: bool
    start: str  # the request line and the Host header
    host_header: str  # the Host header's value


def _requote(part: str, safe: str) -> str:
    """``part`` with what may not appear in a request target percent-encoded (as yarl does);
    escapes already there are kept."""
    return quote(_LONE_PERCENT.sub("%25", part), safe=safe + "%")


@functools.lru_cache(maxsize=4096)
def _origin(url: str) -> _Origin:
    try:
        parts = urlsplit(url)
        explicit_port = parts.port
    except ValueError as exc:
        raise TransportError("connect", f"call failed: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if not host.isascii():  # endpoints are stored in ASCII form; any other is called as one
        try:
            host = ascii_host(host)
        except ValueError as exc:
            raise TransportError("connect", f"call failed: {exc}") from None
    if scheme not in ("http", "https") or not host:
        raise TransportError("connect", "call failed: not an absolute http(s) URL")
    default_port = 443 if scheme == "https" else 80
    port = explicit_port or default_port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        socket.inet_pton(family, host)
        literal: socket.AddressFamily | None = family
    except OSError:
        literal = None
    shown = f"[{host}]" if ":" in host else host
    if port != default_port:
        shown = f"{shown}:{port}"
    target = _requote(parts.path or "/", "/:@!$&'()*+,;=")
    if parts.query:
        target += "?" + _requote(parts.query, "/?:@!$&'()*+,;=")
    start = f"POST {target} HTTP/1.1\r\nHost: {shown}\r\n"
    return _Origin((scheme, host, port), host, literal, scheme == "https", start, shown)


def _request_bytes(origin: _Origin, request: OutboundRequest) -> bytes:
    lines = [origin.start]
    accept = False
    for name, value in request.headers.items():
        if not _TOKEN.fullmatch(name) or _UNSAFE_VALUE.search(value):
            # Target headers are checked when saved; this is defence in depth against a
            # header that would split the request. The value may be a secret: not shown.
            raise TransportError(
                "internal",
                f"the call failed: the header {name[:64]!r} has a character not allowed "
                "in a header (CR, LF or NUL)",
            )
        lowered = name.lower()
        if lowered in _WRITTEN_HERE:
            continue
        accept = accept or lowered == "accept"
        lines.append(f"{name}: {value}\r\n")
    if not accept:
        lines.append("Accept: */*\r\n")
    lines.append(
        f"Accept-Encoding: {ACCEPTED_ENCODINGS}\r\nContent-Length: {len(request.body)}\r\n\r\n"
    )
    return "".join(lines).encode() + request.body


@dataclass(slots=True)
class _Progress:
    """How far a call got: what a ``keep`` call returns if its time runs out mid-body."""

    status: int = 0
    headers: Mapping[str, str] = field(default_factory=dict)
    kept: bytearray = field(default_factory=bytearray)


class Http11Transport:
    def __init__(
        self,
        policy: NetworkPolicy,
        max_response_bytes: int,
        limit: int = 200,
        resolver: NameResolver | None = None,
    ) -> None:
        self._policy = policy
        self._cap = max_response_bytes
        self._pool = Pool(limit)
        self._resolver = PolicyResolver(policy, resolver)
        self._tls_context: ssl.SSLContext | None = None

    def _check_literal_address(self, host: str) -> None:
        if not self._policy.address_allowed(host, host):
            raise TransportError(
                "policy",
                f"{host} is not a public address; start with --dev (KEYHOOK_DEV=1) "
                "or list it in KEYHOOK_ACTIONS_ALLOW_HOSTS",
            )

    def headers_sent(self, request: OutboundRequest) -> list[tuple[str, str]]:
        """The header lines :meth:`send` writes for ``request``, in order (as
        ``_request_bytes`` writes them; tests/actions/test_http11.py holds the two
        together). Not on the call's path: the delivery log records them afterwards."""
        try:
            origin = _origin(request.url)
        except TransportError:  # never sent: what the request carried
            return list(request.headers.items())
        lines = [("Host", origin.host_header)]
        accept = False
        for name, value in request.headers.items():
            lowered = name.lower()
            if lowered in _WRITTEN_HERE:
                continue
            accept = accept or lowered == "accept"
            lines.append((name, value))
        if not accept:
            lines.append(("Accept", "*/*"))
        lines.append(("Accept-Encoding", ACCEPTED_ENCODINGS))
        lines.append(("Content-Length", str(len(request.body))))
        return lines

    async def send(self, request: OutboundRequest) -> OutboundResponse:
        try:
            origin = _origin(request.url)
            if origin.literal is not None:
                self._check_literal_address(origin.host)
            data = _request_bytes(origin, request)
            progress = _Progress()
            try:
                async with asyncio.timeout(request.timeout):
                    return await self._exchange(origin, data, request.keep, progress)
            except TimeoutError as exc:
                if request.keep is not None and progress.status:
                    # A delivery's status is its answer; a body that stalls only
                    # shortens what is kept of it.
                    kept = bytes(progress.kept[: request.keep])
                    return OutboundResponse(progress.status, kept, progress.headers)
                raise TransportError("timeout", f"no answer within {request.timeout:g}s") from exc
        except TransportError:
            raise
        except ConnectionLost as exc:
            raise TransportError("connect", f"call failed: {exc}") from exc
        except AnswerUnreadable as exc:
            raise TransportError("protocol", f"unreadable answer: {exc}") from exc
        except OSError as exc:
            raise TransportError("connect", f"call failed: {exc}") from exc
        except Exception as exc:  # a receiver must never turn into a 500: see transport.py
            log.exception("unexpected failure calling %s", urlsplit(request.url).netloc)
            raise TransportError("internal", f"the call failed: {type(exc).__name__}") from exc

    async def _exchange(
        self, origin: _Origin, data: bytes, keep: int | None, progress: _Progress
    ) -> OutboundResponse:
        pool = self._pool
        await pool.acquire()  # outside the try: a wait cut short holds no slot to release
        try:
            conn = pool.take(origin.key)
            if conn is None:
                conn = await self._connect(origin)
            try:
                try:
                    conn.send(data)
                    await conn.read_head()
                except ConnectionLost as lost:
                    if not (conn.reused and lost.answered_nothing):
                        raise
                    # The receiver had closed the idle connection (a stale keep-alive
                    # socket): once more on a fresh one, and never again.
                    conn = await self._connect(origin)
                    conn.send(data)
                    await conn.read_head()
                headers = ResponseHeaders(conn.raw_headers)
                progress.status, progress.headers = conn.status, headers
                body = await self._read_body(conn, headers, keep, progress.kept)
            except BaseException:
                conn.close()
                raise
            pool.put_back(conn)
            return OutboundResponse(conn.status, body, headers)
        finally:
            pool.release()

    async def _connect(self, origin: _Origin) -> Connection:
        host, port = origin.host, origin.key[2]
        try:
            if origin.literal is not None:
                sockaddr = (host, port) if origin.literal == socket.AF_INET else (host, port, 0, 0)
                infos = [(origin.literal, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]
            else:
                infos = [
                    (a.family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", a.sockaddr)
                    for a in await self._resolver.resolve(host, port)
                ]
            sock = await aiohappyeyeballs.start_connection(
                infos, happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY, interleave=1
            )
        except OSError as exc:
            raise TransportError("connect", f"cannot connect: {exc}") from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _, conn = await asyncio.get_running_loop().create_connection(
                lambda: Connection(origin.key),
                sock=sock,
                ssl=self._tls() if origin.tls else None,
                server_hostname=host if origin.tls else None,
            )
        except OSError as exc:
            sock.close()
            raise TransportError("connect", f"cannot connect: {exc}") from exc
        except BaseException:
            sock.close()
            raise
        self._pool.adopt(conn)
        return conn

    def _tls(self) -> ssl.SSLContext:
        if self._tls_context is None:  # loading the CA store takes milliseconds: once
            self._tls_context = ssl.create_default_context()
        return self._tls_context

    async def _read_body(
        self, conn: Connection, headers: Mapping[str, str], keep: int | None, kept: bytearray
    ) -> bytes:
        """The decoded answer within the cap; with ``keep``, at most its first bytes."""
        if keep is not None:
            # The status is the answer; the body is only shown in the log. Whatever is
            # wrong with it (an encoding not offered, broken gzip, a short or stalled
            # body) only shortens what is kept. Reading stops once enough is kept: the
            # rest is never read (the connection is then dropped, not drained).
            try:
                decoder = Decoder.for_encoding(headers.get("Content-Encoding", ""))
                await self._read(conn, decoder, keep - 1, kept)
            except (TransportError, ConnectionLost, AnswerUnreadable):
                pass
            return bytes(kept[:keep])
        decoder = Decoder.for_encoding(headers.get("Content-Encoding", ""))
        length = headers.get("Content-Length")
        if decoder is None and length is not None and length.isdigit() and int(length) > self._cap:
            raise TransportError("too_large", f"answer of {length} bytes exceeds {self._cap}")
        out = bytearray()
        if not await self._read(conn, decoder, self._cap, out):
            after = " after decompression" if decoder is not None else ""
            raise TransportError("too_large", f"answer exceeds {self._cap} bytes{after}")
        return bytes(out)

    async def _read(
        self, conn: Connection, decoder: Decoder | None, limit: int, out: bytearray
    ) -> bool:
        """Read (and decode) into ``out`` until the body ends (True) or more than ``limit``
        bytes came out (False)."""
        encoded = 0  # capped too: a decoder could be fed for ever with what decodes to nothing
        while chunk := await conn.next_chunk():
            encoded += len(chunk)
            out += chunk if decoder is None else decoder.feed(chunk, limit + 1 - len(out))
            if len(out) > limit or encoded > self._cap:
                return False
        if decoder is not None and encoded:  # an empty body is empty in any encoding
            out += decoder.finish(limit + 1 - len(out))
        return len(out) <= limit

    async def close(self) -> None:
        self._pool.close()
