"""An assembled core with its delivery worker built but not started, and deliveries
waiting for it: for tests that drive the worker's steps one by one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from keyhook.actions.transport import Transport
from keyhook.bootstrap import Core, assemble
from keyhook.command.executions import ExecutionCommands
from keyhook.command.targets import TargetCommands
from keyhook.config import from_environment
from keyhook.domain.caller import Caller
from keyhook.services.delivery import DeliveryWorker
from tests.support.server import create_database, drop_database


@dataclass(frozen=True)
class Pending:
    core: Core
    worker: DeliveryWorker
    target_id: str
    admin: Caller


@asynccontextmanager
async def pending_deliveries(
    tmp_path: Path,
    transport: Transport,
    count: int,
    timeout: str = "2s",
    env: dict[str, str] | None = None,
) -> AsyncIterator[Pending]:
    """``count`` user.metadata.set deliveries to one restAsync target, on the
    configured database, and the worker that would send them (configured by ``env``
    besides)."""
    url, name = await create_database()
    settings = from_environment(
        {"KEYHOOK_NO_WORKER": "1", **(env or {})},
        data_dir=tmp_path,
        dev=True,
        database_url=url or None,
    )
    core = await assemble(settings, transport=transport, with_worker=True)
    try:
        async with core.db.read() as conn:
            row = (await conn.execute("SELECT * FROM instances")).one()
        admin = Caller(row.id, row.admin_user_id, row.default_org_id, row.default_org_id)
        target = await TargetCommands(core.writer).create(
            admin,
            {"name": "t", "endpoint": "http://127.0.0.1:9/x", "timeout": timeout, "restAsync": {}},
        )
        await ExecutionCommands(core.writer, [], []).set(
            admin,
            {"condition": {"event": {"event": "user.metadata.set"}}, "targets": [target["id"]]},
        )
        core.engine.catalog.invalidate()
        if count:
            items = [(f"k{i}", "v") for i in range(count)]
            await core.users.set_metadata(admin, admin.user_id, items)
        assert core.worker is not None
        yield Pending(core, core.worker, target["id"], admin)
    finally:
        await core.stop()
        await drop_database(name)
