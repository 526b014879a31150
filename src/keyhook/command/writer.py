"""Running a command: one transaction that appends events and updates read tables.

The command's writes may be held by the connection (:meth:`Connection.later`) and
sent together when the command settles, at the end of :meth:`Writer.commit`, so
their errors (a concurrent change: ``Conflict``) are raised from there.

Later capabilities hook in with :attr:`Writer.after_append` (the outbox writes
its delivery rows there), so every consumer of events commits with them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keyhook.clock import iso, now
from keyhook.command.projections import project
from keyhook.config import Settings
from keyhook.crypto.passwords import Passwords
from keyhook.crypto.secretbox import SecretBox
from keyhook.domain.backoff import Backoff
from keyhook.domain.caller import Caller
from keyhook.domain.netpolicy import NetworkPolicy
from keyhook.eventstore.store import (
    PendingEvent,
    StoredEvent,
    UniqueClaim,
    append,
    with_positions,
)
from keyhook.ids import IdGenerator
from keyhook.storage.connection import Connection, ExpectationFailed
from keyhook.storage.database import Database

AfterAppend = Callable[[Connection, Sequence[StoredEvent]], Awaitable[None]]


@dataclass
class Writer:
    db: Database
    settings: Settings
    passwords: Passwords
    box: SecretBox
    ids: IdGenerator
    after_append: list[AfterAppend] = field(default_factory=list)
    # Failed password and secret checks of the process (one for every entry point).
    backoff: Backoff = field(default_factory=Backoff)

    @property
    def policy(self) -> NetworkPolicy:
        return NetworkPolicy(dev=self.settings.dev, allow_hosts=self.settings.allow_hosts)

    async def commit(
        self,
        conn: Connection,
        caller: Caller,
        pending: Sequence[PendingEvent],
        *,
        expected: dict[tuple[str, str], int] | None = None,
        claims: Sequence[UniqueClaim] = (),
        at: datetime | None = None,
    ) -> list[StoredEvent]:
        stored = await append(
            conn,
            instance_id=caller.instance_id,
            creator=caller.user_id,
            at=at or now(),
            pending=pending,
            expected=expected,
            claims=claims,
            hold=True,
        )
        await project(conn, stored)
        mark, callbacks = conn.mark(), len(conn.after_commit)
        try:
            for hook in self.after_append:
                await hook(conn, stored)
            await conn.settle()
        except ExpectationFailed:
            # A hook's assumption (the outbox's: the actions catalog it matched against
            # is current) no longer held, so nothing was written: again inside an open
            # transaction, where the hooks read what they need exactly.
            conn.rewind(mark)
            # What the failed attempt's hooks asked to run at commit was about writes
            # that never happened (the outbox hands deliveries to the worker so).
            del conn.after_commit[callbacks:]
            await conn.begin()
            for hook in self.after_append:
                await hook(conn, stored)
            await conn.settle()
        return await with_positions(conn, stored)


def details(stored: Sequence[StoredEvent]) -> dict[str, Any]:
    """ZITADEL's ``details`` object for the last event a command appended."""
    last = stored[-1]
    return {
        "sequence": str(last.sequence),
        "changeDate": iso(last.created_at),
        "resourceOwner": last.resource_owner,
    }
