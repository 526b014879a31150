"""The command line: ``keyhook start``."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import signal
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from keyhook import __version__
from keyhook.client.signature import signature
from keyhook.client.trigger import trigger
from keyhook.config import Settings, from_environment
from keyhook.errors import KeyhookError

if TYPE_CHECKING:
    from keyhook.api.registry import Registry


@click.group()
@click.version_option(__version__)
def main() -> None:
    """Keyhook: an identity server with programmable, signed webhooks."""


@main.command()
@click.option("--host", default=None, help="Address to listen on [KEYHOOK_HOST, 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [KEYHOOK_PORT, 8080].")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Data directory [KEYHOOK_DATA_DIR, ./.keyhook].",
)
@click.option(
    "--database-url",
    default=None,
    help="postgresql://… or sqlite:///… [KEYHOOK_DATABASE_URL, SQLite in the data dir].",
)
@click.option(
    "--dev",
    is_flag=True,
    default=None,
    help="Development mode: targets may use http:// and local addresses [KEYHOOK_DEV=1].",
)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    envvar="KEYHOOK_TLS_CERT",
    help="Serve HTTPS with this PEM certificate chain [KEYHOOK_TLS_CERT].",
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    envvar="KEYHOOK_TLS_KEY",
    help="The PEM private key of --tls-cert [KEYHOOK_TLS_KEY].",
)
@click.option(
    "--admin-email",
    default=None,
    help="User name of the human IAM_OWNER made at first start "
    "[KEYHOOK_ADMIN_EMAIL, keyhook-admin@keyhook.localhost].",
)
def start(
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    database_url: str | None,
    dev: bool | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    admin_email: str | None,
) -> None:
    """Start the server (API and background services)."""
    import uvicorn

    from keyhook.api.http_server import server_options
    from keyhook.api.server import application
    from keyhook.bootstrap import assemble

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = _settings(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        dev=dev or None,
        admin_email=admin_email,
    )
    scheme = "https" if tls_cert else "http"
    try:
        limits = server_options(settings.http)  # a bad limit stops the start at once
    except KeyhookError as error:
        raise click.ClickException(error.message) from None
    if tls_cert and not settings.external_url:
        # Token issuer and login redirects must name the scheme clients really use.
        settings = dataclasses.replace(
            settings, external_url=f"https://{settings.host}:{settings.port}"
        )

    # Bound first: a taken port is said at once, before any set-up, and "listening" is
    # printed only once it is true.
    listener = _listen(settings.host, settings.port)

    async def run() -> None:
        try:
            core = await assemble(settings)
        except KeyhookError as error:
            raise click.ClickException(error.message) from None
        listener.listen(2048)
        click.echo(f"Keyhook {__version__} listening on {scheme}://{settings.host}:{settings.port}")
        token_file = core.admin_token_path.resolve()
        if core.first_start:
            click.echo(f"Admin token (created): {token_file}")
            click.echo(
                f"Admin sign-in: {settings.admin_email}, initial password in "
                f"{core.admin_password_path.resolve()} (to be changed at first sign-in)"
            )
        elif token_file.exists():
            click.echo(f"Admin token (kept from the first start): {token_file}")
        else:
            click.echo(
                "Admin token: this database was set up by another node; its admin.pat "
                "is in that node's data directory"
            )
        if settings.dev:
            click.echo("Development mode: targets may use http:// and local addresses.")
        config = uvicorn.Config(
            application(core),
            host=settings.host,
            port=settings.port,
            access_log=False,
            log_level="warning",
            lifespan="on",
            ssl_certfile=tls_cert,
            ssl_keyfile=tls_key,
            **limits,
        )
        await uvicorn.Server(config).serve(sockets=[listener])

    _run(run())


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` (IPv6 when the host has a colon, as uvicorn
    does), or a usage error that says what to do. It listens only once the server
    is set up (``listen()`` before ``serve``): until then a connection is refused,
    not accepted and left waiting."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(
                f"port {port} on {host} is in use: another program (another Keyhook, such "
                f"as a `make run` still running?) listens there. Stop it, or choose another "
                f"port: --port {port + 1}, KEYHOOK_PORT={port + 1} or `make run PORT={port + 1}`"
            ) from None
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    listener.set_inheritable(True)
    return listener


@main.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Data directory [KEYHOOK_DATA_DIR, ./.keyhook].",
)
@click.option(
    "--database-url", default=None, help="postgresql://… or sqlite:///… [KEYHOOK_DATABASE_URL]."
)
@click.option(
    "--dev",
    is_flag=True,
    default=None,
    help="Targets may use http:// and local addresses [KEYHOOK_DEV=1].",
)
def worker(data_dir: Path | None, database_url: str | None, dev: bool | None) -> None:
    """Run only the delivery worker (no API), until SIGTERM or SIGINT."""
    from keyhook.bootstrap import assemble

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = _settings(data_dir=data_dir, database_url=database_url, dev=dev or None)

    async def run() -> None:
        try:
            core = await assemble(settings, with_worker=True)
        except KeyhookError as error:
            raise click.ClickException(error.message) from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await core.start()
        click.echo(f"Keyhook {__version__} delivery worker running")
        await stop.wait()
        await core.stop()

    _run(run())


# Client commands: standard library and click only, so they cost --help nothing.
main.add_command(signature)
main.add_command(trigger)


@main.command()
@click.option(
    "--forward-to",
    required=True,
    help="The local receiver's URL, e.g. http://localhost:3000/hook (loopback only).",
)
@click.option(
    "--target",
    "target",
    default="keyhook-listen",
    show_default=True,
    help="The relay target to attach to; created when no target has this name.",
)
@click.option(
    "--type",
    "kind",
    type=click.Choice(["restCall", "restWebhook", "restAsync"]),
    default="restCall",
    show_default=True,
    help="The type of a target listen creates.",
)
@click.option(
    "--timeout", default="10s", show_default=True, help="The timeout of a target listen creates."
)
@click.option(
    "--interrupt-on-error/--no-interrupt-on-error",
    default=True,
    show_default=True,
    help="interruptOnError of a (restCall or restWebhook) target listen creates.",
)
@click.option("--print-body", is_flag=True, help="Print each call's body and the local answer.")
@click.option(
    "--allow-remote", is_flag=True, help="Allow a --forward-to that is not a loopback address."
)
@click.option("--url", envvar="KEYHOOK_URL", default=None, help="The Keyhook server [KEYHOOK_URL].")
@click.option(
    "--token",
    envvar="KEYHOOK_TOKEN",
    default=None,
    help="A token allowed to change targets [KEYHOOK_TOKEN; else the profile's].",
)
@click.option(
    "--profile", default=None, metavar="NAME", help="Profile to use [KEYHOOK_PROFILE, default]."
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def listen(
    forward_to: str,
    target: str,
    kind: str,
    timeout: str,
    interrupt_on_error: bool,
    print_body: bool,
    allow_remote: bool,
    url: str | None,
    token: str | None,
    profile: str | None,
    debug: bool,
) -> None:
    """Forward a relay target's calls (sync ones included) to a local receiver."""
    from keyhook.client.listen import ListenError, Options
    from keyhook.client.listen import listen as run

    if not (url and token):  # the logged-in profile's (keyhook login), as other commands
        from keyhook.client.config import Store
        from keyhook.client.errors import ClientError

        try:
            saved = Store().credentials(profile)
        except ClientError as error:
            raise click.UsageError(str(error)) from None
        url, token = url or saved.url, token or saved.token

    options = Options(
        url=url,
        token=token,
        forward_to=forward_to,
        target=target,
        type=kind,
        timeout=timeout,
        interrupt_on_error=interrupt_on_error,
        print_body=print_body,
        allow_remote=allow_remote,
    )
    try:
        raise SystemExit(run(options))
    except ListenError as error:
        if debug:
            raise
        click.echo(f"Error: {error.message}", err=True)
        raise SystemExit(error.code) from None


