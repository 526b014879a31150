"""A keyring backend for tests: secrets in one JSON file named by
``KEYHOOK_TEST_KEYRING_FILE``, far from the client's config directory.

Selected with ``PYTHON_KEYRING_BACKEND=tests.support.keyring_backend.FileKeyring``,
it stands for the OS keyring, so a test can show where the token went (here) and
where it did not (the config directory).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend


class FileKeyring(KeyringBackend):
    priority = 1

    @property
    def _file(self) -> Path:
        return Path(os.environ["KEYHOOK_TEST_KEYRING_FILE"])

    def _read(self) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads(self._file.read_text())
        except FileNotFoundError:
            return {}
        return data

    def get_password(self, service: str, username: str) -> str | None:
        return self._read().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._read()
        data[f"{service}/{username}"] = password
        self._file.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._read()
        data.pop(f"{service}/{username}", None)
        self._file.write_text(json.dumps(data))
