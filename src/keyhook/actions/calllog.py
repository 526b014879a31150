"""The record of every target call, written in batches off the call's path.

A call appends to an in-memory buffer; a background task writes the buffer in
one transaction every ``interval`` seconds (or sooner when it fills), so the
API call never waits for this write. The same transaction counts the calls into
their targets' hourly counters (:mod:`keyhook.storage.target_stats`; test calls are
left out), so a record and its count are written, or lost, together.

The record is a log, not a ledger: the writer survives every failure (a batch
the database refuses is written record by record, and a record refused on its
own is dropped and counted), and the buffer holds at most ``max_buffered``
records: beyond that the newest are dropped and counted, so a database outage
costs records, never the process's memory. Drops are logged as warnings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from keyhook.ids import IdGenerator
from keyhook.storage import target_stats
from keyhook.storage.database import Database
from keyhook.storage.text import storable

log = logging.getLogger("keyhook.actions")

_INSERT_CALL = (
    "INSERT INTO execution_calls (id, instance_id, target_id, kind, trigger, status_code, "
    "duration_ms, error, created_at, request_body, response_body, caller_status) "
    "VALUES (:id, :instance_id, :target_id, :kind, :trigger, :status_code, :duration_ms, "
    ":error, :created_at, :request_body, :response_body, :caller_status)"
)
# How much of a call's request and answer the record keeps.
CALL_BODY_CHARS = 2048


@dataclass(frozen=True)
class CallRecord:
    id: str
    instance_id: str
    target_id: str
    kind: str
    trigger: str
    status_code: int | None
    duration_ms: float
    error: str | None
    created_at: datetime
    request_body: str | None = None  # at most CALL_BODY_CHARS, secrets removed
    response_body: str | None = None  # at most CALL_BODY_CHARS
    caller_status: int | None = None  # the API caller's status when the target interrupted


class CallLog:
    def __init__(
        self,
        db: Database,
        ids: IdGenerator,
        interval: float = 0.25,
        high_water: int = 500,
        max_buffered: int = 50_000,
    ) -> None:
        self._db = db
        self.ids = ids
        self._interval = interval
        self._high_water = high_water
        self._max_buffered = max_buffered
        self._buffer: list[CallRecord] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0  # records lost since the start: buffer full or refused by the database

    def record(self, record: CallRecord) -> None:
        if len(self._buffer) >= self._max_buffered:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning(
                    "the call log buffer is full (%d records): %d call records dropped so far",
                    self._max_buffered,
                    self.dropped,
                )
            return
        self._buffer.append(record)
        if len(self._buffer) >= self._high_water:
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="keyhook-calllog")

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # never end the writer: the buffer would grow for ever
                log.exception("writing the call log failed")

    async def flush(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        try:
            await self._insert(batch)
            return
        except Exception:
            log.exception("writing %d call records failed; writing each alone", len(batch))
        for record in batch:
            try:
                await self._insert([record])
            except Exception as exc:  # one line per record: the batch's traceback is above
                self.dropped += 1
                log.warning("call record %s dropped: %r", record.id, exc)

    async def _insert(self, records: list[CallRecord]) -> None:
        rows = [
            {
                **asdict(r),
                "error": storable(r.error),
                "request_body": storable(r.request_body),
                "response_body": storable(r.response_body),
            }
            for r in records
        ]
        async with self._db.write() as conn:
            await conn.execute_many(_INSERT_CALL, rows)
            await target_stats.add(conn, (_sample(r) for r in records if r.kind != "test"))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.flush()
        except Exception:
            log.exception("writing the last call records failed")


def _sample(record: CallRecord) -> target_stats.Sample:
    return target_stats.Sample(
        instance_id=record.instance_id,
        target_id=record.target_id,
        source="call",
        at=record.created_at,
        duration_ms=record.duration_ms,
        ref=record.id,
        status_code=record.status_code,
        error=record.error,
    )
