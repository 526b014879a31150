"""Fixtures of the API tests: a server in its default, strict network policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.server import KeyhookServer


@pytest.fixture(scope="package")
async def strict(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    """An API client of a server started without --dev (targets need https, public hosts)."""
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("strict")), dev=False)
    await server.start()
    client = Api(server.url, server.token)
    try:
        yield client
    finally:
        await client.close()
        await server.stop()
