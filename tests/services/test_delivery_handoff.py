"""Deliveries written in this process go to its own worker without a claim.

The outbox writes them already leased to the running worker and hands them over
after the commit (docs/operations.md, "the delivery worker"): the commit is
followed by the call, with no claim's round trips between. A paused target's
deliveries, and those beyond what the worker would hold, are left to claims; a
worker that is not running takes none. In-process, on the configured database,
with a real worker and a function-backed transport.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

from keyhook.actions.transport import MockTransport, OutboundRequest, OutboundResponse
from keyhook.command.targets import TargetCommands
from keyhook.services.delivery import HOLD_ROUNDS
from tests.support.worker import pending_deliveries


async def ok(_: OutboundRequest) -> OutboundResponse:
    return OutboundResponse(200, b'{"status":"success"}')


async def test_a_delivery_written_here_is_leased_to_the_running_worker_and_sent_unclaimed(
    tmp_path: Path,
) -> None:
    sent: list[OutboundRequest] = []

    async def record(request: OutboundRequest) -> OutboundResponse:
        sent.append(request)
        return await ok(request)

    async with pending_deliveries(tmp_path, MockTransport(record), 0) as pending:
        core, worker = pending.core, pending.worker
        claimed: list[str] = []
        claim = worker.queue.claim

        async def counting_claim(*args: Any, **kwargs: Any) -> Any:
            rows, more = await claim(*args, **kwargs)
            claimed.extend(row.id for row in rows)
            return rows, more

        worker.queue.claim = counting_claim  # type: ignore[method-assign]
        inserted: list[tuple[str, str | None]] = []
        outbox = core.engine.outbox
        lease = outbox._lease_to_own_worker

        def noting_lease(rows: list[dict[str, Any]], targets: Any) -> Any:
            handed = lease(rows, targets)
            inserted.extend((row["id"], row["lease_owner"]) for row in rows)
            return handed

        outbox._lease_to_own_worker = noting_lease  # type: ignore[method-assign]
        await worker.start()
        admin = pending.admin
        await core.users.set_metadata(admin, admin.user_id, [("k", "v")])
        for _ in range(200):
            if sent:
                break
            await asyncio.sleep(0.01)
        assert len(sent) == 1
        assert [owner for _, owner in inserted] == [worker.owner], "written leased"
        assert inserted[0][0] not in claimed, "sent without a claim"
        for _ in range(200):
            async with core.db.read() as conn:
                row = (
                    await conn.execute(
                        "SELECT status, lease_owner FROM deliveries WHERE id = :id",
                        {"id": inserted[0][0]},
                    )
                ).one()
            if row.status == "succeeded":
                break
            await asyncio.sleep(0.02)
        assert (row.status, row.lease_owner) == ("succeeded", None)


async def test_paused_targets_full_holds_and_a_stopped_worker_take_nothing(
    tmp_path: Path,
) -> None:
    async with pending_deliveries(tmp_path, MockTransport(ok), 0) as pending:
        worker = pending.worker
        target = (await pending.core.engine.catalog.current()).targets[pending.target_id]
        assert worker.offer(target, 1) is None, "not started"
        await worker.start()
        offered = worker.offer(target, 10)
        assert offered is not None and offered[1] == 10
        assert offered[0].owner == worker.owner
        half = HOLD_ROUNDS * worker.config.target_concurrency // 2
        offered = worker.offer(target, half + 50)
        assert offered is not None, "room is left"
        assert offered[1] == half - 10, "no more than a claim tops up to, the first 10 counted"
        assert worker.offer(target, 1) is None, "offered, not yet taken, still counts"
        assert worker.offer(dataclasses.replace(target, paused=True), 1) is None
        await TargetCommands(pending.core.writer).set_paused(pending.admin, pending.target_id, True)
        pending.core.engine.catalog.invalidate()
        await pending.core.users.set_metadata(
            pending.admin, pending.admin.user_id, [("paused", "v")]
        )
        async with pending.core.db.read() as conn:
            rows = (await conn.execute("SELECT lease_owner, status FROM deliveries")).all()
        assert [(r.lease_owner, r.status) for r in rows] == [(None, "pending")]
        await worker.stop(grace=1)
        assert worker.offer(target, 1) is None, "stopped"
