"""``login``, ``logout`` and ``profiles``: which server, with which token.

``login`` reads the personal access token from a prompt that does not echo, or
from standard input when it is not a terminal — never from the command line,
so it stays out of shell history and process lists — checks it against the
server with one cheap authenticated call, and keeps it (keyring or 0600 file,
:mod:`keyhook.client.config`). It touches the network and the config store.
"""

from __future__ import annotations

import sys

import click

from keyhook.client import http
from keyhook.client.config import Credentials, Store, profile_name
from keyhook.client.errors import AuthProblem, ClientError, UsageProblem
from keyhook.client.runner import Run, common


def check_token(url: str, token: str) -> None:
    """Raise :class:`AuthProblem` unless the server at ``url`` knows ``token``.

    One small search: 401 means the token is unknown, expired or removed; a 403
    means the server knows it (its roles just do not reach targets)."""
    credentials = Credentials(url.rstrip("/"), token, "")
    call = http.prepare(credentials, "POST", "/v2/actions/targets/search", {"query": {"limit": 1}})
    try:
        http.send(call)
    except AuthProblem as problem:
        if "not allowed" not in problem.message:
            raise


def register(main: click.Group) -> None:
    @main.command()
    @click.option(
        "--url", required=True, metavar="URL", help="The server, e.g. http://127.0.0.1:8080."
    )
    @click.option(
        "--browser",
        is_flag=True,
        help="Sign in on the server's login page in a browser (PKCE, loopback redirect).",
    )
    @click.option(
        "--no-open",
        is_flag=True,
        help="With --browser: print the sign-in address, do not open a browser.",
    )
    @common()
    def login(run: Run, url: str, browser: bool, no_open: bool) -> None:
        """Sign in to a server with a personal access token (read from a hidden
        prompt, or from standard input when piped), or with --browser on its login
        page, and keep the token under the profile."""
        url = url.rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise UsageProblem(f"{url!r} is not an http:// or https:// URL")
        refresh, via = None, None
        if browser:
            from keyhook.client.browser import sign_in

            tokens = sign_in(url, open_browser=not no_open)
            token, refresh, via = tokens.access, tokens.refresh, tokens.via
        else:
            if sys.stdin.isatty():
                token = click.prompt("Personal access token", hide_input=True, err=True)
            else:
                token = sys.stdin.readline()
            token = token.strip()
            if not token:
                raise UsageProblem("no token given: paste a personal access token (e.g. admin.pat)")
        check_token(url, token)
        name = profile_name(run.profile)
        store = Store()
        kept = store.save(name, url, token, refresh, via)
        where = "the OS keyring" if kept == "keyring" else str(store.credentials_file)
        click.echo(f"Logged in to {url} as profile {name!r}; the token is in {where}")

    @main.command()
    @common()
    def logout(run: Run) -> None:
        """Forget the profile's URL and token."""
        name = profile_name(run.profile)
        if not Store().remove(name):
            raise ClientError(f"no profile {name!r}: `keyhook profiles` lists them")
        click.echo(f"Logged out: profile {name!r} forgotten")

    @main.command()
    @common()
    def profiles(run: Run) -> None:
        """List the profiles: name, server URL, where the token is kept (never the
        token)."""
        current = profile_name(None)
        rows = [
            {
                "profile": name,
                "url": p.get("url", ""),
                "store": p.get("store", ""),
                "current": name == current,
            }
            for name, p in sorted(Store().profiles().items())
        ]
        run.show({"profiles": rows})
