"""Relay targets across nodes on PostgreSQL: the database is the channel.

A node whose socket holds a relay target's listener records it in
``relay_listeners`` (one row per target, so one listener per target across the
cluster) and keeps the row alive with a heartbeat; a row older than ``STALE``
seconds (a crashed node's) may be taken over. A node that must call a target
whose listener is elsewhere writes the call frame into ``relay_calls`` and
notifies the channel ``keyhook_relay`` with ``call:<node>:<call id>``; that
node reads the row, hands the call to its listener (``RelayHub.call_attached``),
writes the answer frame into the row and notifies ``answer:<node>:<call id>``
back. NOTIFY payloads are at most 8000 bytes, so they carry ids, never bodies. The
stored call frame is sealed with the master key (its headers hold the target's
custom header values, which are secrets); every node has the same key.
The caller's timeout covers the whole trip; it deletes the row when it is done.

Raw asyncpg on the database's own pool, plus one connection that LISTENs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import logging
import secrets
from typing import Any

import orjson

from keyhook.actions.relay import NOT_ATTACHED, RelayHub, read_answer
from keyhook.actions.transport import OutboundRequest, OutboundResponse, TransportError
from keyhook.actions.wire import relay_url
from keyhook.crypto.secretbox import SecretBox
from keyhook.storage.database import Database

log = logging.getLogger("keyhook.relay")
CHANNEL = "keyhook_relay"
HEARTBEAT = 5.0  # seconds between a node's heartbeats of the listeners it holds
STALE = 20.0  # a listener row older than this is a crashed node's
KEPT_CALLS = 600.0  # relayed calls nobody deleted (a node died mid-call) go after this


_SEND = (
    "WITH holder AS (SELECT node_id FROM relay_listeners WHERE target_id = $2 "
    "AND node_id <> $3 AND heartbeat_at > now() - make_interval(secs => $5)), "
    "stored AS (INSERT INTO relay_calls (id, target_id, from_node, request, created_at) "
    "SELECT $1, $2, $3, $4, now() FROM holder RETURNING id) "
    "SELECT pg_notify($6, 'call:' || holder.node_id || ':' || stored.id) AS sent "
    "FROM holder, stored"
)
_ANSWER = (
    "WITH answered AS (UPDATE relay_calls SET answer = $2 WHERE id = $1 RETURNING from_node) "
    "SELECT pg_notify($3, 'answer:' || from_node || ':' || $1) FROM answered"
)


class PostgresPeers:
    def __init__(self, db: Database, hub: RelayHub, box: SecretBox) -> None:
        self.db = db
        self.hub = hub
        self.box = box
        self.node_id = secrets.token_hex(8)
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: Any = None
        self._beat: asyncio.Task[None] | None = None

    async def start(self) -> None:
        import asyncpg

        try:
            self._listener = await asyncpg.connect(self.db.postgres_dsn)
            await self._listener.add_listener(CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as exc:
            # Without it no node can reach this one's listeners; they still work locally.
            log.warning("LISTEN %s failed (%s); relay targets work on this node only", CHANNEL, exc)
            self._listener = None
        self._beat = asyncio.create_task(self._heartbeat(), name="keyhook-relay-heartbeat")

    async def stop(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            pool = await self.db.postgres_pool()
            await pool.execute("DELETE FROM relay_listeners WHERE node_id = $1", self.node_id)
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()

    # --- which node holds a listener ------------------------------------------------

    async def claim(self, target_id: str) -> bool:
        pool = await self.db.postgres_pool()
        row = await pool.fetchrow(
            "INSERT INTO relay_listeners (target_id, node_id, heartbeat_at) "
            "VALUES ($1, $2, now()) ON CONFLICT (target_id) DO UPDATE "
            "SET node_id = EXCLUDED.node_id, heartbeat_at = now() "
            "WHERE relay_listeners.heartbeat_at < now() - make_interval(secs => $3) "
            # This node's own row (a release that failed): the hub knows it has none.
            "OR relay_listeners.node_id = EXCLUDED.node_id "
            "RETURNING node_id",
            target_id,
            self.node_id,
            STALE,
        )
        return row is not None

    async def release(self, target_id: str) -> None:
        pool = await self.db.postgres_pool()
        await pool.execute(
            "DELETE FROM relay_listeners WHERE target_id = $1 AND node_id = $2",
            target_id,
            self.node_id,
        )

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                pool = await self.db.postgres_pool()
                await pool.execute(
                    "UPDATE relay_listeners SET heartbeat_at = now() WHERE node_id = $1",
                    self.node_id,
                )
                await pool.execute(
                    "DELETE FROM relay_calls WHERE created_at < now() - make_interval(secs => $1)",
                    KEPT_CALLS,
                )
            except Exception as exc:  # the next beat tries again; the row goes stale meanwhile
                log.warning("relay heartbeat failed: %s", exc)

    # --- a call for a listener on another node ----------------------------------------

    async def call(self, target_id: str, request: OutboundRequest) -> OutboundResponse | None:
        pool = await self.db.postgres_pool()
        call_id = f"{self.node_id}-{next(self._ids)}"
        frame = {
            "headers": list(request.headers.items()),
            "body": base64.b64encode(request.body).decode(),
            "timeout": request.timeout,
            "keep": request.keep,
        }
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = answered
        sent = False
        try:
            async with asyncio.timeout(request.timeout):
                # One round trip: find the node holding the listener, store the call and
                # wake that node; no row when no node holds one.
                sent = (
                    await pool.fetchrow(
                        _SEND,
                        call_id,
                        target_id,
                        self.node_id,
                        # Sealed: the headers hold the target's custom header values.
                        self.box.seal(orjson.dumps(frame).decode()).encode(),
                        STALE,
                        CHANNEL,
                    )
                    is not None
                )
                if not sent:
                    return None
                await answered
                answer = await pool.fetchval(
                    "DELETE FROM relay_calls WHERE id = $1 RETURNING answer", call_id
                )
        except TimeoutError as exc:
            raise TransportError("timeout", f"no answer within {request.timeout:g}s") from exc
        finally:
            self._waiting.pop(call_id, None)
            if sent and not answered.done():  # given up on: nobody will read the row
                self._spawn(self._forget(call_id))
        if answer is None:
            raise TransportError("protocol", "the listener's node wrote no answer")
        return read_answer(orjson.loads(answer), self.hub.cap, request.keep)

    async def _forget(self, call_id: str) -> None:
        pool = await self.db.postgres_pool()
        await pool.execute("DELETE FROM relay_calls WHERE id = $1", call_id)

    # --- a call from another node, for a listener here --------------------------------

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        what, _, rest = payload.partition(":")
        node, _, call_id = rest.partition(":")
        if node != self.node_id:
            return
        if what == "call":
            self._spawn(self._serve(call_id))
        elif what == "answer":
            waiting = self._waiting.get(call_id)
            if waiting is not None and not waiting.done():
                waiting.set_result(None)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, call_id: str) -> None:
        try:
            pool = await self.db.postgres_pool()
            row = await pool.fetchrow(
                "SELECT target_id, from_node, request FROM relay_calls WHERE id = $1", call_id
            )
            if row is None:
                return  # the caller gave up and deleted it
            frame = orjson.loads(self.box.open(bytes(row["request"]).decode()))
            request = OutboundRequest(
                relay_url(row["target_id"]),
                base64.b64decode(frame["body"]),
                {str(k): str(v) for k, v in frame["headers"]},
                float(frame["timeout"]),
                frame["keep"],
            )
            answer: dict[str, Any]
            try:
                attached = self.hub.attached(row["target_id"])
                if attached is None:
                    raise TransportError("connect", NOT_ATTACHED)
                response = await self.hub.call_attached(attached, request)
                answer = {
                    "type": "answer",
                    "status": response.status,
                    "headers": list(response.headers.items()),
                    "body": base64.b64encode(response.body).decode(),
                }
            except TransportError as failure:
                answer = {"type": "failure", "kind": failure.kind, "message": failure.message}
            await pool.execute(_ANSWER, call_id, orjson.dumps(answer), CHANNEL)
        except Exception:  # the caller times out; nothing else waits for this
            log.exception("relaying call %s failed", call_id)
