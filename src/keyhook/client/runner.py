"""What every client command shares: its common options, the call it makes, and
how a failure ends it (one line on stderr and the documented exit code).

``--output/-o``, ``--profile`` and ``--debug`` on every command, ``--dry-run``
on every write; a :class:`keyhook.client.errors.ClientError` becomes
``Error: …`` and its exit code, never a traceback unless ``--debug``.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from keyhook.client import http, output
from keyhook.client.config import Credentials, Store
from keyhook.client.errors import (
    AuthProblem,
    ClientError,
    NotFoundProblem,
    TokenRefused,
    UsageProblem,
)
from keyhook.client.spec import Operation, operation

F = TypeVar("F", bound=Callable[..., Any])
_ID = re.compile(r"[0-9]{1,19}")


@dataclass
class Run:
    """One command's invocation: its common options and the calls it makes."""

    output: str | None
    profile: str | None
    dry_run: bool = False
    _credentials: Credentials | None = None

    @property
    def credentials(self) -> Credentials:
        if self._credentials is None:
            self._credentials = Store().credentials(self.profile)
        return self._credentials

    def prepare(self, name: str, values: dict[str, Any]) -> http.Call:
        """The HTTP request for operation ``name`` with ``values`` (path fields and
        body), on its first REST route."""
        op = operation(name)
        verb, path = op.routes[0]
        values = dict(values)
        missing = [f for f in op.path_fields if f not in values]
        if missing:
            raise UsageProblem(f"{name} needs {', '.join(missing)}")
        path = http.route(path, values)
        body = values if verb not in ("GET", "DELETE") or values else None
        return http.prepare(self.credentials, verb, path, body)

    def call(self, name: str, values: dict[str, Any]) -> dict[str, Any]:
        """Operation ``name``'s answer (reads happen even on a dry run)."""
        return self._send(name, values)

    def write(self, name: str, values: dict[str, Any]) -> dict[str, Any] | None:
        """Operation ``name``'s answer, or on a dry run the request printed and None."""
        if self.dry_run:
            call = self.prepare(name, values)
            click.echo(f"Dry run: would send (nothing sent)\n{call.shown()}")
            return None
        return self._send(name, values)

    def _send(self, name: str, values: dict[str, Any]) -> dict[str, Any]:
        try:
            return http.send(self.prepare(name, values))
        except TokenRefused:
            # A browser sign-in's access token ended (or was revoked): redeem its
            # refresh token once, keep the new pair, and send the call again.
            if not self._refresh():
                raise
            return http.send(self.prepare(name, values))

    def _refresh(self) -> bool:
        credentials = self.credentials
        store = Store()
        old = store.refresh_token(credentials.profile) if credentials.refresh_via else None
        if credentials.refresh_via is None or old is None:
            return False
        from keyhook.client.browser import refresh

        try:
            tokens = refresh(credentials.refresh_via, old)
        except AuthProblem:
            return False  # the sign-in itself ended: the caller's 401 says what to do
        store.save(credentials.profile, credentials.url, tokens.access, tokens.refresh, tokens.via)
        self._credentials = store.credentials(credentials.profile)
        return True

    def show(self, answer: dict[str, Any] | None) -> None:
        if answer is not None:
            output.show(answer, self.output)

    def target_id(self, given: str) -> str:
        """A target's id from its id or its name."""
        if _ID.fullmatch(given):
            return given
        answer = self.call("ListTargets", {"name": given, "query": {"limit": 100}})
        for row in answer.get("targets", []):
            if row.get("name") == given:
                return str(row["id"])
        raise NotFoundProblem(
            f"no target named {given!r}: `keyhook targets list` shows the targets"
        )


def common(write: bool = False) -> Callable[[F], F]:
    """The common options and the failure handling, for one command's callback
    (which receives a :class:`Run` as ``run``)."""

    def decorate(callback: F) -> F:
        @functools.wraps(callback)
        def wrapper(
            *args: Any,
            output: str | None,
            profile: str | None,
            debug: bool,
            dry_run: bool = False,
            **kwargs: Any,
        ) -> Any:
            run = Run(output=output, profile=profile, dry_run=dry_run)
            try:
                return callback(*args, run=run, **kwargs)
            except ClientError as error:
                if debug:
                    raise
                click.echo(f"Error: {error.message}", err=True)
                sys.exit(error.exit_code)
            except KeyboardInterrupt:
                click.echo("", err=True)
                sys.exit(130)

        command: Any = wrapper
        if write:
            command = click.option(
                "--dry-run",
                is_flag=True,
                help="Print the HTTP request it would send (token masked); send nothing.",
            )(command)
        command = click.option("--debug", is_flag=True, help="Show the traceback of a failure.")(
            command
        )
        command = click.option(
            "--profile",
            default=None,
            metavar="NAME",
            help="Profile to use [KEYHOOK_PROFILE, default].",
        )(command)
        command = click.option(
            "--output",
            "-o",
            type=click.Choice([output.TABLE, output.JSON]),
            default=None,
            help="table or json [table on a terminal, json when piped].",
        )(command)
        return command  # type: ignore[no-any-return]

    return decorate


def read_body(file: str | None) -> dict[str, Any]:
    """A JSON object from ``file`` (``-``: standard input), or {} without one."""
    if file is None:
        return {}
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text()
    except OSError as exc:
        raise UsageProblem(f"cannot read {file}: {exc.strerror}") from None
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise UsageProblem(f"{file} is not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise UsageProblem(f"{file} holds JSON that is not an object")
    return body


def field_options(op: Operation, skip: tuple[str, ...] = ()) -> Callable[[F], F]:
    """An option for each scalar top-level field of ``op``'s request: ``--kebab-name``
    (booleans as ``--x/--no-x``), its choices checked by click."""

    def decorate(callback: F) -> F:
        for spec_field in reversed(op.fields):
            if spec_field.name in op.path_fields or spec_field.name in skip:
                continue
            flag = "--" + re.sub(r"(?<!^)(?=[A-Z])", "-", spec_field.name).lower()
            dest = "field_" + spec_field.name
            text = spec_field.description or spec_field.name
            if spec_field.type == "boolean":
                callback = click.option(f"{flag}/--no-{flag[2:]}", dest, default=None, help=text)(
                    callback
                )
            elif spec_field.type in ("string", "integer"):
                kind: Any = int if spec_field.type == "integer" else str
                if spec_field.choices:
                    kind = click.Choice(spec_field.choices)
                callback = click.option(flag, dest, type=kind, default=None, help=text)(callback)
        return callback

    return decorate


def field_values(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The ``field_*`` options given, by wire name (taken out of ``kwargs``)."""
    values = {}
    for key in [k for k in kwargs if k.startswith("field_")]:
        value = kwargs.pop(key)
        if value is not None:
            values[key.removeprefix("field_")] = value
    return values
