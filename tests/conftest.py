"""Shared fixtures: one running Keyhook server, a real receiver and an API client.

The server runs on SQLite unless ``KEYHOOK_TEST_DATABASE_URL`` names PostgreSQL.
Tests that set executions clear them afterwards (``clean_actions``), since only
the most specific execution runs and tests would otherwise see each other's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.support.api import Api
from tests.support.browser import chromium_missing_reason, headless_chromium
from tests.support.hostile import HostileReceiver
from tests.support.receiver import Receiver
from tests.support.server import KeyhookServer


@pytest.fixture(scope="session")
async def keyhook(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KeyhookServer]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("keyhook")))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
async def api(keyhook: KeyhookServer) -> AsyncIterator[Api]:
    client = Api(keyhook.url, keyhook.token)
    yield client
    await client.close()


@pytest.fixture(scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def hostile() -> AsyncIterator[HostileReceiver]:
    """A receiver that answers whatever raw bytes a test gives it (tests/support/hostile.py)."""
    server = HostileReceiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def clean_actions(api: Api) -> AsyncIterator[Api]:
    await api.clear_executions()
    yield api
    await api.clear_executions()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium; the test is skipped, saying why, when Chromium is missing."""
    reason = chromium_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    async with headless_chromium() as launched:
        yield launched
