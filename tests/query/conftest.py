"""A real core (SQLite, development settings) for the query tests that need the server's
commands, and its instance's admin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keyhook.bootstrap import Core, assemble
from keyhook.config import from_environment
from keyhook.domain.caller import Caller


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    assembled = await assemble(from_environment({}, data_dir=tmp_path, dev=True))
    yield assembled
    await assembled.stop()


async def admin_of(core: Core) -> Caller:
    async with core.db.read() as conn:
        row = (await conn.execute("SELECT * FROM instances")).one()
    return Caller(row.id, row.admin_user_id, row.default_org_id, row.default_org_id)
