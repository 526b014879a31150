"""The client commands as a user runs them: subprocesses against a real server.

``login`` with a PAT on standard input, then ``targets create``, ``executions
set``, ``targets list -o json``; where the token is kept (0600 file, or the
keyring and nowhere in the clear); dry runs that send nothing; and bad input
that gives one line and the documented exit code.
"""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.api import Api, serving
from tests.support.cli import Cli
from tests.support.server import KeyhookServer, free_port

KEYRING = "tests.support.keyring_backend.FileKeyring"


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[KeyhookServer, Api]]:
    server = KeyhookServer(data_dir=Path(tmp_path_factory.mktemp("cli")))
    async with serving(server) as api:
        yield server, api


async def test_login_then_create_set_and_list_round_trip(
    own: tuple[KeyhookServer, Api], tmp_path: Path
) -> None:
    server, api = own
    cli = Cli.at(tmp_path / "config")
    login = await cli("login", "--url", server.url, stdin=server.token + "\n")
    assert login.code == 0, login.err
    assert server.token not in login.out + login.err

    created = await cli(
        "targets", "create", "--name", "cli-round-trip", "--endpoint",
        "http://127.0.0.1:9/hook", "--timeout", "5s", "--type", "restCall",
        "--interrupt-on-error", "-o", "json",
    )  # fmt: skip
    assert created.code == 0, created.err
    target_id = json.loads(created.out)["id"]

    execution = await cli(
        "executions", "set", "--event", "user.locked", "--target", "cli-round-trip"
    )
    assert execution.code == 0, execution.err

    listed = await cli("targets", "list", "-o", "json")
    assert listed.code == 0, listed.err
    target = next(t for t in json.loads(listed.out)["targets"] if t["id"] == target_id)
    assert target["name"] == "cli-round-trip"
    assert target["restCall"] == {"interruptOnError": True}
    executions = (await api.post("/v2/actions/executions/search", {})).ok()["executions"]
    locked = [e for e in executions if e["condition"] == {"event": {"event": "user.locked"}}]
    assert [e["targets"] for e in locked] == [[target_id]]


async def test_without_a_keyring_the_token_is_in_a_0600_file(
    own: tuple[KeyhookServer, Api], tmp_path: Path
) -> None:
    server, _ = own
    config = tmp_path / "config"
    cli = Cli.at(config)
    assert (await cli("login", "--url", server.url, stdin=server.token)).code == 0
    credentials = config / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.stat().st_mode) == 0o700
    assert json.loads(credentials.read_text()) == {"default": server.token}
    assert server.token not in (config / "config.json").read_text()


async def test_with_a_keyring_no_file_holds_the_token_in_the_clear(
    own: tuple[KeyhookServer, Api], tmp_path: Path
) -> None:
    server, _ = own
    config = tmp_path / "config"
    keyring_file = tmp_path / "keyring.json"
    cli = Cli.at(
        config, PYTHON_KEYRING_BACKEND=KEYRING, KEYHOOK_TEST_KEYRING_FILE=str(keyring_file)
    )
    login = await cli("login", "--url", server.url, "--profile", "ci", stdin=server.token)
    assert login.code == 0, login.err
    assert "keyring" in login.out
    for path in config.rglob("*"):
        assert server.token not in path.read_text(), path
    assert server.token in keyring_file.read_text()
    listed = await cli("targets", "list", "--profile", "ci", "-o", "json")
    assert listed.code == 0, listed.err
    # Without the keyring the profile cannot be used: the token is nowhere else.
    without = await Cli.at(config)("targets", "list", "--profile", "ci")
    assert without.code == 3 and "keyring" in without.err


async def test_environment_overrides_the_profile(
    own: tuple[KeyhookServer, Api], tmp_path: Path
) -> None:
    server, _ = own
    cli = Cli.at(tmp_path / "config", KEYHOOK_URL=server.url, KEYHOOK_TOKEN=server.token)
    listed = await cli("targets", "list", "-o", "json")
    assert listed.code == 0, listed.err
    assert "targets" in json.loads(listed.out)


async def test_a_dry_run_prints_the_request_and_sends_nothing(
    own: tuple[KeyhookServer, Api], tmp_path: Path
) -> None:
    server, api = own
    cli = Cli.at(tmp_path / "config", KEYHOOK_URL=server.url, KEYHOOK_TOKEN=server.token)
    dry = await cli(
        "targets", "create", "--name", "never-made", "--endpoint", "http://127.0.0.1:9/x",
        "--timeout", "5s", "--dry-run",
    )  # fmt: skip
    assert dry.code == 0, dry.err
    assert f"POST {server.url}/v2/actions/targets" in dry.out
    assert '"name": "never-made"' in dry.out
    assert "Bearer ****" in dry.out and server.token not in dry.out
    found = (await api.post("/v2/actions/targets/search", {"name": "never-made"})).ok()
    assert found["targets"] == []


