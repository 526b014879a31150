"""``executions explain`` decides from its argument what is asked, and ``targets
test`` sends the signed call and shows how its answer reads (subprocesses
against a real server and receiver)."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.api import Api, serving
from tests.support.cli import Cli
from tests.support.receiver import Receiver, answer
from tests.support.server import KeyhookServer

ADD_HUMAN = "/zitadel.user.v2.UserService/AddHumanUser"


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[KeyhookServer, Api]]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("cli-actions")))
    async with serving(server) as api:
        yield server, api


@pytest.fixture
def cli(own: tuple[KeyhookServer, Api], tmp_path: Path) -> Cli:
    server, _ = own
    return Cli.at(tmp_path / "config", KEYHOOK_URL=server.url, KEYHOOK_TOKEN=server.token)


@pytest.mark.parametrize(
    ("args", "condition"),
    [
        ([ADD_HUMAN], {"request": {"method": ADD_HUMAN}}),
        ([ADD_HUMAN, "--response"], {"response": {"method": ADD_HUMAN}}),
        (["complement_token"], {"function": {"name": "complement_token"}}),
        (["user.locked"], {"event": {"event": "user.locked"}}),
    ],
)
async def test_explain_reads_a_method_a_function_or_an_event(
    own: tuple[KeyhookServer, Api], cli: Cli, args: list[str], condition: dict[str, object]
) -> None:
    _, api = own
    kind = next(iter(condition))
    target = await api.create_target("http://127.0.0.1:9/x", name=f"explained-{kind}")
    await api.set_execution(condition, [target["id"]])
    try:
        result = await cli("executions", "explain", *args, "-o", "json")
        assert result.code == 0, result.err
        fires = json.loads(result.out)["fires"]
        assert fires["condition"] == condition and fires["targets"] == [target["id"]]
    finally:
        await api.set_execution(condition, [])


async def test_explain_of_an_unknown_event_is_a_404_naming_the_valid_ones(cli: Cli) -> None:
    result = await cli("executions", "explain", "no.such.event")
    assert result.code == 4 and "user.locked" in result.err


async def test_executions_delete_removes_the_execution(
    own: tuple[KeyhookServer, Api], cli: Cli
) -> None:
    _, api = own
    target = await api.create_target("http://127.0.0.1:9/x")
    condition = {"event": {"event": "user.unlocked"}}
    await api.set_execution(condition, [target["id"]])
    dry = await cli("executions", "delete", "--event", "user.unlocked", "--dry-run")
    assert dry.code == 0 and '"targets": []' in dry.out
    found = (await api.post("/v2/actions/executions/search", {})).ok()["executions"]
    assert condition in [e["condition"] for e in found]
    removed = await cli("executions", "delete", "--event", "user.unlocked")
    assert removed.code == 0, removed.err
    found = (await api.post("/v2/actions/executions/search", {})).ok()["executions"]
    assert condition not in [e["condition"] for e in found]


async def test_targets_test_sends_a_signed_request_call_and_shows_the_reading(
    own: tuple[KeyhookServer, Api], cli: Cli, receiver: Receiver, tmp_path: Path
) -> None:
    _, api = own
    path = f"/test-{secrets.token_hex(3)}"
    refusal = {"status": "error", "message": "domain not allowed"}
    name = f"tested-{secrets.token_hex(3)}"
    await api.create_target(
        receiver.endpoint(path, answer(400, refusal)), interrupt=True, name=name
    )
    body = tmp_path / "message.json"
    body.write_text(json.dumps({"user": {"email": {"email": "a@blocked.example"}}}))
    result = await cli("targets", "test", name, "--method", ADD_HUMAN, "--body", str(body))
    assert result.code == 0, result.err
    (got,) = receiver.on(path)
    assert got.json["request"] == {"user": {"email": {"email": "a@blocked.example"}}}
    assert "webhook-signature" in got.headers
    assert "domain not allowed" in result.out  # the reading, as a table
    assert "outcome" in result.out


async def test_targets_test_needs_one_kind_of_call(cli: Cli) -> None:
    result = await cli("targets", "test", "anything")
    assert result.code == 2 and "--method" in result.err
