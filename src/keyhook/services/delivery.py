"""The delivery worker: sends what the outbox holds, at least once, with retries.

One loop claims due deliveries in batches under a lease (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so several processes share the work without sending
a delivery twice in the normal path), keeping at most ``max_concurrency``
in flight in this process and ``target_concurrency`` per target, so one slow
or dead target never delays another. Each delivery is one signed POST with the
same body and ``webhook-id`` on every attempt. Results and attempt records are
written in batches by a second loop; a crashed worker's claims come back when
their lease ends. The worker wakes on commit in-process, on ``NOTIFY`` from
other processes on PostgreSQL, when a retry falls due, and polls as a fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import logging
import math
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from keyhook.actions.catalog import Catalog
from keyhook.actions.outbox import Lease, message_id
from keyhook.actions.payload_types import PayloadError, PayloadSealer
from keyhook.actions.transport import OutboundRequest, Transport, TransportError
from keyhook.actions.wire import masked_headers, signed_request
from keyhook.clock import now
from keyhook.command.targets import TargetCommands
from keyhook.command.writer import Writer
from keyhook.domain.caller import Caller
from keyhook.domain.netpolicy import NetworkPolicy
from keyhook.domain.retry import RetryPolicy, Verdict, decide, retry_after_seconds
from keyhook.domain.target import PayloadType, Target, loggable
from keyhook.errors import KeyhookError
from keyhook.eventstore.store import PendingEvent
from keyhook.ids import IdGenerator
from keyhook.storage import target_stats
from keyhook.storage.connection import Connection
from keyhook.storage.database import DELIVERY_CHANNEL
from keyhook.storage.delivery_queue import DeliveryQueue, DueRow, Outcome

log = logging.getLogger("keyhook.delivery")
RESPONSE_KEPT = 4096
FLUSH_INTERVAL = 0.1
FLUSH_BATCH = 500
CLAIM_COALESCE = 0.002
# Deliveries held per target: in flight plus claimed and waiting for a slot, in rounds
# of target_concurrency. Claims top a target up once half of that is used.
HOLD_ROUNDS = 24
# A lease lasts at least this much longer than the longest target timeout; a held
# delivery is sent only while its lease has at least SEND_MARGIN left beyond it.
LEASE_MARGIN = 5.0
SEND_MARGIN = 1.0


@dataclass(frozen=True)
class WorkerConfig:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_concurrency: int = 128
    target_concurrency: int = 32
    lease_min: float = 60.0
    poll_interval: float = 1.0
    batch_size: int = 200


@dataclass(frozen=True)
class Result:
    claimed: DueRow  # the delivery as claimed
    verdict: Verdict
    status_code: int | None
    error: str | None
    attempt: dict[str, Any]


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class DeliveryWorker:
    def __init__(
        self,
        writer: Writer,
        catalog: Catalog,
        transport: Transport,
        policy: NetworkPolicy,
        ids: IdGenerator,
        config: WorkerConfig,
        sealer: PayloadSealer | None = None,
    ) -> None:
        self.writer = writer
        # JWT and JWE payloads, made per attempt: a retry uses the keys current then.
        self.sealer = sealer or PayloadSealer()
        self.db = writer.db
        self.catalog = catalog
        self.transport = transport
        self.policy = policy
        self.ids = ids
        self.config = config
        self.owner = worker_id()
        self._wake = asyncio.Event()
        self._results: list[Result] = []
        self._results_ready = asyncio.Event()
        self._inflight: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._due: list[float] = []  # when retries this worker scheduled fall due
        self._stopping = False
        self._loops: list[asyncio.Task[None]] = []
        self._listener: Any = None
        self._longest_timeout = 0.0  # of any target, as the last claim saw the catalog
        self._offered: dict[str, int] = {}  # handed-over deliveries offered, not yet taken
        self._let_go: list[str] = []  # held deliveries whose lease ran short, to give back
        self._releasing: asyncio.Task[None] | None = None
        self._running = False  # between start() and stop(): takes deliveries handed over
        # Claimed, not yet started, each with the moment (monotonic) its lease ends.
        self._waiting: dict[str, deque[tuple[DueRow, float]]] = {}
        self.queue = DeliveryQueue(writer.db)
        # Deliveries held per target at most; claims top a target up below half of it.
        self._hold = HOLD_ROUNDS * config.target_concurrency

    # --- life cycle ----------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._running = True
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="keyhook-delivery-claims"),
            asyncio.create_task(self._flush_loop(), name="keyhook-delivery-results"),
        ]
        if not self.db.is_sqlite:
            await self._listen()

    async def _listen(self) -> None:
        import asyncpg

        try:
            self._listener = await asyncpg.connect(self.db.postgres_dsn)
            await self._listener.add_listener(DELIVERY_CHANNEL, lambda *_: self.wake())
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("LISTEN %s failed (%s); polling only", DELIVERY_CHANNEL, exc)
            self._listener = None

    async def stop(self, grace: float = 10.0) -> None:
        self._stopping = True
        self._running = False
        self.wake()
        if self._loops:
            await asyncio.wait([self._loops[0]], timeout=grace)
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
        for loop in self._loops:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        await self._flush()
        if self._releasing is not None:
            with contextlib.suppress(Exception):
                await self._releasing
        await self._release_own_leases()
        await self.queue.close()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()

    async def _release_own_leases(self) -> None:
        with contextlib.suppress(Exception):
            async with self.db.write() as conn:
                await conn.execute(
                    "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL "
                    "WHERE lease_owner = :owner AND status = 'pending'",
                    {"owner": self.owner},
                )

    # --- claiming --------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while not self._stopping:
            room = self._hold_limit() - self._held_total()
            limit = min(room, self.config.batch_size)
            claimed: list[DueRow] = []
            more, lease_ends = False, 0.0
            if limit > 0:
                try:
                    claimed, more, lease_ends = await self._claim(limit)
                except Exception:  # keep the worker alive through a database hiccup
                    log.exception("claiming deliveries failed")
                    await asyncio.sleep(self.config.poll_interval)
                if not claimed and not self._inflight:
                    # Idle: an offer whose transaction rolled back is never taken, so what
                    # is still counted as offered is forgotten here (it only holds back).
                    self._offered.clear()
                for item in claimed:
                    self._waiting.setdefault(item.target_id, deque()).append((item, lease_ends))
                self._start_ready()
            if claimed and (len(claimed) == limit or more):
                continue  # more may be due right now
            await self._sleep()

    def _hold_limit(self) -> int:
        """How many deliveries this process holds at most, in flight and waiting: twice
        what may be in flight, and at least one target's full hold, so that a claim
        under load brings a full batch while the target's earlier rounds are sent."""
        return max(2 * self.config.max_concurrency, self._hold)

    def _held(self, target_id: str) -> int:
        return self._inflight.get(target_id, 0) + len(self._waiting.get(target_id, ()))

    def _held_total(self) -> int:
        return sum(self._inflight.values()) + sum(len(q) for q in self._waiting.values())

    def _start_ready(self) -> None:
        """Start waiting deliveries while their target and the process have free slots."""
        if self._stopping:
            return  # what waits is released by stop()
        running = sum(self._inflight.values())
        moment = time.monotonic()
        for target_id, queue in list(self._waiting.items()):
            while (
                queue
                and running < self.config.max_concurrency
                and (self._inflight.get(target_id, 0) < self.config.target_concurrency)
            ):
                item, lease_ends = queue.popleft()
                if lease_ends - moment < self._timeout_of(target_id) + SEND_MARGIN:
                    # Waited so long (a slow target) that its lease could end mid-call and
                    # another worker send it too: give it back, to be claimed again.
                    self._give_back(item.id)
                    continue
                self._inflight[target_id] = self._inflight.get(target_id, 0) + 1
                running += 1
                task = asyncio.create_task(self._deliver(item, lease_ends))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if not queue:
                del self._waiting[target_id]

    def _timeout_of(self, target_id: str) -> float:
        """The target's timeout as the catalog in memory has it, else the longest."""
        snapshot = self.catalog.held()
        target = snapshot.targets.get(target_id) if snapshot is not None else None
        return target.timeout if target is not None else self._longest_timeout

    def _give_back(self, delivery_id: str) -> None:
        """Release a held delivery's lease now rather than when it ends."""
        self._let_go.append(delivery_id)
        if self._releasing is None or self._releasing.done():
            self._releasing = asyncio.create_task(self._release_let_go())

    async def _release_let_go(self) -> None:
        while self._let_go:
            ids, self._let_go = self._let_go, []
            try:
                async with self.queue.transaction() as conn:
                    await self.queue.release(conn, ids, self.owner)
            except Exception:  # their leases end by themselves
                log.exception("giving back %d delivery leases failed", len(ids))
                return
        self._wake.set()  # claimable again: perhaps by this worker

    async def _sleep(self) -> None:
        moment = time.monotonic()
        while self._due and self._due[0] <= moment:
            heapq.heappop(self._due)
        timeout = self.config.poll_interval
        if self._due:
            timeout = min(timeout, self._due[0] - moment)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        if self._inflight:
            # Woken by finished deliveries: let a few more finish, then claim for all of
            # them in one query instead of one query per freed slot.
            await asyncio.sleep(CLAIM_COALESCE)
        self._wake.clear()

    async def _claim(self, limit: int) -> tuple[list[DueRow], bool, float]:
        """Claimed deliveries, whether more are due now, and when (monotonic) their
        lease ends."""
        at, moment = now(), time.monotonic()  # one moment: the lease is counted from it
        snapshot = await self.catalog.current()
        longest = max((target.timeout for target in snapshot.targets.values()), default=0.0)
        self._longest_timeout = longest
        lease = max(self.config.lease_min, longest + LEASE_MARGIN)
        lease_ends = moment + lease
        # Per target this process holds one round in flight and more claimed, waiting to
        # start the moment a slot frees; it claims again once half of that is used. So a
        # claim brings several rounds at once rather than one delivery per finished one,
        # and work is at hand while the next claim's round trips run.
        hold = self._hold
        held = {target: self._held(target) for target in {*self._inflight, *self._waiting}}
        async with self.queue.claims() as conn:
            claimed, more = await self.queue.claim(
                conn, at, limit, held, hold, self.owner, at + timedelta(seconds=lease)
            )
        return claimed, more, lease_ends

    # --- hand-over: deliveries written in this process ------------------------------

    def offer(self, target: Target, count: int) -> tuple[Lease, int] | None:
        """Take deliveries to ``target`` being written in this process, up to what a
        claim would top the target up to, unless it is paused; they are written
        leased to this worker and handed over by :meth:`take` after the commit."""
        if not self._running or self._stopping or target.paused:
            return None
        hold = self._hold
        offered = self._offered.get(target.id, 0)  # in transactions not yet committed
        room = min(
            hold // 2 - self._held(target.id) - offered,
            self._hold_limit() - self._held_total() - sum(self._offered.values()),
        )
        if room <= 0:
            return None
        self._longest_timeout = max(self._longest_timeout, target.timeout)
        lease = max(self.config.lease_min, self._longest_timeout + LEASE_MARGIN)
        at, moment = now(), time.monotonic()
        taken = min(count, room)
        self._offered[target.id] = offered + taken
        return Lease(self.owner, at + timedelta(seconds=lease), moment + lease), taken

    def take(self, rows: Sequence[DueRow], lease: Lease) -> None:
        """Committed deliveries leased to this worker by :meth:`offer`: sent like
        claimed ones (if the worker stopped meanwhile, stop() released the lease or
        the lease ends)."""
        for row in rows:
            self._waiting.setdefault(row.target_id, deque()).append((row, lease.ends))
            _count_down(self._offered, row.target_id)
        self._start_ready()

    # --- sending ---------------------------------------------------------------------

    async def _deliver(self, item: DueRow, lease_ends: float) -> None:
        try:
            result = await self._attempt(item, lease_ends)
            if result is None:
                return  # given back: its lease had no room for the call
            # Appended only now: the flush swaps in a new list while attempts are awaited.
            self._results.append(result)
            if len(self._results) >= FLUSH_BATCH:
                self._results_ready.set()
        except Exception:  # the lease brings it back; never let one delivery kill the loop
            log.exception("delivery %s failed unexpectedly", item.id)
        finally:
            _count_down(self._inflight, item.target_id)
            self._start_ready()
            if self._held(item.target_id) == self._hold // 2:
                self._wake.set()  # just crossed the top-up mark

    async def _attempt(self, item: DueRow, lease_ends: float = math.inf) -> Result | None:
        """The attempt's result; None if the lease has no room left for the call (with the
        target's timeout as it is now), the delivery then given back unsent."""
        started_at = now()
        started = time.perf_counter()
        target = (await self.catalog.current()).targets.get(item.target_id)
        if target is None:  # created moments ago by another process: look again, not cached
            self.catalog.invalidate()
            target = (await self.catalog.current()).targets.get(item.target_id)
        if target is not None and lease_ends - time.monotonic() < target.timeout + SEND_MARGIN:
            self._give_back(item.id)
            return None
        status: int | None = None
        error: str | None = None
        kept: str | None = None
        retry_after: float | None = None
        timed_out = False
        request: OutboundRequest | None = None
        if target is None:
            verdict = Verdict("give_up")
            error = "the target was deleted"
        else:
            refusal = self.policy.refusal(target.endpoint)
            try:
                if refusal is not None:
                    raise TransportError("policy", f"refused by the network policy: {refusal}")
                body = item.payload.encode()
                if target.payload_type is not PayloadType.JSON:
                    body = await self.sealer.body(target, body)
                request = signed_request(target, body, message_id(item.id))
                # Only the start of the answer is kept; the rest is never read.
                response = await self.transport.send(
                    dataclasses.replace(request, keep=RESPONSE_KEPT)
                )
                status = response.status
                kept = response.body[:RESPONSE_KEPT].decode("utf-8", "replace")
                retry_after = retry_after_seconds(response.headers.get("Retry-After"), time.time())
                if not 200 <= status < 300:
                    error = f"the target answered {status}"
            except PayloadError as failure:  # not sent; retried on the schedule
                error = failure.message
            except TransportError as failure:
                error = failure.message
                timed_out = failure.kind == "timeout"
                if failure.kind == "policy":  # refused before anything was sent
                    request = None
            except Exception:  # a failed attempt like any other: retried on the schedule
                log.exception("delivery %s to target %s failed unexpectedly", item.id, target.id)
                status, error = None, "the call failed unexpectedly"
            verdict = decide(
                self.config.retry,
                attempts_made=item.attempts + 1,
                status=status,
                timed_out=timed_out,
                retry_after=retry_after,
            )
        if verdict.action != "done":
            _log_failure(item, target, verdict, error or f"the target answered {status}")
        sent: str | None = None
        if request is not None and target is not None:
            # After the call, not before it: the receiver waits for none of this. The
            # custom headers' values are secrets and never reach the log.
            lines = self.transport.headers_sent(request)
            sent = orjson.dumps(masked_headers(lines, target.headers)).decode()
        attempt = {
            "id": self.ids.new(),
            "delivery_id": item.id,
            "worker": self.owner,
            "attempted_at": started_at,
            "duration_ms": (time.perf_counter() - started) * 1000,
            "status_code": status,
            "response_body": kept,
            "error": error,
            "request_headers": sent,
        }
        return Result(item, verdict, status, error, attempt)

    # --- recording -------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._results_ready.wait(), FLUSH_INTERVAL)
            self._results_ready.clear()
            try:
                await self._flush()
            except Exception:  # the leases bring unrecorded deliveries back
                log.exception("recording delivery results failed")
                await asyncio.sleep(self.config.poll_interval)

    async def _flush(self) -> None:
        if not self._results:
            return
        batch, self._results = self._results, []
        at = now()
        outcomes: list[Outcome] = []
        failed: list[Result] = []
        paused: dict[str, str] = {}
        for result in batch:
            item, verdict = result.claimed, result.verdict
            status, attempts, next_at = "pending", item.attempts + 1, at
            if verdict.action == "done":
                status = "succeeded"
            elif verdict.action == "give_up":
                status = "failed"
                failed.append(result)
            elif verdict.action == "retry":
                next_at = at + timedelta(seconds=verdict.delay)
                self._note_due(verdict.delay)
            else:  # pause: kept pending, sent after the target is resumed
                attempts = item.attempts
                paused[item.target_id] = item.instance_id
            outcomes.append(
                Outcome(
                    item.id, self.owner, status, attempts, next_at, result.status_code, result.error
                )
            )
        # Pause first: once recorded, a paused delivery is free to be claimed again.
        for target_id, instance_id in paused.items():
            await self._pause(target_id, instance_id)
        samples = [_sample(r, o.status == "failed") for r, o in zip(batch, outcomes, strict=True)]
        await self._record(outcomes, [r.attempt for r in batch], samples, at)
        if any(r.claimed.trigger != "target.delivery.failed" for r in failed):
            # Right after the failure is recorded (a crash in between would lose only this
            # notification; the delivery itself shows as failed).
            async with self.db.write() as conn:
                await self._append_failures(conn, failed)

    async def _record(
        self,
        outcomes: list[Outcome],
        attempts: list[dict[str, Any]],
        samples: list[target_stats.Sample],
        at: datetime,
    ) -> None:
        """Write a batch of results; if the batch fails, each result on its own.

        One row the database refuses must never fail the others: unrecorded, they
        would come back at their lease's end and be sent again, for ever. A row that
        fails on its own too is recorded without the receiver's text; only if even
        that fails is it left to its lease.
        """
        try:
            async with self.queue.transaction() as raw:
                await self.queue.record(raw, outcomes, attempts, at, samples)
            return
        except Exception:
            log.exception(
                "recording %d delivery results failed; recording each alone", len(outcomes)
            )
        for outcome, attempt, sample in zip(outcomes, attempts, samples, strict=True):
            try:
                async with self.queue.transaction() as raw:
                    await self.queue.record(raw, [outcome], [attempt], at, [sample])
                continue
            except Exception as exc:  # one line per row: the batch's traceback is above
                log.warning(
                    "recording the result of delivery %s failed: %r", outcome.delivery_id, exc
                )
            bare = dataclasses.replace(outcome, error="the attempt's result could not be stored")
            try:
                async with self.queue.transaction() as raw:
                    await self.queue.record(
                        raw,
                        [bare],
                        [{**attempt, "response_body": None, "error": bare.error}],
                        at,
                        [dataclasses.replace(sample, error=bare.error)],
                    )
            except Exception as exc:
                log.warning("delivery %s is left to its lease: %r", outcome.delivery_id, exc)

    def _note_due(self, delay: float) -> None:
        due = time.monotonic() + delay
        if not self._due or due < self._due[0]:
            self._wake.set()  # the claim loop may be asleep until a later moment
        heapq.heappush(self._due, due)

    async def _append_failures(self, conn: Connection, failed: list[Result]) -> None:
        for result in failed:
            item = result.claimed
            if item.trigger == "target.delivery.failed":
                # A failed failure-notice raises no further notice: otherwise two targets
                # that both fail would notify each other for ever.
                continue
            await self.writer.commit(
                conn,
                _system(item.instance_id),
                [
                    PendingEvent(
                        "target.delivery.failed",
                        "target",
                        item.target_id,
                        item.instance_id,
                        {
                            "targetId": item.target_id,
                            "deliveryId": item.id,
                            "trigger": item.trigger,
                            "attempts": item.attempts + 1,
                            "lastStatusCode": result.status_code,
                            "lastError": result.error,
                        },
                    )
                ],
            )

    async def _pause(self, target_id: str, instance_id: str) -> None:
        try:
            await TargetCommands(self.writer).set_paused(
                _system(instance_id), target_id, True, reason="the target answered 410 Gone"
            )
        except KeyhookError as error:  # deleted meanwhile, or changed concurrently
            log.warning("pausing target %s failed: %s", target_id, error.message)
        self.catalog.invalidate()


