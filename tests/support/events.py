"""Making many events quickly, and waiting for their deliveries, in tests."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from tests.support.api import Api
from tests.support.receiver import Receiver


async def metadata_events(api: Api, count: int, user_id: str | None = None) -> str:
    """``count`` user.metadata.set events (100 per call); returns the user's id."""
    if user_id is None:
        email = f"events-{secrets.token_hex(4)}@example.com"
        user_id = str((await api.add_user(email)).ok()["userId"])
    done = 0
    while done < count:
        batch = min(100, count - done)
        items = [{"key": f"k{done + i}", "value": str(done + i)} for i in range(batch)]
        (await api.post(f"/v2/users/{user_id}/metadata", {"metadata": items})).ok()
        done += batch
    return user_id


def event_ids(receiver: Receiver, path: str) -> list[str]:
    """The eventIDs the receiver got on ``path``, one per request, in arrival order."""
    return [r.json["eventID"] for r in receiver.on(path)]


async def deliveries(api: Api, **filters: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = (
            await api.post(
                "/v2/actions/deliveries/search",
                {"query": {"offset": offset, "limit": 1000}, **filters},
            )
        ).ok()
        found += page["deliveries"]
        offset += 1000
        if offset >= int(page["pagination"]["totalResult"]):
            return found


async def wait_until(predicate: Any, timeout: float = 20.0, interval: float = 0.1) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if await predicate():
            return
        if loop.time() > deadline:
            raise AssertionError(f"not true within {timeout}s: {predicate.__name__}")
        await asyncio.sleep(interval)
