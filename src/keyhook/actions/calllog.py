"""The record of every target call, written in batches off the call's path.

A call appends to an in-memory buffer; a background task writes the buffer in
one transaction every ``interval`` seconds (or sooner when it fills), so the
API call never waits for this write.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import insert

from keyhook.ids import IdGenerator
from keyhook.storage import schema as t
from keyhook.storage.database import Database


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


class CallLog:
    def __init__(
        self, db: Database, ids: IdGenerator, interval: float = 0.25, high_water: int = 500
    ) -> None:
        self._db = db
        self.ids = ids
        self._interval = interval
        self._high_water = high_water
        self._buffer: list[CallRecord] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def record(self, record: CallRecord) -> None:
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
            await self.flush()

    async def flush(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        async with self._db.write() as conn:
            await conn.execute(insert(t.execution_calls), [asdict(r) for r in batch])

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