def _sample(result: Result, gave_up: bool) -> target_stats.Sample:
    return target_stats.Sample(
        instance_id=result.claimed.instance_id,
        target_id=result.claimed.target_id,
        source="delivery",
        at=result.attempt["attempted_at"],
        duration_ms=result.attempt["duration_ms"],
        ref=result.claimed.id,
        status_code=result.status_code,
        error=result.error,
        gave_up=gave_up,
    )


def _count_down(counts: dict[str, int], key: str) -> None:
    """One fewer of ``key``; a count that reaches nothing leaves the dict."""
    left = counts.get(key, 0) - 1
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)


def _log_failure(item: DueRow, target: Target | None, verdict: Verdict, outcome: str) -> None:
    """One WARNING line per failed attempt (docs/operations.md, "Logs"): ids, names, the
    outcome and what happens next; never the payload, the endpoint or a header."""
    name = repr(target.name) if target is not None else "(deleted)"
    head = (
        f"target {item.target_id} {name} kind={item.kind} trigger={item.trigger} "
        f"delivery={item.id} attempt={item.attempts + 1}: {loggable(outcome)}"
    )
    if verdict.action == "retry":
        log.warning("%s; retried in %.1fs", head, verdict.delay)
    elif verdict.action == "give_up":
        log.warning("%s; failed for good (attempts=%d)", head, item.attempts + 1)
    else:
        log.warning("%s; the target is paused, its deliveries wait until it is resumed", head)


def _system(instance_id: str) -> Caller:
    return Caller(
        instance_id=instance_id, user_id="system", org_id=instance_id, default_org_id=instance_id
    )
