"""Profiles and credentials on disk: where they go, with which modes, and how
the environment overrides them (no server, no subprocess)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from keyhook.client import config
from keyhook.client.config import Store, config_dir, profile_name
from keyhook.client.errors import AuthProblem


@pytest.fixture(autouse=True)
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


def test_the_config_directory_follows_the_environment(tmp_path: Path) -> None:
    assert config_dir({"KEYHOOK_CONFIG_DIR": str(tmp_path)}) == tmp_path
    assert config_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "keyhook"
    assert config_dir({}) == Path.home() / ".config" / "keyhook"


def test_the_profile_is_the_option_then_the_environment_then_default() -> None:
    assert profile_name("a", {"KEYHOOK_PROFILE": "b"}) == "a"
    assert profile_name(None, {"KEYHOOK_PROFILE": "b"}) == "b"
    assert profile_name(None, {}) == "default"


def test_without_a_keyring_tokens_go_to_a_private_file(tmp_path: Path) -> None:
    store = Store(tmp_path / "keyhook")
    assert store.save("default", "http://a", "tok-a") == config.STORE_FILE
    assert store.save("prod", "https://b", "tok-b") == config.STORE_FILE
    assert stat.S_IMODE(store.credentials_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.config_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert "tok-" not in store.config_file.read_text()
    creds = store.credentials("prod", {})
    assert (creds.url, creds.token, creds.profile) == ("https://b", "tok-b", "prod")
    assert store.remove("prod") and not store.remove("prod")
    assert "tok-b" not in store.credentials_file.read_text()
    assert store.credentials(None, {}).token == "tok-a"


def test_the_environment_overrides_the_profile(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save("default", "http://saved", "saved-token")
    env = {"KEYHOOK_URL": "http://env/", "KEYHOOK_TOKEN": "env-token"}
    creds = store.credentials(None, env)
    assert (creds.url, creds.token) == ("http://env", "env-token")
    assert store.credentials(None, {"KEYHOOK_TOKEN": "t"}).url == "http://saved"


def test_no_profile_says_how_to_log_in(tmp_path: Path) -> None:
    with pytest.raises(AuthProblem, match=r"keyhook login --url URL --profile ci"):
        Store(tmp_path).credentials("ci", {})


def test_with_a_keyring_the_file_keeps_no_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.support.keyring_backend.FileKeyring")
    monkeypatch.setenv("KEYHOOK_TEST_KEYRING_FILE", str(tmp_path / "ring.json"))
    import keyring.core

    keyring.core.init_backend()
    try:
        store = Store(tmp_path / "keyhook")
        assert store.save("default", "http://a", "secret-token") == config.STORE_KEYRING
        for path in store.directory.iterdir():
            assert "secret-token" not in path.read_text()
        assert store.credentials(None, {}).token == "secret-token"
        assert "secret-token" in (tmp_path / "ring.json").read_text()
    finally:
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
        keyring.core.init_backend()


def test_a_profile_kept_in_the_file_moves_to_the_keyring_and_leaves_no_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "keyhook")
    store.save("default", "http://a", "old-token")
    assert "old-token" in store.credentials_file.read_text()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.support.keyring_backend.FileKeyring")
    monkeypatch.setenv("KEYHOOK_TEST_KEYRING_FILE", str(tmp_path / "ring.json"))
    import keyring.core

    keyring.core.init_backend()
    try:
        assert store.save("default", "http://a", "new-token") == config.STORE_KEYRING
        assert "old-token" not in store.credentials_file.read_text()
    finally:
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
        keyring.core.init_backend()


def test_a_refresh_token_is_kept_beside_the_token_and_removed_with_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "keyhook")
    via = {"tokenEndpoint": "http://a/oauth/v2/token", "clientId": "c"}
    store.save("default", "http://a", "access", "refresh", via)
    assert store.refresh_token("default") == "refresh"
    assert store.credentials(None, {}).refresh_via == via
    # A token from the environment is not the profile's: it is never refreshed.
    assert store.credentials(None, {"KEYHOOK_TOKEN": "t"}).refresh_via is None
    store.save("default", "http://a", "pat")  # a PAT login drops the browser's pair
    assert store.refresh_token("default") is None
    assert store.credentials(None, {}).refresh_via is None
    store.save("default", "http://a", "access", "refresh", via)
    assert store.remove("default")
    assert "refresh" not in store.credentials_file.read_text()
