"""Fixtures of the API tests: a plain HTTP client of the shared server, and servers
in the default, strict network policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import Api, serving
from tests.support.server import KeyhookServer


@pytest.fixture
async def http(keyhook: KeyhookServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the shared server (OAuth forms, pages); redirects are not followed."""
    async with httpx.AsyncClient(base_url=keyhook.url) as client:
        yield client


@pytest.fixture(scope="package")
async def strict(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    """An API client of a server started without --dev (targets need https, public hosts)."""
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("strict")), dev=False)
    async with serving(server) as client:
        yield client
