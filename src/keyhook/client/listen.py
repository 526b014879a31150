"""``keyhook listen``: a relay target's calls, forwarded to a local receiver.

The CLI finds (or creates) the relay target by name over the HTTP API, attaches
to it over the WebSocket ``/v2/actions/relay?target=ID`` and, for every call
frame, posts the body with the headers Keyhook signed to ``--forward-to``; the
local answer (status, headers, body) goes back as an answer frame, which the
server reads exactly as an HTTP answer (docs/cli.md, "listen"). A local receiver
that refuses connections or does not answer in time is reported to the server
as such (the call fails as it would over HTTP) and on the terminal.

HTTP and WebSocket only (aiohttp); this module imports nothing of the server.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import sys
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import orjson

RELAY_ENDPOINT = "relay:"
RELAY_PATH = "/v2/actions/relay"
TYPES = ("restCall", "restWebhook", "restAsync")
# Exit codes (docs/cli.md): usage errors are click's 2.
EXIT_FAILURE = 1
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_UNREACHABLE = 5
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
# Headers about the local hop, not the answer: aiohttp has undone them already.
_HOP_HEADERS = {"content-length", "content-encoding", "transfer-encoding", "connection"}


class ListenError(Exception):
    """A one-line reason to stop, and the exit code it carries."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Options:
    url: str
    token: str
    forward_to: str
    target: str
    type: str
    timeout: str
    interrupt_on_error: bool
    print_body: bool
    allow_remote: bool


@dataclass(frozen=True)
class RelayTarget:
    id: str
    name: str
    type: str


def check_forward_to(url: str, allow_remote: bool) -> None:
    """``url`` is an http(s) URL on a loopback address, unless remote ones are allowed."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ListenError(f"--forward-to {url!r} is not an http:// or https:// URL", 2)
    if allow_remote:
        return
    host = parts.hostname.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ListenError(
        f"--forward-to {url!r} is not a loopback address; listen forwards only to this "
        "machine (localhost, 127.0.0.1, ::1) unless you pass --allow-remote",
        2,
    )


def describe(body: bytes) -> tuple[str, str]:
    """The kind of a call (request, response, function, event) and what it is about."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "call", "?"
    if not isinstance(payload, dict):
        return "call", "?"
    if isinstance(payload.get("event"), str):
        return "event", payload["event"]
    if isinstance(payload.get("function"), str):
        return "function", payload["function"]
    kind = "response" if "response" in payload else "request"
    return kind, str(payload.get("fullMethod", "?"))


