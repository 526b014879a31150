"""A real SQLite database with an instance set up, for command tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from keyhook.command.setup import set_up_instance
from keyhook.command.writer import Writer
from keyhook.config import PasswordHashing, from_environment
from keyhook.crypto.passwords import Passwords
from keyhook.crypto.secretbox import SecretBox
from keyhook.domain.caller import Caller
from keyhook.ids import IdGenerator
from keyhook.storage.database import Database
from keyhook.storage.migrate import upgrade

CHEAP = PasswordHashing(memory_kib=1024, time_cost=1, parallelism=1)


@dataclass
class World:
    writer: Writer
    admin: Caller  # the admin machine user
    human_admin_id: str = ""  # the human IAM_OWNER first start makes too


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'keyhook.db'}")
    await upgrade(db)
    writer = Writer(
        db=db,
        settings=from_environment({}, data_dir=tmp_path),
        passwords=Passwords(CHEAP),
        box=SecretBox(SecretBox.generate_key()),
        ids=IdGenerator(),
    )
    setup = await set_up_instance(writer)
    yield World(writer, setup.caller, setup.human_admin_id)
    await db.close()
