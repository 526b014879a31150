"""The remembering itself: a bound on what is kept, whatever a caller names."""

from __future__ import annotations

from pathlib import Path

from keyhook.query.recent import MAX_KEY_LENGTH, Recent
from keyhook.storage.database import Database


async def test_keys_longer_than_any_id_are_looked_up_but_not_kept(tmp_path: Path) -> None:
    loads: list[str] = []

    async def load(key: str) -> str | None:
        loads.append(key)
        return None

    recent: Recent[str] = Recent(Database(f"sqlite+aiosqlite:///{tmp_path / 'k.db'}"), load)
    huge = "x" * (MAX_KEY_LENGTH + 1)
    assert await recent.get(huge) is None
    assert await recent.get(huge) is None
    assert await recent.get("client-1") is None
    assert await recent.get("client-1") is None
    assert loads == [huge, huge, "client-1"], "the long key was never kept, the short one was"
