"""A claimed delivery is sent only while its lease has room for the whole call.

A worker holds several rounds of a target's deliveries ahead of sending them. Behind
a slow target one may wait so long that its lease would end during the call, and
another worker, seeing the lease over, would send it at the same time: the worker
lets such a delivery go instead, and it is claimed again once its lease has ended.
In-process, on the configured database, with a real worker's steps.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from pathlib import Path

import pytest

from keyhook.actions.transport import MockTransport, OutboundRequest, OutboundResponse
from keyhook.command.targets import TargetCommands
from keyhook.services.delivery import SEND_MARGIN
from tests.support.worker import pending_deliveries


@pytest.mark.parametrize("lease", ["60s", "1s"])  # 1 s: the lease is the timeout + 5 s
async def test_a_delivery_whose_lease_would_end_during_the_call_is_let_go(
    tmp_path: Path, lease: str
) -> None:
    sent: list[OutboundRequest] = []

    async def ok(request: OutboundRequest) -> OutboundResponse:
        sent.append(request)
        return OutboundResponse(200, b'{"status":"success"}')

    async with pending_deliveries(
        tmp_path, MockTransport(ok), 2, timeout="3s", env={"KEYHOOK_ACTIONS_LEASE": lease}
    ) as pending:
        worker = pending.worker
        claimed, _, lease_ends = await worker._claim(10)
        assert len(claimed) == 2
        assert lease_ends - time.monotonic() > 3 + SEND_MARGIN  # a fresh claim has room
        stale, fresh = claimed
        # As if ``stale`` had waited behind the target until less than 3 s + the margin
        # were left.
        worker._waiting[pending.target_id] = deque(
            [(stale, time.monotonic() + 3 + SEND_MARGIN - 0.2), (fresh, lease_ends)]
        )
        worker._start_ready()
        await asyncio.gather(*worker._tasks)
        assert len(sent) == 1
        assert [result.claimed.id for result in worker._results] == [fresh.id]
        assert pending.target_id not in worker._waiting
        # The one let go is given back at once, unsent: any worker may claim it now.
        assert worker._releasing is not None
        await worker._releasing
        async with pending.core.db.read() as conn:
            row = (
                await conn.execute(
                    "SELECT lease_owner, attempts, status FROM deliveries WHERE id = :id",
                    {"id": stale.id},
                )
            ).one()
        assert (row.lease_owner, row.attempts, row.status) == (None, 0, "pending")


async def test_a_call_is_not_started_when_the_targets_timeout_grew_past_the_lease(
    tmp_path: Path,
) -> None:
    """The check before the call uses the target as it is now: a timeout raised since
    the claim (the worker was full, no claim refreshed it) must still fit the lease."""
    sent: list[OutboundRequest] = []

    async def ok(request: OutboundRequest) -> OutboundResponse:
        sent.append(request)
        return OutboundResponse(200, b'{"status":"success"}')

    async with pending_deliveries(tmp_path, MockTransport(ok), 1, timeout="3s") as pending:
        worker = pending.worker
        [item], _, _ = await worker._claim(10)
        # 5 s of lease left: room for a 3 s call, not for the 60 s the target now has.
        await TargetCommands(pending.core.writer).update(
            pending.admin, pending.target_id, {"timeout": "60s"}
        )
        pending.core.engine.catalog.invalidate()
        assert await worker._attempt(item, time.monotonic() + 5) is None
        assert sent == []
        assert worker._releasing is not None
        await worker._releasing
        async with pending.core.db.read() as conn:
            owner = (
                await conn.execute(
                    "SELECT lease_owner FROM deliveries WHERE id = :id", {"id": item.id}
                )
            ).scalar()
        assert owner is None
