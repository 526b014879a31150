"""Profiles and credentials: where the client keeps the server URL and the token.

A profile (``--profile``, ``KEYHOOK_PROFILE``, else ``default``) is a server URL
and where its token is kept, in ``config.json`` under the config directory
(``KEYHOOK_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/keyhook``, else
``~/.config/keyhook``; mode 0700). The token goes to the OS keyring when the
optional ``keyring`` package finds a usable backend, else to
``credentials.json`` (mode 0600) beside it. ``KEYHOOK_URL`` and
``KEYHOOK_TOKEN`` override the profile, for CI and scripts. Tokens are never
logged or printed. It touches the config directory and the keyring only.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keyhook.client.errors import AuthProblem, UsageProblem

KEYRING_SERVICE = "keyhook"
STORE_KEYRING = "keyring"
STORE_FILE = "file"
# The refresh token of profile P is kept as the secret "P/refresh" (beside "P").
REFRESH_SUFFIX = "/refresh"


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("KEYHOOK_CONFIG_DIR"):
        return Path(env["KEYHOOK_CONFIG_DIR"])
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "keyhook"


def profile_name(given: str | None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return given or env.get("KEYHOOK_PROFILE") or "default"


@dataclass(frozen=True)
class Credentials:
    url: str
    token: str
    profile: str
    # A browser sign-in's: where and as which client its refresh token is redeemed.
    refresh_via: dict[str, str] | None = None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UsageProblem(f"{path} is not readable JSON ({exc}): fix or remove it") from None
    return data if isinstance(data, dict) else {}


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """``data`` as JSON in ``path``, mode 0600 from its creation (never readable by
    others, not even for an instant), in a directory of mode 0700."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    scratch = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        scratch.unlink()
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=1, sort_keys=True)
    scratch.replace(path)


def _keyring() -> Any | None:
    """The ``keyring`` module when it is installed and its backend can store
    secrets (not the ``fail`` or ``null`` backend), else None."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return None
    return keyring


class Store:
    """The profiles and tokens under one config directory."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or config_dir()

    @property
    def config_file(self) -> Path:
        return self.directory / "config.json"

    @property
    def credentials_file(self) -> Path:
        return self.directory / "credentials.json"

    def profiles(self) -> dict[str, dict[str, Any]]:
        profiles = _read_json(self.config_file).get("profiles", {})
        return profiles if isinstance(profiles, dict) else {}

    def save(
        self,
        profile: str,
        url: str,
        token: str,
        refresh: str | None = None,
        refresh_via: dict[str, str] | None = None,
    ) -> str:
        """Keep ``url`` and ``token`` (and a browser sign-in's refresh token, with
        where to redeem it) under ``profile``; the store used (keyring or file)."""
        keyring = _keyring()
        tokens = _read_json(self.credentials_file)
        secrets = {profile: token, profile + REFRESH_SUFFIX: refresh}
        if keyring is not None:
            for name, value in secrets.items():
                if value is not None:
                    keyring.set_password(KEYRING_SERVICE, name, value)
                else:
                    with contextlib.suppress(Exception):  # none was kept
                        keyring.delete_password(KEYRING_SERVICE, name)
            store = STORE_KEYRING
            popped = [tokens.pop(name, None) for name in secrets]  # each, no short cut
            if any(value is not None for value in popped):
                _write_private(self.credentials_file, tokens)  # no copy left in the clear
        else:
            for name, value in secrets.items():
                if value is not None:
                    tokens[name] = value
                else:
                    tokens.pop(name, None)
            _write_private(self.credentials_file, tokens)
            store = STORE_FILE
        config = _read_json(self.config_file)
        entry: dict[str, Any] = {"url": url, "store": store}
        if refresh is not None and refresh_via:
            entry["refreshVia"] = refresh_via
        config.setdefault("profiles", {})[profile] = entry
        _write_private(self.config_file, config)
        return store

    def remove(self, profile: str) -> bool:
        config = _read_json(self.config_file)
        known = config.get("profiles", {}).pop(profile, None)
        if known is None:
            return False
        _write_private(self.config_file, config)
        names = (profile, profile + REFRESH_SUFFIX)
        tokens = _read_json(self.credentials_file)
        popped = [tokens.pop(name, None) for name in names]  # each, no short cut
        if any(value is not None for value in popped):
            _write_private(self.credentials_file, tokens)
        if known.get("store") == STORE_KEYRING and (keyring := _keyring()) is not None:
            for name in names:
                with contextlib.suppress(Exception):  # already gone from the keyring
                    keyring.delete_password(KEYRING_SERVICE, name)
        return True

    def token(self, profile: str, store: str) -> str | None:
        if store == STORE_KEYRING:
            keyring = _keyring()
            if keyring is None:
                raise AuthProblem(
                    f"profile {profile!r} keeps its token in the OS keyring, which is not "
                    f"available now: run `keyhook login --profile {profile}` again"
                )
            value = keyring.get_password(KEYRING_SERVICE, profile)
            return value if isinstance(value, str) else None
        value = _read_json(self.credentials_file).get(profile)
        return value if isinstance(value, str) else None

    def refresh_token(self, profile: str) -> str | None:
        saved = self.profiles().get(profile) or {}
        return self.token(profile + REFRESH_SUFFIX, saved.get("store", STORE_FILE))

    def credentials(self, profile: str | None, env: Mapping[str, str] | None = None) -> Credentials:
        """The URL and token a command uses: ``KEYHOOK_URL``/``KEYHOOK_TOKEN`` over
        the profile's."""
        env = os.environ if env is None else env
        name = profile_name(profile, env)
        saved = self.profiles().get(name)
        url = env.get("KEYHOOK_URL") or (saved or {}).get("url")
        token = env.get("KEYHOOK_TOKEN") or (
            self.token(name, saved.get("store", STORE_FILE)) if saved else None
        )
        if not url or not token:
            missing = "server URL" if not url else "token"
            raise AuthProblem(
                f"no {missing} for profile {name!r}: run `keyhook login --url URL"
                + ("" if name == "default" else f" --profile {name}")
                + "` or set KEYHOOK_URL and KEYHOOK_TOKEN"
            )
        via = None
        if saved and not env.get("KEYHOOK_TOKEN") and isinstance(saved.get("refreshVia"), dict):
            via = dict(saved["refreshVia"])
        return Credentials(url.rstrip("/"), token, name, via)
