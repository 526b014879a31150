"""``deliveries replay`` (count, ask or ``--yes``, send; ``--dry-run`` sends
nothing) and the live tails, as subprocesses against a real server and receiver."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.api import Api, serving
from tests.support.cli import Cli
from tests.support.events import deliveries, metadata_events, wait_until
from tests.support.receiver import Receiver
from tests.support.server import KeyhookServer

FAST = {"KEYHOOK_ACTIONS_POLL_INTERVAL": "100ms"}
METADATA_SET = {"event": {"event": "user.metadata.set"}}


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[KeyhookServer, Api]]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("cli-logs")), extra_env=FAST)
    async with serving(server) as api:
        yield server, api


async def _delivered(api: Api, receiver: Receiver, count: int) -> tuple[str, str]:
    """A restAsync target that got ``count`` deliveries: (its name, the path)."""
    path = f"/replay-{secrets.token_hex(3)}"
    name = f"replayed-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path), kind="restAsync", name=name)
    await api.set_execution(METADATA_SET, [target["id"]])
    await metadata_events(api, count)
    await api.set_execution(METADATA_SET, [])
    await receiver.wait_for(path, count)

    async def settled() -> bool:
        found = await deliveries(api, targetId=target["id"])
        return len(found) == count and all(d["status"] == "succeeded" for d in found)

    await wait_until(settled)
    return name, path


async def test_replay_dry_run_counts_and_sends_nothing_then_yes_sends_each_once_more(
    own: tuple[KeyhookServer, Api], receiver: Receiver, tmp_path: Path
) -> None:
    server, api = own
    name, path = await _delivered(api, receiver, 2)
    cli = Cli.at(tmp_path / "config", KEYHOOK_URL=server.url, KEYHOOK_TOKEN=server.token)
    first_ids = sorted(r.headers["webhook-id"] for r in receiver.on(path))

    dry = await cli("deliveries", "replay", "--target", name, "--since", "1h", "--dry-run")
    assert dry.code == 0, dry.err
    assert f"2 deliveries of target {name}" in dry.out
    assert "/replay" in dry.out and "Dry run" in dry.out
    # Nothing was sent: the server has not put any back on the queue.
    found = await deliveries(api, targetId=(await _target_id(api, name)))
    assert [(d["status"], d["attempts"]) for d in found] == [("succeeded", 1)] * 2

    unconfirmed = await cli("deliveries", "replay", "--target", name, "--since", "1h")
    assert unconfirmed.code == 2 and "--yes" in unconfirmed.err

    sent = await cli("deliveries", "replay", "--target", name, "--since", "1h", "--yes")
    assert sent.code == 0, sent.err
    assert "2 queued again" in sent.out
    again = await receiver.wait_for(path, 4)
    assert sorted(r.headers["webhook-id"] for r in again[2:]) == first_ids


async def test_replay_with_wait_follows_until_none_is_pending(
    own: tuple[KeyhookServer, Api], receiver: Receiver, tmp_path: Path
) -> None:
    server, api = own
    name, path = await _delivered(api, receiver, 1)
    cli = Cli.at(tmp_path / "config", KEYHOOK_URL=server.url, KEYHOOK_TOKEN=server.token)
    sent = await cli("deliveries", "replay", "-t", name, "--since", "1h", "--yes", "--wait")
    assert sent.code == 0, sent.err
    assert "1/1 sent" in sent.err
    assert len(receiver.on(path)) == 2  # it waited for the delivery


async def _target_id(api: Api, name: str) -> str:
    found = (await api.post("/v2/actions/targets/search", {"name": name})).ok()
    return str(next(t["id"] for t in found["targets"] if t["name"] == name))


async def test_deliveries_tail_prints_a_line_for_a_new_delivery(
    own: tuple[KeyhookServer, Api], receiver: Receiver
) -> None:
    server, api = own
    path = f"/tail-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path), kind="restAsync")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHOOK_")}
    env.update(KEYHOOK_URL=server.url, KEYHOOK_TOKEN=server.token)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "keyhook", "deliveries", "tail", "--target", target["id"],
        "-o", "json", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    try:
        # It says so once its first poll is done: what comes after is new.
        assert "Following deliveries" in (await process.stderr.readline()).decode()
        await api.set_execution(METADATA_SET, [target["id"]])
        await metadata_events(api, 1)
        await api.set_execution(METADATA_SET, [])
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        row = json.loads(line)
        assert row["targetId"] == target["id"] and row["trigger"] == "user.metadata.set"
    finally:
        process.terminate()
        await process.wait()
