"""A hostile receiver on 127.0.0.1: it answers whatever bytes a test gives it.

Each path maps to raw HTTP answer bytes (status line, headers, body: anything at
all, valid or not), or to ``None`` for a receiver that reads the request and
never answers. The connection is closed after each answer, except for a path in
``keep_open`` (a body that stalls). ``gzip_bomb`` builds a small body that
inflates to a large one.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import zlib
from dataclasses import dataclass, field


def http_answer(
    status: int = 200,
    body: bytes = b'{"status":"success"}',
    headers: dict[str, str] | None = None,
    *,
    length: bool = True,
) -> bytes:
    """Well-formed answer bytes (``length=False`` leaves Content-Length out: read to EOF)."""
    lines = [f"HTTP/1.1 {status} X".encode()]
    all_headers = {"Content-Type": "application/json", "Connection": "close", **(headers or {})}
    if length:
        all_headers["Content-Length"] = str(len(body))
    lines += [f"{k}: {v}".encode("latin-1") for k, v in all_headers.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def gzip_bomb(inflated: int) -> bytes:
    """gzip of ``inflated`` zero bytes: about 1 KB per MiB."""
    out = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * (1024 * 1024)
    parts = [out.compress(chunk) for _ in range(inflated // len(chunk))]
    parts.append(out.compress(b"\0" * (inflated % len(chunk))))
    return b"".join(parts) + out.flush()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data)


@dataclass
class HostileReceiver:
    answers: dict[str, bytes | None] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    keep_open: set[str] = field(default_factory=set)  # paths whose connection stays open
    _open: set[asyncio.StreamWriter] = field(default_factory=set)
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def endpoint(self, path: str, answer: bytes | None) -> str:
        self.answers[path] = answer
        return self.url + path

    def on(self, path: str) -> list[tuple[str, dict[str, str], bytes]]:
        return [r for r in self.requests if r[0] == path]

    async def wait_for(self, path: str, count: int = 1, timeout: float = 15.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.on(path)) < count:
            if loop.time() > deadline:
                raise AssertionError(f"{path}: {len(self.on(path))} of {count} requests arrived")
            await asyncio.sleep(0.02)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append((path, headers, body))
            answer = self.answers.get(path, http_answer())
            if answer is None:
                await self._closing.wait()  # never answers, until the receiver stops
                return
            writer.write(answer)
            await writer.drain()
            if path in self.keep_open:  # the answer stalls: no more bytes, no close
                await self._closing.wait()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError, ValueError):
            pass
        finally:
            self._open.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.close()
            for writer in list(self._open):
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
