"""``keyhook signature sign|verify`` as a subprocess, against a delivery a real server
sent to a real receiver: sign reproduces Keyhook's headers byte for byte, verify
accepts them for every scheme and says why it refuses a tampered body, a body
re-serialised from JSON, a stale timestamp, a wrong key."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.receiver import Received, Receiver


def keyhook(
    *args: str, key: str | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KEYHOOK_SIGNING_KEY"}
    if key is not None:
        env["KEYHOOK_SIGNING_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "keyhook", *args],
        input=None if stdin is None else stdin.decode(),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture
async def delivered(clean_actions: Api, receiver: Receiver) -> tuple[Received, str]:
    """A user.locked delivery as the receiver got it, and the target's key."""
    api = clean_actions
    path = f"/sig-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path), kind="restAsync")
    await api.set_execution({"event": {"event": "user.locked"}}, [target["id"]])
    user = (await api.add_user(f"sig-ünï-{secrets.token_hex(3)}@example.com")).ok()["userId"]
    (await api.post(f"/v2/users/{user}/lock")).ok()
    (got,) = await receiver.wait_for(path)
    return got, str(target["signingKey"])


def _files(tmp_path: Path, body: bytes, headers: dict[str, str]) -> tuple[str, str]:
    (tmp_path / "body").write_bytes(body)
    (tmp_path / "headers.json").write_text(json.dumps(headers))
    return str(tmp_path / "body"), str(tmp_path / "headers.json")


async def test_sign_reproduces_what_keyhook_sent(
    delivered: tuple[Received, str], tmp_path: Path
) -> None:
    got, key = delivered
    (tmp_path / "body").write_bytes(got.body)
    h = {k.lower(): v for k, v in got.headers.items()}
    done = keyhook(
        "signature",
        "sign",
        "--body",
        str(tmp_path / "body"),
        "--id",
        h["webhook-id"],
        "--timestamp",
        h["webhook-timestamp"],
        "--json",
        key=key,
    )
    assert done.returncode == 0, done.stderr
    signed = {k.lower(): v for k, v in json.loads(done.stdout).items()}
    for name in ("webhook-signature", "zitadel-signature", "x-zitadel-signature"):
        assert signed[name] == h[name], name
    assert key not in done.stdout + done.stderr


async def test_verify_accepts_a_real_delivery_and_says_why_not(
    delivered: tuple[Received, str], tmp_path: Path
) -> None:
    got, key = delivered
    assert "ünï".encode() in got.body, "a non-ASCII body"
    body, headers = _files(tmp_path, got.body, got.headers)
    ok = keyhook("signature", "verify", "--body", body, "--headers", headers, key=key)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert [line.split(":")[0] for line in ok.stdout.splitlines()] == [
        "standard",
        "zitadel",
        "seed",
    ]
    assert all("ok (valid)" in line for line in ok.stdout.splitlines())

    tampered, _ = _files(tmp_path, got.body.replace(b"user.locked", b"user.LOCKED"), got.headers)
    refused = keyhook("signature", "verify", "--body", tampered, "--headers", headers, key=key)
    assert refused.returncode == 1 and "no_matching_signature" in refused.stdout

    again = json.dumps(json.loads(got.body)).encode()  # the guide's json.dumps(payload)
    redone, _ = _files(tmp_path, again, got.headers)
    hint = keyhook("signature", "verify", "--body", redone, "--headers", headers, key=key)
    assert hint.returncode == 1 and "body_reserialised" in hint.stdout
    assert "raw bytes" in hint.stdout

    other = "whsec_" + "QUFB" * 8
    wrong = keyhook("signature", "verify", "--body", body, "--headers", headers, key=other)
    assert wrong.returncode == 1 and "no_matching_signature" in wrong.stdout


def test_timestamps_both_ways_and_a_rotation_overlap(tmp_path: Path) -> None:
    old_key = "whsec_" + "b2xk" * 8
    new_key = "whsec_" + "bmV3" * 8
    (tmp_path / "keys").write_text(f"{old_key}\n{new_key}\n")
    (tmp_path / "body").write_bytes(b'{"event":"user.locked"}')
    stale = int(time.time()) - 3600
    for stamp, reason in (
        (stale, "timestamp_too_old"),
        (int(time.time()) + 3600, "timestamp_too_new"),
    ):
        signed = keyhook(
            "signature",
            "sign",
            "--body",
            str(tmp_path / "body"),
            "--timestamp",
            str(stamp),
            "--key-file",
            str(tmp_path / "keys"),
        )
        assert signed.returncode == 0, signed.stderr
        (tmp_path / "headers").write_text(signed.stdout)  # Name: value lines
        late = keyhook(
            "signature",
            "verify",
            "--body",
            str(tmp_path / "body"),
            "--headers",
            str(tmp_path / "headers"),
            key=new_key,
        )
        assert late.returncode == 1 and reason in late.stdout, late.stdout
    # Off for a replay; and during the overlap the new key alone verifies too.
    relaxed = keyhook(
        "signature",
        "verify",
        "--body",
        str(tmp_path / "body"),
        "--headers",
        str(tmp_path / "headers"),
        "--tolerance",
        "0",
        key=new_key,
    )
    assert relaxed.returncode == 0, relaxed.stdout
    assert "standard: ok (valid) valid with key 1" in relaxed.stdout


def test_no_key_is_a_usage_error_and_a_key_is_never_an_argument(tmp_path: Path) -> None:
    (tmp_path / "body").write_bytes(b"{}")
    done = keyhook("signature", "sign", "--body", str(tmp_path / "body"))
    assert done.returncode == 2 and "KEYHOOK_SIGNING_KEY" in done.stderr
    assert "Traceback" not in done.stderr
    options = keyhook("signature", "sign", "--help").stdout
    assert "--key-file" in options and "--key " not in options
