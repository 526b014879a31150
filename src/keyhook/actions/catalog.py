"""An in-memory snapshot of targets and executions, so matching costs a dict look-up.

The snapshot is reloaded when this process changed targets or executions
(:meth:`Catalog.invalidate`) and, for changes made by other processes, when the
instance's ``actions_generation`` moved; on the path of an API call that is
checked at most once per ``recheck_seconds`` (so a request execution set through
another node applies here within that time), and inside every transaction that
appends events exactly (:meth:`Catalog.as_seen_by`), so no event delivery is
missed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from keyhook.clock import aware
from keyhook.crypto.secretbox import SecretBox
from keyhook.domain.execution import Kind, match_event, match_function, match_method
from keyhook.domain.target import EncryptionKey, Target, target_from_record
from keyhook.storage.connection import Connection
from keyhook.storage.database import Database


@dataclass(frozen=True)
class Snapshot:
    generation: int = -1
    executions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    targets: dict[str, Target] = field(default_factory=dict)

    def _resolve(self, ids: Sequence[str]) -> list[Target]:
        return [self.targets[i] for i in ids if i in self.targets]

    def for_method(self, kind: Kind, full_method: str) -> list[Target]:
        return self._resolve(match_method(self.executions, kind, full_method))

    def for_event(self, event_type: str) -> list[Target]:
        return self._resolve(match_event(self.executions, event_type))

    def for_function(self, name: str) -> list[Target]:
        return self._resolve(match_function(self.executions, name))


class Catalog:
    def __init__(self, db: Database, box: SecretBox, recheck_seconds: float = 1.0) -> None:
        self._db = db
        self._box = box
        self._recheck = recheck_seconds
        self._snapshot = Snapshot()
        self._checked_at = 0.0
        self._stale = True
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._stale = True

    async def current(self) -> Snapshot:
        if not self._stale and time.monotonic() - self._checked_at < self._recheck:
            return self._snapshot
        async with self._lock:
            if self._stale or time.monotonic() - self._checked_at >= self._recheck:
                await self._refresh()
        return self._snapshot

    def held(self) -> Snapshot | None:
        """The snapshot in memory, unless this process changed the catalog since it was
        loaded. It may be behind other processes' changes: whoever relies on it must
        check its generation in the same transaction (the outbox does)."""
        return None if self._stale else self._snapshot

    async def as_seen_by(self, conn: Connection) -> Snapshot:
        """The snapshot as of ``conn``'s transaction: exact, whatever other processes did.

        The outbox uses this inside the transaction that appends events, so an execution
        set through another node a moment ago is never missed. It costs one small read.
        """
        async with self._lock:
            await self._load(conn)
        return self._snapshot

    async def _refresh(self) -> None:
        async with self._db.read() as conn:
            await self._load(conn)

    async def _load(self, conn: Connection) -> None:
        # Every instance's changes count (the snapshot holds every instance's executions);
        # the outbox's check in a one-statement write sums the same way.
        generation = (
            await conn.execute("SELECT coalesce(sum(actions_generation), 0) AS g FROM instances")
        ).scalar()
        generation = int(generation)
        if self._stale or generation != self._snapshot.generation:
            rows = await conn.execute("SELECT condition_key, target_ids FROM executions")
            executions = {r.condition_key: tuple(orjson.loads(r.target_ids)) for r in rows}
            key_rows = await conn.execute(
                "SELECT id, target_id, public_key_pem, algorithm, expires_at "
                "FROM target_public_keys WHERE active"
            )
            keys = {
                r.target_id: EncryptionKey(
                    r.id,
                    r.public_key_pem,
                    r.algorithm,
                    None if r.expires_at is None else aware(r.expires_at),
                )
                for r in key_rows
            }
            target_rows = await conn.execute("SELECT * FROM targets")
            targets = {r.id: target_from_record(r, self._box, keys.get(r.id)) for r in target_rows}
            self._snapshot = Snapshot(generation, executions, targets)
        self._stale = False
        self._checked_at = time.monotonic()