@main.command("events-doc")
def events_doc() -> None:
    """Print docs/events.md: every event type and its eventData, from the code."""
    from keyhook.domain.events import events_markdown

    click.echo(events_markdown(), nl=False)


@main.command("receiver-events")
def receiver_events() -> None:
    """Print keyhook-receiver's event data module (receiver/src/keyhook_receiver/events.py)."""
    from keyhook.domain.event_models import receiver_events_python

    click.echo(receiver_events_python(), nl=False)


@main.command("operations-doc")
def operations_doc() -> None:
    """Print docs/api.md's list of every service and operation, from the registry."""
    from keyhook.api.reference import operations_markdown

    click.echo(_with_registry(operations_markdown), nl=False)


@main.command("operations-spec")
def operations_spec() -> None:
    """Print src/keyhook/client/operations.json: the client CLI's table of operations."""
    from keyhook.api.client_spec import operations_spec as spec

    click.echo(_with_registry(spec), nl=False)


def _with_registry(render: Callable[[Registry], str]) -> str:
    """``render`` of the registry of a scratch core (the registry needs one)."""
    import tempfile

    from keyhook.api.server import build_registry
    from keyhook.bootstrap import assemble

    async def run() -> str:
        with tempfile.TemporaryDirectory() as scratch:
            core = await assemble(from_environment({}, data_dir=Path(scratch)))
            try:
                return render(build_registry(core))
            finally:
                await core.stop()

    return asyncio.run(run())


from keyhook.client.commands import register as _register_client  # noqa: E402

_register_client(main)


def _settings(**overrides: object) -> Settings:
    """Settings from the command line and KEYHOOK_*; a bad value is a clear error."""
    try:
        return from_environment(None, **overrides)
    except KeyhookError as error:
        raise click.ClickException(error.message) from None


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop

        uvloop.run(coroutine)
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux and macOS
        asyncio.run(coroutine)
