"""The worker's claim query against a real database: per target, oldest due first,
within each target's cap; paused targets and targets this worker holds enough of are
passed over (their backlogs are never walked); a deleted target's deliveries are still
claimed, to be given up. SQLite, and PostgreSQL when ``KEYHOOK_TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from keyhook.storage import delivery_queue
from keyhook.storage.database import Database
from keyhook.storage.delivery_queue import DeliveryQueue
from tests.support.databases import ENGINES, migrated_database

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
HOLD = 10


@pytest.fixture(params=ENGINES)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        async with database.write() as conn:
            targets = [("t-live", False), ("t-other", False), ("t-paused", True), ("t-wait", False)]
            for target, paused in targets:
                await conn.execute(
                    "INSERT INTO targets (id, instance_id, name, endpoint, timeout_seconds, "
                    "target_type, interrupt_on_error, signing_keys_sealed, paused, created_at, "
                    "changed_at) VALUES (:id, 'i1', :id, 'https://x.example', 5, "
                    "'rest_async', FALSE, 'k', :paused, :at, :at)",
                    {"id": target, "paused": paused, "at": NOW},
                )
            # "t-gone" has deliveries but no target row any more (deleted).
            rows = []
            for target, count in [("t-live", 6), ("t-other", 6), ("t-paused", 50), ("t-gone", 2)]:
                for n in range(count):
                    rows.append(
                        {
                            "id": f"{target}-{n:02d}",
                            "target_id": target,
                            "status": "pending",
                            # the higher the number, the longer it is due: id order is
                            # not due order, so a claim in id order would be caught
                            "at": NOW - timedelta(seconds=n),
                            "lease_until": None,
                        }
                    )
            rows += [  # not due: in the future (t-wait has only that), leased by someone, finished
                {"id": "t-wait-later", "target_id": "t-wait", "status": "pending",
                 "at": NOW + timedelta(minutes=5), "lease_until": None},
                {"id": "t-live-future", "target_id": "t-live", "status": "pending",
                 "at": NOW + timedelta(minutes=5), "lease_until": None},
                {"id": "t-live-leased", "target_id": "t-live", "status": "pending",
                 "at": NOW - timedelta(hours=1), "lease_until": NOW + timedelta(minutes=1)},
                {"id": "t-live-done", "target_id": "t-live", "status": "succeeded",
                 "at": NOW - timedelta(hours=1), "lease_until": None},
            ]  # fmt: skip
            await conn.execute_many(
                "INSERT INTO deliveries (id, instance_id, target_id, kind, trigger, payload, "
                "status, attempts, next_attempt_at, lease_until, created_at, updated_at) VALUES "
                "(:id, 'i1', :target_id, 'event', 'user.locked', '{}', :status, 0, :at, "
                ":lease_until, :at, :at)",
                rows,
            )
        yield database


async def claim(
    db: Database, limit: int, held: dict[str, int], queue: DeliveryQueue | None = None
) -> list[str]:
    return (await claim_and_more(db, limit, held, queue))[0]


async def claim_and_more(
    db: Database, limit: int, held: dict[str, int], queue: DeliveryQueue | None = None
) -> tuple[list[str], bool]:
    own = queue is None
    queue = queue or DeliveryQueue(db)
    try:
        async with queue.claims() as conn:
            rows, more = await queue.claim(
                conn, NOW, limit, held, HOLD, "test-worker", NOW + timedelta(minutes=1)
            )
        # Each claim here sees the same deliveries: what this one leased is let go.
        async with queue.transaction() as conn:
            await conn.execute(
                "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL "
                "WHERE lease_owner = 'test-worker'"
            )
        return [row.id for row in rows], more
    finally:
        if own:
            await queue.close()


async def test_each_target_gets_its_share_oldest_first_and_paused_ones_none(
    db: Database,
) -> None:
    claimed = await claim(db, 9, {})
    assert not [c for c in claimed if c.startswith("t-paused")]
    for target, count, share in (("t-live", 6, 3), ("t-other", 6, 3), ("t-gone", 2, 2)):
        mine = [c for c in claimed if c.startswith(target + "-")]
        oldest = [f"{target}-{n:02d}" for n in range(count - 1, count - 1 - share, -1)]
        assert mine == oldest, (target, claimed)
    assert "t-live-future" not in claimed and "t-live-leased" not in claimed
    assert "t-live-done" not in claimed


async def test_a_target_this_worker_holds_enough_of_is_passed_over(db: Database) -> None:
    claimed = await claim(db, 100, {"t-live": HOLD // 2 + 1, "t-other": HOLD // 2})
    assert not [c for c in claimed if c.startswith("t-live-")], "held more than half"
    assert len([c for c in claimed if c.startswith("t-other-")]) == HOLD - HOLD // 2, "topped up"
    assert len([c for c in claimed if c.startswith("t-gone-")]) == 2


async def test_a_claim_leases_what_it_returns_and_the_next_claim_passes_it_over(
    db: Database,
) -> None:
    queue = DeliveryQueue(db)
    until = NOW + timedelta(minutes=1)
    try:
        async with queue.claims() as conn:
            first, _ = await queue.claim(conn, NOW, 6, {}, HOLD, "worker-a", until)
        async with queue.claims() as conn:
            second, _ = await queue.claim(conn, NOW, 100, {}, HOLD, "worker-b", until)
    finally:
        await queue.close()
    assert len(first) == 6  # two of each target with work
    assert not {row.id for row in first} & {row.id for row in second}
    async with db.read() as conn:
        leased = {
            row.id: row.lease_owner
            for row in await conn.execute(
                "SELECT id, lease_owner FROM deliveries WHERE lease_owner IS NOT NULL"
            )
        }
    assert {row.id: "worker-a" for row in first}.items() <= leased.items()
    assert {row.id: "worker-b" for row in second}.items() <= leased.items()


async def test_a_claim_never_returns_more_than_its_limit(db: Database) -> None:
    assert len(await claim(db, 1, {})) == 1
    assert len(await claim(db, 4, {})) <= 4


async def test_a_target_with_nothing_due_takes_no_share_and_a_full_share_asks_for_more(
    db: Database,
) -> None:
    # t-wait has a pending delivery, but not due: the share is split three ways, not four.
    claimed, more = await claim_and_more(db, 9, {})
    assert len(claimed) == 8 and more, "t-live and t-other filled their share of 3"
    claimed, more = await claim_and_more(db, 100, {})
    assert len(claimed) == 14 and not more, "every target gave all it had due"


async def test_claims_walk_a_bounded_number_of_targets_and_go_round(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery_queue, "TARGETS_PER_CLAIM", 2)
    queue = DeliveryQueue(db)
    try:
        seen: list[set[str]] = []
        for _ in range(4):
            claimed = await claim(db, 100, {}, queue)
            seen.append({c.rsplit("-", 1)[0] for c in claimed})
    finally:
        await queue.close()
    # Pending targets in id order: t-gone, t-live, t-other, t-paused, t-wait; two a claim.
    assert seen == [
        {"t-gone", "t-live"},
        {"t-other"},  # and t-paused, walked, with no work
        {"t-gone"},  # t-wait (nothing due), then round to the first
        {"t-live", "t-other"},
    ]
