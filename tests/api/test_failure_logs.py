"""Webhook failures show in the server's log (issue 10, finding 4).

A scripted run against a real server and real receivers on 127.0.0.1: a
synchronous call that times out, one whose connection is refused, one the
network policy refuses, an event delivery answered with 410 (the target is
paused), and one that fails until its schedule is used up. Each is one WARNING
line in the server's log naming the target's id and name, the kind and the
outcome, with the call's or the delivery's id — and no line of the log holds a
secret the run created (a signing key, a custom header's value, the PAT).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import Api
from tests.support.hostile import HostileReceiver, http_answer
from tests.support.server import KeyhookServer, free_port

GET_USER = "/zitadel.user.v2.UserService/GetUserByID"
LIST_USERS = "/zitadel.user.v2.UserService/ListUsers"


@pytest.fixture
async def hostile() -> AsyncIterator[HostileReceiver]:
    receiver = HostileReceiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


def warnings(log: str) -> list[str]:
    return [line for line in log.splitlines() if " WARNING " in line]


async def wait_for_line(server: KeyhookServer, pattern: str, timeout: float = 15.0) -> list[str]:
    for _ in range(int(timeout / 0.1)):
        found = [line for line in warnings(server.log) if re.search(pattern, line)]
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no WARNING line matches {pattern!r}:\n{server.log[-3000:]}")


async def test_each_failure_is_one_warning_line_with_its_fields_and_no_secret(
    tmp_path: Path, hostile: HostileReceiver
) -> None:
    server = KeyhookServer(
        data_dir=tmp_path / "data",
        extra_env={"KEYHOOK_ACTIONS_RETRY_SCHEDULE": "0s,200ms,200ms"},
    )
    await server.start()
    secrets_made = [server.token]
    try:
        api = Api(server.url, server.token)
        try:
            header_secret = f"crm-{secrets.token_hex(8)}"

            async def target(name: str, endpoint: str, kind: str, **extra: Any) -> str:
                made = await api.create_target(
                    endpoint, kind=kind, timeout="1s", name=name, **extra
                )
                secrets_made.append(made["signingKey"])
                return str(made["id"])

            slow = await target("slow-crm", hostile.endpoint("/never", None), "restWebhook")
            closed = await target("closed-crm", f"http://127.0.0.1:{free_port()}/x", "restWebhook")
            gone = await target(
                "gone-audit", hostile.endpoint("/gone", http_answer(410, b"gone")), "restAsync"
            )
            broken = await target(
                "broken-audit",
                hostile.endpoint("/broken", http_answer(500, b"broken")),
                "restAsync",
                headers={"Authorization": f"Bearer {header_secret}"},
            )
            secrets_made.append(header_secret)
            user = (await api.add_user(f"ann-{secrets.token_hex(3)}@example.com")).ok()["userId"]
            await api.set_execution({"request": {"method": GET_USER}}, [slow])
            await api.set_execution({"request": {"method": LIST_USERS}}, [closed])
            await api.set_execution({"event": {"event": "user.locked"}}, [gone, broken])

            assert (await api.get(f"/v2/users/{user}")).status == 200  # not interrupting
            assert (await api.post("/v2/users/search", {})).status == 200
            assert (await api.post(f"/v2/users/{user}/lock")).status == 200

            timeout = await wait_for_line(server, rf"target {slow} 'slow-crm'")
            refused = await wait_for_line(server, rf"target {closed} 'closed-crm'")
            paused = await wait_for_line(server, rf"target {gone} 'gone-audit'.*410")
            exhausted = await wait_for_line(
                server, rf"target {broken} 'broken-audit'.*failed for good"
            )
        finally:
            await api.close()
    finally:
        await server.stop(drop=False)

    # The same database under a node without --dev: the policy refuses 127.0.0.1.
    strict = KeyhookServer(
        data_dir=tmp_path / "data",
        dev=False,
        database_url=server.database_url,
        port=free_port(),
    )
    strict._db_name = server._db_name
    await strict.start()
    try:
        api = Api(strict.url, strict.token)
        try:
            await api.get(f"/v2/users/{user}")
            policy = await wait_for_line(strict, rf"target {slow} 'slow-crm'.*network policy")
        finally:
            await api.close()
    finally:
        await strict.stop()

    for found, method, words in (
        (timeout, GET_USER, "no answer within 1s"),
        (refused, LIST_USERS, "refused|connect"),
        (policy, GET_USER, "network policy"),
    ):
        assert len(found) == 1, found
        assert f"kind=request trigger={method}" in found[0], found[0]
        assert re.search(r"call=msg_\d+", found[0]), found[0]
        assert re.search(words, found[0]), found[0]
    assert len(paused) == 1 and re.search(r"delivery=\d+", paused[0]) and "paused" in paused[0]
    assert len(exhausted) == 1 and re.search(r"delivery=\d+", exhausted[0])
    assert "attempts=3" in exhausted[0], exhausted[0]
    everything = server.log + strict.log
    for secret in secrets_made:
        assert secret not in everything


@pytest.mark.parametrize("enabled", [True, False])
async def test_the_access_log_is_a_line_per_request_without_the_query(
    tmp_path: Path, enabled: bool
) -> None:
    env = {"KEYHOOK_ACCESS_LOG": "1"} if enabled else {}
    server = KeyhookServer(data_dir=tmp_path / "data", extra_env=env)
    await server.start()
    hint = f"eyJ{secrets.token_hex(12)}"
    api = Api(server.url, server.token)
    try:
        assert (await api.get(f"/healthz?id_token_hint={hint}")).status == 200
        assert (await api.get("/v2/users/123")).status == 404
    finally:
        await api.close()
        await server.stop()
    lines = [line for line in server.log.splitlines() if "keyhook.access" in line]
    if not enabled:
        assert lines == []
        return
    assert any(re.search(r'127\.0\.0\.1 "GET /healthz" 200 [0-9.]+ms$', line) for line in lines)
    assert any('"GET /v2/users/123" 404' in line for line in lines), lines
    assert hint not in server.log
    assert server.token not in server.log
