"""A headless Chromium for tests that drive a real page (Playwright's async API).

We launch Debian's ``chromium`` (``apt-get install chromium``), never Playwright's
own downloaded browsers, so ``make test`` needs no ``playwright install``.
``KEYHOOK_TEST_CHROMIUM`` names another executable.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Browser, async_playwright

CHROMIUM = os.environ.get("KEYHOOK_TEST_CHROMIUM", "/usr/bin/chromium")

# Root in a container: Chromium's sandbox needs user namespaces it rarely has there,
# and /dev/shm may be too small for its shared memory.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage"]


def chromium_missing_reason() -> str | None:
    """None when ``CHROMIUM`` is an executable file, else why browser tests skip."""
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return None
    problem = "is not executable" if os.path.exists(CHROMIUM) else "does not exist"
    return (
        f"browser tests need Chromium, but {CHROMIUM} {problem}: install it with "
        "`apt-get install chromium` or set KEYHOOK_TEST_CHROMIUM to a chromium executable"
    )


@asynccontextmanager
async def headless_chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()
