"""The relay socket, ``/v2/actions/relay?target=ID``: where ``keyhook listen`` attaches.

The caller authenticates with its bearer token in the handshake's
``Authorization`` header and must be allowed what UpdateTarget requires (the
permission is read from the operation registry, its one source). The target
must be a relay target (endpoint ``relay:``). The socket is accepted before
these checks so that a refusal reaches the CLI as a sentence: an ``error``
frame, then a close with code 4000 + the HTTP status the same error has in the
API (4401, 4403, 4404, 4409, 4400).

Then the server sends ``{"type":"attached","target":{"id","name","type"}}``,
call frames as the target is called, and reads answer frames
(``keyhook.actions.relay``). Closing the socket detaches the listener. Once a
listener is attached, the target's deliveries that wait for their next attempt are
made due at once: they failed because no listener was there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from keyhook.actions.relay import Attached, RelayHub
from keyhook.api.errors import error_response
from keyhook.api.pipeline import Pipeline
from keyhook.api.registry import Registry
from keyhook.domain.caller import Caller
from keyhook.domain.target import RELAY_ENDPOINT
from keyhook.errors import (
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    KeyhookError,
    Unauthenticated,
    field_error,
)
from keyhook.query.targets import TargetQueries

log = logging.getLogger("keyhook.relay")
PATH = "/v2/actions/relay"
GUARD = "/zitadel.action.v2.ActionService/UpdateTarget"  # attaching takes a target's calls


def routes(
    registry: Registry,
    pipeline: Pipeline,
    targets: TargetQueries,
    hub: RelayHub,
    attached_hook: Callable[[Caller, str], Awaitable[None]] | None = None,
) -> list[BaseRoute]:
    """``attached_hook(caller, target id)`` runs once a listener is attached (the server
    makes the target's waiting deliveries due)."""
    guard = registry.operations[GUARD]

    async def relay(socket: WebSocket) -> None:
        await socket.accept()
        attached: Attached | None = None
        claimed = False
        try:
            header = socket.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated(
                    "missing or malformed Authorization header; "
                    "send Authorization: Bearer <personal access token>"
                )
            caller = await pipeline.admitted(guard, token.strip())
            target_id = socket.query_params.get("target", "")
            if not target_id.isdigit():
                raise field_error("target", "is required", "the id of a relay target")
            found: dict[str, Any] = (await targets.get(caller, target_id))["target"]
            if found["endpoint"] != RELAY_ENDPOINT:
                raise FailedPrecondition(
                    f"target {found['name']!r} is not a relay target (its endpoint is "
                    f"{found['endpoint']}); `keyhook listen` attaches only to targets whose "
                    "endpoint is relay:"
                )

            sending = asyncio.Lock()  # calls run concurrently; frames go out one by one

            async def send(frame: bytes) -> None:
                async with sending:
                    await socket.send_text(frame.decode())

            busy = Conflict(
                f"another `keyhook listen` is attached to target {found['name']!r}; "
                "stop it first (one listener per target)"
            )
            attached = hub.attach(target_id, send)
            if attached is None:
                raise busy
            claimed = await hub.claim(target_id)
            if not claimed:
                raise busy
            kind = next(k for k in ("restWebhook", "restCall", "restAsync") if k in found)
            await socket.send_text(
                orjson.dumps(
                    {
                        "type": "attached",
                        "target": {"id": target_id, "name": found["name"], "type": kind},
                    }
                ).decode()
            )
            log.info("listener attached to relay target %s", target_id)
            if attached_hook is not None:
                try:
                    await attached_hook(caller, target_id)
                except Exception:  # they go out on their schedule then; the socket is fine
                    log.exception("waiting deliveries of target %s not made due", target_id)
            while True:
                message = await socket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                try:
                    frame = orjson.loads(message.get("text") or "")
                except orjson.JSONDecodeError:
                    raise InvalidArgument("frames are JSON text") from None
                if isinstance(frame, dict):
                    hub.answered(attached, frame)
        except WebSocketDisconnect:
            pass
        except KeyhookError as error:
            status = error_response(error).status_code
            with contextlib.suppress(Exception):
                await socket.send_text(
                    orjson.dumps(
                        {"type": "error", "code": error.code, "message": error.message}
                    ).decode()
                )
                await socket.close(code=4000 + status, reason=error.code)
        except Exception:  # the listener's calls fail as a dropped connection's (finally)
            log.exception("relay socket of target %s failed", socket.query_params.get("target"))
            with contextlib.suppress(Exception):
                await socket.close(code=1011)
        finally:
            if attached is not None:
                hub.detach(attached)
                if claimed:
                    await hub.release(attached.target_id)
                log.info("listener detached from relay target %s", attached.target_id)

    return [WebSocketRoute(PATH, relay)]