@pytest.mark.parametrize(
    ("case", "code", "says"),
    [
        ("unreachable", 5, "cannot reach"),
        ("bad token", 3, "refused the token"),
        ("not found", 4, "does not exist"),
        ("invalid", 1, "endpoint"),
        ("wrong path", 4, "server URL"),
        ("usage", 2, "No such option"),
    ],
)
async def test_bad_input_is_one_line_and_the_documented_exit_code(
    own: tuple[KeyhookServer, Api], tmp_path: Path, case: str, code: int, says: str
) -> None:
    server, _ = own
    env = {"KEYHOOK_URL": server.url, "KEYHOOK_TOKEN": server.token}
    args = ["targets", "list"]
    if case == "unreachable":
        env["KEYHOOK_URL"] = f"http://127.0.0.1:{free_port()}"
    elif case == "bad token":
        env["KEYHOOK_TOKEN"] = "not-a-token"
    elif case == "not found":
        args = ["targets", "get", "12345"]
    elif case == "invalid":
        args = ["targets", "create", "--name", "bad", "--endpoint", "ftp://x", "--timeout", "5s"]
    elif case == "wrong path":
        env["KEYHOOK_URL"] = server.url + "/not-the-api"
    else:
        args = ["targets", "list", "--no-such-flag"]
    result = await Cli.at(tmp_path / "config", **env)(*args)
    assert result.code == code, (result.out, result.err)
    assert says in result.err
    assert "Traceback" not in result.err
    if case != "usage":  # click's usage error is its own three lines
        assert len(result.err.strip().splitlines()) == 1, result.err
        assert result.out == ""


async def test_a_wrong_token_at_login_is_refused_and_not_kept(
    own: tuple[KeyhookServer, Api], tmp_path: Path
) -> None:
    server, _ = own
    config = tmp_path / "config"
    result = await Cli.at(config)("login", "--url", server.url, stdin="wrong\n")
    assert result.code == 3 and "refused the token" in result.err
    assert not (config / "credentials.json").exists()


async def test_debug_shows_the_traceback(own: tuple[KeyhookServer, Api], tmp_path: Path) -> None:
    server, _ = own
    result = await Cli.at(tmp_path / "config", KEYHOOK_URL=server.url, KEYHOOK_TOKEN="x")(
        "targets", "list", "--debug"
    )
    assert result.code != 0 and "Traceback" in result.err


async def test_trigger_uses_the_logged_in_profile(
    own: tuple[KeyhookServer, Api], tmp_path: Path
) -> None:
    server, api = own
    cli = Cli.at(tmp_path / "config")
    assert (await cli("login", "--url", server.url, stdin=server.token)).code == 0
    before = (await api.post("/v2/users/search", {})).ok()["details"]["totalResult"]
    made = await cli("trigger", "user.human.added")
    assert made.code == 0, made.err
    after = (await api.post("/v2/users/search", {})).ok()["details"]["totalResult"]
    assert int(after) == int(before) + 1


async def test_users_create_from_flags_and_a_file_on_stdin(
    own: tuple[KeyhookServer, Api], tmp_path: Path
) -> None:
    server, api = own
    cli = Cli.at(tmp_path / "config", KEYHOOK_URL=server.url, KEYHOOK_TOKEN=server.token)
    body = json.dumps({"user": {"profile": {"givenName": "File", "familyName": "Given"}}})
    made = await cli(
        "users", "create", "--file", "-", "--email", "flags@example.com", "--given-name", "Flag",
        "-o", "json", stdin=body,
    )  # fmt: skip
    assert made.code == 0, made.err
    user_id = json.loads(made.out)["userId"]
    got = await cli("users", "get", user_id, "-o", "json")
    assert got.code == 0, got.err
    user = json.loads(got.out)["user"]
    assert user["human"]["profile"]["givenName"] == "Flag"  # the flag over the file
    assert user["human"]["profile"]["familyName"] == "Given"  # the file's
    assert user["human"]["email"]["email"] == "flags@example.com"
    assert (await api.get(f"/v2/users/{user_id}")).status == 200


async def test_admins_create_list_update_delete(
    own: tuple[KeyhookServer, Api], tmp_path: Path
) -> None:
    server, api = own
    cli = Cli.at(tmp_path / "config", KEYHOOK_URL=server.url, KEYHOOK_TOKEN=server.token)
    user_id = await api.add_machine_user("cli-admin", "CLI admin")

    def roles_of(listing: str) -> list[list[str]]:
        rows = json.loads(listing)["administrators"]
        return [a["roles"] for a in rows if a["user"]["id"] == user_id]

    made = await cli("admins", "create", "--user-id", user_id, "--role", "IAM_OWNER_VIEWER")
    assert made.code == 0, made.err
    listed = await cli("admins", "list", "-o", "json")
    assert roles_of(listed.out) == [["IAM_OWNER_VIEWER"]]
    changed = await cli("admins", "update", user_id, "--role", "IAM_DELIVERY_VIEWER")
    assert changed.code == 0, changed.err
    assert roles_of((await cli("admins", "list", "-o", "json")).out) == [["IAM_DELIVERY_VIEWER"]]
    removed = await cli("admins", "delete", user_id)
    assert removed.code == 0, removed.err
    assert roles_of((await cli("admins", "list", "-o", "json")).out) == []
