"""Recording delivery results: one row the database refuses fails no other (issue 8, finding 2).

In-process, on the configured database: real deliveries from real events, a real
worker's attempts (against a function-backed transport) and a real refusal by the
database: a duplicated attempt id violates the primary key.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from keyhook.actions.transport import MockTransport, OutboundRequest, OutboundResponse
from tests.support.worker import pending_deliveries


async def test_a_refused_row_is_isolated_and_the_others_are_recorded(tmp_path: Path) -> None:
    async def ok(_: OutboundRequest) -> OutboundResponse:
        return OutboundResponse(200, b'{"status":"success","note":"nul \x00 here"}')

    async with pending_deliveries(tmp_path, MockTransport(ok), 5) as pending:
        core, worker = pending.core, pending.worker
        claimed, _, _ = await worker._claim(10)
        assert len(claimed) == 5
        results = []
        for item in claimed:
            result = await worker._attempt(item)
            assert result is not None
            results.append(result)
        # The last result's attempt reuses the first one's id: the database refuses it.
        poisoned = dataclasses.replace(
            results[-1], attempt={**results[-1].attempt, "id": results[0].attempt["id"]}
        )
        worker._results = [*results[:-1], poisoned]
        await worker._flush()

        async with core.db.read() as conn:
            states = {
                r.id: (r.status, r.attempts, r.lease_owner)
                for r in await conn.execute("SELECT * FROM deliveries")
            }
            bodies = [
                r.response_body for r in await conn.execute("SELECT * FROM delivery_attempts")
            ]
        good = [item.id for item in claimed[:-1]]
        assert all(states[d] == ("succeeded", 1, None) for d in good)
        # The refused one is left to its lease (sent again when it ends), nothing else is.
        assert states[claimed[-1].id][:2] == ("pending", 0)
        assert len(bodies) == 4
        assert all("nul \ufffd here" in (b or "") for b in bodies)
