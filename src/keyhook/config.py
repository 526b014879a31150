"""Settings of one Keyhook process, read from the command line and ``KEYHOOK_*``.

Every setting has an environment variable; the command line wins over the
environment, the environment over the default. Imports nothing of Keyhook but
``errors``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from keyhook.errors import InvalidArgument


@dataclass(frozen=True)
class PasswordHashing:
    """argon2id parameters; the default is OWASP's minimum profile (DESIGN.md §5)."""

    memory_kib: int = 19 * 1024
    time_cost: int = 2
    parallelism: int = 1


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path(".keyhook")
    database_url: str = ""
    dev: bool = False
    # Hosts and CIDRs that targets may reach over plain HTTP and on local addresses.
    allow_hosts: tuple[str, ...] = ()
    password_hashing: PasswordHashing = field(default_factory=PasswordHashing)
    # Largest target answer read, in bytes; a larger one is a target error.
    max_response_bytes: int = 1024 * 1024
    external_url: str = ""

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'keyhook.db').resolve()}"

    @property
    def base_url(self) -> str:
        return self.external_url or f"http://{self.host}:{self.port}"


def normalise_database_url(url: str) -> str:
    """Accept the URLs people write (``postgresql://``, ``sqlite:///``); pick the async driver."""
    for prefix, driver in (
        ("postgresql+asyncpg://", None),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite+aiosqlite://", None),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(prefix):
            return url if driver is None else driver + url[len(prefix) :]
    raise InvalidArgument(
        f"database URL {url.split('://')[0]}://… is not supported "
        "(allowed: postgresql://…, sqlite:///path)"
    )


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def from_environment(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from ``KEYHOOK_*`` variables; ``overrides`` that are not None win."""
    env = os.environ if env is None else env
    values: dict[str, object] = {
        "host": env.get("KEYHOOK_HOST", "127.0.0.1"),
        "port": int(env.get("KEYHOOK_PORT", "8080")),
        "data_dir": Path(env.get("KEYHOOK_DATA_DIR", ".keyhook")),
        "database_url": env.get("KEYHOOK_DATABASE_URL", ""),
        "dev": _flag(env.get("KEYHOOK_DEV")),
        "allow_hosts": _split(env.get("KEYHOOK_ACTIONS_ALLOW_HOSTS")),
        "external_url": env.get("KEYHOOK_EXTERNAL_URL", ""),
        "max_response_bytes": int(env.get("KEYHOOK_ACTIONS_MAX_RESPONSE_BYTES", 1024 * 1024)),
        "password_hashing": PasswordHashing(
            memory_kib=int(env.get("KEYHOOK_ARGON2_MEMORY_KIB", 19 * 1024)),
            time_cost=int(env.get("KEYHOOK_ARGON2_TIME_COST", 2)),
            parallelism=int(env.get("KEYHOOK_ARGON2_PARALLELISM", 1)),
        ),
    }
    for key, value in overrides.items():
        if value is not None:
            values[key] = value
    return Settings(**values)  # type: ignore[arg-type]