class Listener:
    def __init__(self, options: Options, out: Any = None) -> None:
        self.options = options
        self.out = out or sys.stdout
        self.base = options.url.rstrip("/")
        self._tasks: set[asyncio.Task[None]] = set()

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    # --- the API ------------------------------------------------------------------

    async def _api(self, http: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> Any:
        try:
            async with http.post(
                self.base + path,
                data=orjson.dumps(body),
                headers={
                    "Authorization": f"Bearer {self.options.token}",
                    "Content-Type": "application/json",
                },
            ) as response:
                data = await response.read()
                status = response.status
        except (aiohttp.ClientError, OSError) as exc:
            raise ListenError(
                f"cannot reach Keyhook at {self.base} ({exc}); check --url or KEYHOOK_URL",
                EXIT_UNREACHABLE,
            ) from None
        try:
            answer = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise ListenError(
                f"{self.base}{path} answered {status} with a body that is not JSON; "
                "is --url a Keyhook server?",
                EXIT_UNREACHABLE,
            ) from None
        if status >= 400:
            message = answer.get("message", "") if isinstance(answer, dict) else ""
            if status in (401, 403):
                raise ListenError(
                    f"the token was refused ({status}: {message}); check --token or KEYHOOK_TOKEN",
                    EXIT_AUTH,
                )
            code = EXIT_NOT_FOUND if status == 404 else EXIT_FAILURE
            raise ListenError(f"Keyhook answered {status}: {message}", code)
        return answer

    async def relay_target(self, http: aiohttp.ClientSession) -> RelayTarget:
        """The target named ``--target``; created as a relay target if there is none."""
        name = self.options.target
        found = await self._api(http, "/v2/actions/targets/search", {"name": name})
        for target in found.get("targets", []):
            if target.get("name") != name:
                continue  # the search matches parts of names
            kind = next((k for k in TYPES if k in target), "restCall")
            if target.get("endpoint") != RELAY_ENDPOINT:
                raise ListenError(
                    f"target {name!r} calls {target.get('endpoint')}, it is not a relay target; "
                    "listen attaches only to relay targets (endpoint relay:): choose another "
                    "--target name and listen creates one"
                )
            return RelayTarget(str(target["id"]), name, kind)
        kind = self.options.type
        options: dict[str, Any] = (
            {} if kind == "restAsync" else {"interruptOnError": self.options.interrupt_on_error}
        )
        created = await self._api(
            http,
            "/v2/actions/targets",
            {
                "name": name,
                "endpoint": RELAY_ENDPOINT,
                "timeout": self.options.timeout,
                kind: options,
            },
        )
        interrupt = ""
        if options:
            interrupt = f", interruptOnError {'on' if options['interruptOnError'] else 'off'}"
        self.say(
            f"Created relay target {name!r} (id {created['id']}): {kind}{interrupt}, "
            f"timeout {self.options.timeout}. Its signing key is the target's signingKey "
            f"(GET /v2/actions/targets/{created['id']})."
        )
        return RelayTarget(str(created["id"]), name, kind)

    # --- the socket ---------------------------------------------------------------

    def socket_url(self, target_id: str) -> str:
        parts = urlsplit(self.base)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return f"{scheme}://{parts.netloc}{parts.path}{RELAY_PATH}?target={quote(target_id)}"

    async def run(self) -> int:
        check_forward_to(self.options.forward_to, self.options.allow_remote)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            target = await self.relay_target(http)
            delay = BACKOFF_FIRST
            while True:
                attached = await self._session(http, target)
                if attached:
                    delay = BACKOFF_FIRST
                self.say(f"Reconnecting in {delay:g}s…")
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)

    async def _session(self, http: aiohttp.ClientSession, target: RelayTarget) -> bool:
        """One connection to the relay, until it closes; whether it got attached."""
        try:
            async with http.ws_connect(
                self.socket_url(target.id),
                headers={"Authorization": f"Bearer {self.options.token}"},
                heartbeat=20.0,
                max_msg_size=0,
            ) as socket:
                first = await socket.receive()
                if first.type is not aiohttp.WSMsgType.TEXT:
                    self.say(f"The relay closed the connection ({socket.close_code}).")
                    return False
                frame = orjson.loads(first.data)
                if frame.get("type") == "error":
                    raise self._refusal(frame, socket.close_code)
                self.say(
                    f"Ready: calls of relay target {target.name!r} ({frame['target']['type']}) "
                    f"go to {self.options.forward_to}. Ctrl-C stops."
                )
                async for message in socket:
                    if message.type is not aiohttp.WSMsgType.TEXT:
                        break
                    try:
                        frame = orjson.loads(message.data)
                    except orjson.JSONDecodeError:
                        self.say("Skipped a frame from Keyhook that is not JSON.")
                        continue
                    if frame.get("type") == "error":
                        raise self._refusal(frame, socket.close_code)
                    if frame.get("type") == "call":
                        task = asyncio.create_task(self._forward(http, socket, frame))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
                self.say("The connection to Keyhook closed.")
                return True
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in (401, 403):
                raise ListenError(
                    f"the relay refused the token ({exc.status})", EXIT_AUTH
                ) from None
            self.say(f"The relay refused the connection ({exc.status} {exc.message}).")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            self.say(f"Cannot reach Keyhook at {self.base} ({exc or type(exc).__name__}).")
        return False

    def _refusal(self, frame: dict[str, Any], close_code: int | None) -> ListenError:
        code = {"unauthenticated": EXIT_AUTH, "permission_denied": EXIT_AUTH}.get(
            str(frame.get("code")), EXIT_NOT_FOUND if frame.get("code") == "not_found" else 1
        )
        return ListenError(f"the relay refused to attach: {frame.get('message')}", code)

    async def _forward(
        self, http: aiohttp.ClientSession, socket: aiohttp.ClientWebSocketResponse, frame: Any
    ) -> None:
        started = time.perf_counter()
        body = base64.b64decode(frame["body"])
        kind, about = describe(body)
        keep = frame.get("keep")
        limit = int(keep if keep is not None else frame.get("cap", 1024 * 1024))
        answer: dict[str, Any]
        shown: str
        data = b""
        try:
            async with http.post(
                self.options.forward_to,
                data=body,
                headers=[(str(k), str(v)) for k, v in frame["headers"]],
                timeout=aiohttp.ClientTimeout(total=float(frame["timeout"])),
                allow_redirects=False,
            ) as response:
                data = await _read_capped(response, limit)
                if keep is None and len(data) > limit:
                    length = response.headers.get("Content-Length", "")
                    encoded = "Content-Encoding" in response.headers
                    too_large = (  # worded as the server's HTTP transport words it
                        f"answer of {length} bytes exceeds {limit}"
                        if length.isdigit() and not encoded
                        else f"answer exceeds {limit} bytes"
                    )
                    answer = _failure(frame, "too_large", too_large)
                    shown = f"{response.status}, answer over {limit} bytes: a failed call"
                else:
                    answer = {
                        "type": "answer",
                        "id": frame["id"],
                        "status": response.status,
                        "headers": [
                            [k, v]
                            for k, v in response.headers.items()
                            if k.lower() not in _HOP_HEADERS
                        ],
                        "body": base64.b64encode(data[:limit]).decode(),
                    }
                    shown = str(response.status)
        except TimeoutError:
            answer = _failure(frame, "timeout", f"no answer within {float(frame['timeout']):g}s")
            shown = "timeout: the local receiver did not answer in time"
        except aiohttp.ClientConnectorError:
            answer = _failure(
                frame,
                "connect",
                f"the local receiver at {self.options.forward_to} refused the connection",
            )
            shown = f"failed: {self.options.forward_to} refused the connection (is it running?)"
        except (aiohttp.ClientError, OSError) as exc:
            answer = _failure(frame, "protocol", f"the local receiver's answer: {exc}")
            shown = f"failed: {exc}"
        try:
            await socket.send_str(orjson.dumps(answer).decode())
        except (aiohttp.ClientError, ConnectionError, RuntimeError):
            shown += " (the answer could not be sent back: the connection closed)"
        took = (time.perf_counter() - started) * 1000
        self.say(f"{time.strftime('%H:%M:%S')}  {kind:<8} {about}  → {shown}  {took:.1f} ms")
        if self.options.print_body:
            self.say(f"  sent:     {body.decode('utf-8', 'replace')}")
            if answer["type"] == "answer":
                self.say(f"  answered: {data[:limit].decode('utf-8', 'replace')}")


def _failure(frame: dict[str, Any], kind: str, message: str) -> dict[str, Any]:
    return {"type": "failure", "id": frame["id"], "kind": kind, "message": message}


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the answer: one more says it was over."""
    out = bytearray()
    while len(out) <= limit:
        chunk = await response.content.read(limit + 1 - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def listen(options: Options) -> int:
    try:
        return asyncio.run(Listener(options).run())
    except KeyboardInterrupt:
        return 0
