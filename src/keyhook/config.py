"""Settings of one Keyhook process, read from the command line and ``KEYHOOK_*``.

Every setting has an environment variable; the command line wins over the
environment, the environment over the default. Imports nothing of Keyhook but
``errors``.
"""

from __future__ import annotations

import os
import urllib.parse
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
    # Hashes and checks running at once in the process; 0: one core fewer than the
    # machine has (at least 1), so argon2 never takes the core the event loop needs.
    max_concurrent: int = 0


@dataclass(frozen=True)
class AuthBackoffSettings:
    """Failed password/secret checks per key in ``window`` after which further attempts
    are refused without checking until the window has passed (0 switches a kind off)."""

    client: int = 5  # per client id (token, introspection, revocation)
    login: int = 10  # per login name or user (login page, CreateSession)
    address: int = 30  # per source address (token, introspection, revocation, login page)
    window: str = "60s"


@dataclass(frozen=True)
class RetentionSettings:
    """How long finished records stay readable (durations, or ``off`` to keep them)."""

    deliveries: str = "720h"  # succeeded and failed deliveries, with their attempts
    calls: str = "720h"  # the record of synchronous target calls
    interval: str = "10m"  # how often a node with the delivery worker prunes


@dataclass(frozen=True)
class OidcLifetimes:
    """How long OpenID Connect artefacts live (durations, parsed when the provider is built)."""

    auth_request: str = "30m"  # from /authorize until the login is done
    login: str = "12h"  # how long a sign-in on the login page is reused (single sign-on)
    code: str = "60s"  # RFC 6749 §4.1.2 recommends at most 10 minutes
    # Lifetimes, not secrets (ruff's S105 looks at the names).
    access_token: str = "12h"  # noqa: S105
    id_token: str = "12h"  # noqa: S105
    refresh_token: str = "720h"  # noqa: S105 -- 30 days; each refresh starts a new period
    # The header type of JWT access tokens: "zitadel" (typ JWT, as ZITADEL signs them) or
    # "rfc9068" (typ at+jwt, RFC 9068's JWT access token profile).
    access_token_form: str = "zitadel"  # noqa: S105 -- a token form


@dataclass(frozen=True)
class DeliverySettings:
    """The delivery worker. Durations stay strings here; the bootstrap parses them."""

    retry_schedule: str = "0s,5s,5m,30m,2h,5h,10h,10h"
    throttle_min: str = "60s"  # 429 and timeouts wait at least this long
    max_concurrency: int = 128  # deliveries in flight in one process
    target_concurrency: int = 32  # deliveries in flight to one target in one process
    lease_min: str = "60s"  # a claim lasts at least this long (and target timeout + 5 s)
    poll_interval: str = "1s"  # the fallback when no wake-up arrives
    batch_size: int = 200  # deliveries claimed per query
    worker: bool = True  # run the worker inside `keyhook start`


@dataclass(frozen=True)
class HttpServerSettings:
    """Limits of the HTTP server (uvicorn); durations are parsed when it is started."""

    # The request line and headers must be complete within this, from the connection's
    # first byte or the end of the previous answer (slow-header clients).
    header_timeout: str = "10s"
    keep_alive_timeout: str = "5s"  # an idle kept-alive connection is closed after this
    # Open connections plus requests in flight; beyond it new requests get a 503.
    max_concurrency: int = 1000
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (a reverse proxy).
    forwarded_allow_ips: str = "127.0.0.1,::1"
    access_log: bool = False  # a line per answered request (keyhook.api.access_log)


DEFAULT_ADMIN_EMAIL = "keyhook-admin@keyhook.localhost"


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
    # Largest target answer read, in bytes after decompression; a larger one is a target error.
    max_response_bytes: int = 1024 * 1024
    # Synchronous calls (request, response, function) in flight to one target in one
    # process; one more fails at once as busy (503).
    target_sync_concurrency: int = 32
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    oidc: OidcLifetimes = field(default_factory=lambda: OidcLifetimes())
    retention: RetentionSettings = field(default_factory=lambda: RetentionSettings())
    external_url: str = ""
    http: HttpServerSettings = field(default_factory=lambda: HttpServerSettings())
    auth_backoff: AuthBackoffSettings = field(default_factory=lambda: AuthBackoffSettings())
    # The user name (an email address) of the human IAM_OWNER made at first start.
    admin_email: str = DEFAULT_ADMIN_EMAIL

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


def _admin_email(raw: str) -> str:
    """``KEYHOOK_ADMIN_EMAIL`` (``--admin-email``): the first human administrator's user
    name, used at first start only."""
    value = raw.strip()
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in value):
        raise InvalidArgument(
            f"KEYHOOK_ADMIN_EMAIL (--admin-email): {raw!r} is not an email address "
            "(allowed: local@domain.tld)"
        )
    return value


def _external_url(raw: str) -> str:
    """``KEYHOOK_EXTERNAL_URL``: the scheme, host and port clients reach Keyhook at."""
    value = raw.strip()
    if not value:
        return ""
    parts = urllib.parse.urlsplit(value)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or not port_ok
        or parts.username is not None
        or "?" in value
        or "#" in value
    ):
        # The value is not repeated: it may hold a password.
        raise InvalidArgument(
            "KEYHOOK_EXTERNAL_URL is not an http:// or https:// URL of a host without "
            "user, query or fragment (allowed: such as https://id.example.com or "
            "http://127.0.0.1:8080, the address clients reach Keyhook at; it becomes the "
            "token issuer)"
        )
    return value.rstrip("/")


