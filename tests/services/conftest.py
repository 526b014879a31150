"""A server whose delivery worker retries fast, for the delivery tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.server import KeyhookServer

FAST_DELIVERY = {
    "KEYHOOK_ACTIONS_RETRY_SCHEDULE": "0s,300ms,300ms,300ms,300ms",
    "KEYHOOK_ACTIONS_THROTTLE_MIN_DELAY": "500ms",
    "KEYHOOK_ACTIONS_LEASE": "3s",
    "KEYHOOK_ACTIONS_POLL_INTERVAL": "200ms",
}


@pytest.fixture(scope="package")
async def fast_keyhook(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KeyhookServer]:
    server = KeyhookServer(
        data_dir=Path(tmp_path_factory.mktemp("fast")), extra_env=dict(FAST_DELIVERY)
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def fast_api(fast_keyhook: KeyhookServer) -> AsyncIterator[Api]:
    client = Api(fast_keyhook.url, fast_keyhook.token)
    await client.clear_executions()
    yield client
    await client.clear_executions()
    await client.close()
