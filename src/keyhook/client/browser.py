"""``keyhook login --browser``: sign in through the server's login page with the
authorization code flow, PKCE (S256) and a loopback redirect (RFC 8252).

The CLI reads the server's discovery document (its ``keyhook_cli_client_id``:
the command line's public native client, made at the server's first start),
listens on ``127.0.0.1`` on a port the system picks, opens the browser at the
authorize URL (or prints it), takes the one callback that carries the ``state``
it sent, and exchanges the code with its verifier for an access token that may
call the API (the API audience scope). It touches the network and a browser.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import click

from keyhook.client.errors import AuthProblem, ServerProblem

# ZITADEL's scope for a token that may call the instance's API (the server's
# domain.oidc.API_AUDIENCE_SCOPE; a test checks they are the same).
API_AUDIENCE_SCOPE = "urn:zitadel:iam:org:project:id:zitadel:aud"
# offline_access: a refresh token, so a sign-in outlives its access token (12 h).
SCOPES = f"openid profile offline_access {API_AUDIENCE_SCOPE}"
CALLBACK_PATH = "/callback"
WAIT_SECONDS = 300.0

_DONE_PAGE = (
    b"<!doctype html><html lang=en><title>Keyhook CLI</title>"
    b"<p>Signed in. You can close this tab and go back to the terminal.</p></html>"
)


@dataclass
class _Callback:
    query: dict[str, str] | None = None


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _get_json(url: str) -> dict[str, Any]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - http(s) only
            data: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise ServerProblem(f"{url} answered {error.code}: is it a Keyhook server?") from None
    except (urllib.error.URLError, OSError) as error:
        raise ServerProblem(
            f"cannot reach {url} ({getattr(error, 'reason', error)}): check the URL"
        ) from None
    except ValueError:
        raise ServerProblem(f"{url} did not answer JSON: is it a Keyhook server?") from None
    return data


def _token(endpoint: str, form: dict[str, str]) -> dict[str, Any]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - the discovery document's https/http URL
        endpoint,
        data=urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            answer: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            said = json.loads(error.read()).get("error_description", "")
        except ValueError:
            said = ""
        raise AuthProblem(f"the server refused the sign-in ({error.code}): {said}") from None
    except (urllib.error.URLError, OSError) as error:
        raise ServerProblem(
            f"cannot reach {endpoint} ({getattr(error, 'reason', error)})"
        ) from None
    return answer


def _listen(expected_state: str) -> tuple[HTTPServer, _Callback, threading.Event]:
    got = _Callback()
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path != CALLBACK_PATH or query.get("state") != expected_state:
                # Not our sign-in's answer (another page, a forged state): ignored.
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(_DONE_PAGE)
            got.query = query
            arrived.set()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the callback's query holds the code: never printed

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, got, arrived


@dataclass(frozen=True)
class Tokens:
    access: str
    refresh: str | None
    via: dict[str, str]  # the token endpoint and client id that redeem ``refresh``


def _tokens(answer: dict[str, Any], via: dict[str, str]) -> Tokens:
    access = answer.get("access_token")
    if not isinstance(access, str):
        raise AuthProblem("the server's token answer holds no access token")
    refresh = answer.get("refresh_token")
    return Tokens(access, refresh if isinstance(refresh, str) else None, via)


def refresh(via: dict[str, str], refresh_token: str) -> Tokens:
    """New tokens for a refresh token (rotated: the old one no longer works)."""
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": via["clientId"],
    }
    return _tokens(_token(via["tokenEndpoint"], form), via)


def sign_in(url: str, open_browser: bool) -> Tokens:
    """Tokens for the server at ``url``, by a sign-in in the browser."""
    discovery = _get_json(url + "/.well-known/openid-configuration")
    client_id = discovery.get("keyhook_cli_client_id")
    if not client_id:
        raise AuthProblem(
            f"{url} offers no sign-in for the command line: log in with a personal "
            "access token (`keyhook login --url URL` without --browser)"
        )
    state = secrets.token_urlsafe(16)
    verifier, challenge = pkce_pair()
    server, got, arrived = _listen(state)
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}{CALLBACK_PATH}"
    query = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": SCOPES,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "prompt": "login",
    }
    address = f"{discovery['authorization_endpoint']}?{urlencode(query)}"
    try:
        click.echo(f"Sign in in your browser: {address}", err=True)
        if open_browser:
            import webbrowser

            webbrowser.open(address)
        if not arrived.wait(WAIT_SECONDS):
            raise AuthProblem("no sign-in arrived within 5 minutes: run `keyhook login` again")
    finally:
        server.shutdown()
        server.server_close()
    answer = got.query or {}
    if "error" in answer:
        raise AuthProblem(
            f"the sign-in failed: {answer.get('error_description') or answer['error']}"
        )
    via = {"tokenEndpoint": str(discovery["token_endpoint"]), "clientId": str(client_id)}
    form = {
        "grant_type": "authorization_code",
        "code": answer.get("code", ""),
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
        "client_id": str(client_id),
    }
    return _tokens(_token(via["tokenEndpoint"], form), via)