def _int(env: Mapping[str, str], name: str, default: int, low: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidArgument(f"{name}={raw!r} is not a whole number") from None
    if value < low:
        raise InvalidArgument(f"{name}={raw!r} is below {low}")
    return value


def from_environment(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from ``KEYHOOK_*`` variables; ``overrides`` that are not None win."""
    env = os.environ if env is None else env
    values: dict[str, object] = {
        "host": env.get("KEYHOOK_HOST", "127.0.0.1"),
        "port": _int(env, "KEYHOOK_PORT", 8080, 1),
        "data_dir": Path(env.get("KEYHOOK_DATA_DIR", ".keyhook")),
        "database_url": env.get("KEYHOOK_DATABASE_URL", ""),
        "dev": _flag(env.get("KEYHOOK_DEV")),
        "allow_hosts": _split(env.get("KEYHOOK_ACTIONS_ALLOW_HOSTS")),
        "external_url": _external_url(env.get("KEYHOOK_EXTERNAL_URL", "")),
        "admin_email": _admin_email(env.get("KEYHOOK_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL)),
        "max_response_bytes": _int(env, "KEYHOOK_ACTIONS_MAX_RESPONSE_BYTES", 1024 * 1024, 1),
        "target_sync_concurrency": _int(env, "KEYHOOK_ACTIONS_TARGET_SYNC_CONCURRENCY", 32, 1),
        "password_hashing": PasswordHashing(
            memory_kib=_int(env, "KEYHOOK_ARGON2_MEMORY_KIB", 19 * 1024, 8),
            time_cost=_int(env, "KEYHOOK_ARGON2_TIME_COST", 2, 1),
            parallelism=_int(env, "KEYHOOK_ARGON2_PARALLELISM", 1, 1),
            max_concurrent=_int(env, "KEYHOOK_ARGON2_MAX_CONCURRENT", 0, 0),
        ),
        "auth_backoff": AuthBackoffSettings(
            client=_int(env, "KEYHOOK_AUTH_BACKOFF_CLIENT", 5, 0),
            login=_int(env, "KEYHOOK_AUTH_BACKOFF_LOGIN", 10, 0),
            address=_int(env, "KEYHOOK_AUTH_BACKOFF_ADDRESS", 30, 0),
            window=env.get("KEYHOOK_AUTH_BACKOFF_WINDOW", AuthBackoffSettings.window),
        ),
        "delivery": DeliverySettings(
            retry_schedule=env.get(
                "KEYHOOK_ACTIONS_RETRY_SCHEDULE", DeliverySettings.retry_schedule
            ),
            throttle_min=env.get("KEYHOOK_ACTIONS_THROTTLE_MIN_DELAY", "60s"),
            max_concurrency=_int(env, "KEYHOOK_ACTIONS_MAX_CONCURRENCY", 128, 1),
            target_concurrency=_int(env, "KEYHOOK_ACTIONS_TARGET_CONCURRENCY", 32, 1),
            lease_min=env.get("KEYHOOK_ACTIONS_LEASE", "60s"),
            poll_interval=env.get("KEYHOOK_ACTIONS_POLL_INTERVAL", "1s"),
            batch_size=_int(env, "KEYHOOK_ACTIONS_BATCH_SIZE", 200, 1),
            worker=not _flag(env.get("KEYHOOK_NO_WORKER")),
        ),
        "http": HttpServerSettings(
            header_timeout=env.get(
                "KEYHOOK_HTTP_HEADER_TIMEOUT", HttpServerSettings.header_timeout
            ),
            keep_alive_timeout=env.get(
                "KEYHOOK_HTTP_KEEP_ALIVE_TIMEOUT", HttpServerSettings.keep_alive_timeout
            ),
            max_concurrency=_int(env, "KEYHOOK_HTTP_MAX_CONCURRENCY", 1000, 1),
            forwarded_allow_ips=env.get(
                "KEYHOOK_FORWARDED_ALLOW_IPS", HttpServerSettings.forwarded_allow_ips
            ),
            access_log=_flag(env.get("KEYHOOK_ACCESS_LOG")),
        ),
        "retention": RetentionSettings(
            deliveries=env.get("KEYHOOK_RETENTION_DELIVERIES", RetentionSettings.deliveries),
            calls=env.get("KEYHOOK_RETENTION_CALLS", RetentionSettings.calls),
            interval=env.get("KEYHOOK_RETENTION_INTERVAL", RetentionSettings.interval),
        ),
        "oidc": OidcLifetimes(
            auth_request=env.get("KEYHOOK_OIDC_AUTH_REQUEST_LIFETIME", OidcLifetimes.auth_request),
            login=env.get("KEYHOOK_OIDC_LOGIN_LIFETIME", OidcLifetimes.login),
            code=env.get("KEYHOOK_OIDC_CODE_LIFETIME", OidcLifetimes.code),
            access_token=env.get("KEYHOOK_OIDC_ACCESS_TOKEN_LIFETIME", OidcLifetimes.access_token),
            id_token=env.get("KEYHOOK_OIDC_ID_TOKEN_LIFETIME", OidcLifetimes.id_token),
            refresh_token=env.get(
                "KEYHOOK_OIDC_REFRESH_TOKEN_LIFETIME", OidcLifetimes.refresh_token
            ),
            access_token_form=env.get(
                "KEYHOOK_OIDC_ACCESS_TOKEN_FORM", OidcLifetimes.access_token_form
            ).lower(),
        ),
    }
    for key, value in overrides.items():
        if value is not None:
            values[key] = value
    values["admin_email"] = _admin_email(str(values["admin_email"]))
    return Settings(**values)  # type: ignore[arg-type]
