"""``keyhook trigger EVENT``: make an event happen through real API calls, so a receiver
developer sees the real payload arrive (an event execution on it sends it).

Each recipe is the API calls a person would make, on throwaway objects named
``trigger-<random>`` — ``user.locked`` creates a user with a password and fails its
password until the lockout policy locks it (or locks it with LockUser when the policy
never locks). The events Keyhook records but no API call of a user makes (an
instance's set-up, a key rotation's retirement, an OIDC session's tokens) are not
offered; ``keyhook trigger --list`` says which are. Imports nothing of the server.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

# Exit codes (docs/cli.md): usage 2, auth 3, not found 4, server or network 5.
_EXIT_FOR_STATUS = {401: 3, 403: 3, 404: 4}


class ApiError(click.ClickException):
    """A refused or failed call, as one line, with the exit code its kind has."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        return self.code


@dataclass
class Api:
    """The few calls a recipe makes: JSON over HTTP with the caller's token."""

    url: str
    token: str
    calls: int = 0

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise click.UsageError(f"the server URL must be http:// or https://, not {self.url!r}")

    def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = ()) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 (http or https: checked above)
            self.url.rstrip("/") + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        self.calls += 1
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310
                text = reply.read()
                return json.loads(text) if text else {}
        except urllib.error.HTTPError as error:
            text = error.read()
            if error.code in ok:
                return json.loads(text) if text else {}
            try:
                message = json.loads(text).get("message", "")
            except ValueError:
                message = text[:200].decode(errors="replace")
            hint = {401: " (is the token valid? KEYHOOK_TOKEN)", 403: " (the token's roles)"}
            raise ApiError(
                f"{method} {path}: {error.code} {message}{hint.get(error.code, '')}",
                _EXIT_FOR_STATUS.get(error.code, 5),
            ) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ApiError(
                f"cannot reach {self.url}: {reason} (is KEYHOOK_URL right?)", 5
            ) from None


def _name() -> str:
    return f"trigger-{secrets.token_hex(4)}"


def _human(api: Api, password: str | None = None) -> tuple[str, str]:
    login = f"{_name()}@example.com"
    user: dict[str, Any] = {
        "userName": login,
        "profile": {"givenName": "Trigger", "familyName": "Test"},
        "email": {"email": login},
    }
    if password:
        user["password"] = {"password": password}
    return api.call("POST", "/v2/users/human", {"user": user})["userId"], login


def _machine(api: Api) -> str:
    name = _name()
    return str(
        api.call("POST", "/management/v1/users/machine", {"userName": name, "name": name})["userId"]
    )


def _locked(api: Api) -> str:
    password = secrets.token_urlsafe(16)
    user_id, _ = _human(api, password)
    attempts = (
        api.call("GET", "/v2/settings/lockout").get("settings", {}).get("maxPasswordAttempts")
    )
    tries = int(attempts or 0)
    if tries <= 0:  # the policy never locks: lock it as an administrator would
        api.call("POST", f"/v2/users/{user_id}/lock", {})
        return user_id
    check = {"checks": {"user": {"userId": user_id}, "password": {"password": "wrong " + password}}}
    for _ in range(tries):
        api.call("POST", "/v2/sessions", check, ok=(400,))
    return user_id


def _unlocked(api: Api) -> str:
    user_id, _ = _human(api)
    api.call("POST", f"/v2/users/{user_id}/lock", {})
    api.call("POST", f"/v2/users/{user_id}/unlock", {})
    return user_id


def _then(path: str, body: Any = None, method: str = "POST") -> Callable[[Api], str]:
    """A new human user, then one call on it (``{u}`` is its id)."""

    def recipe(api: Api) -> str:
        user_id, _ = _human(api, secrets.token_urlsafe(16))
        api.call(method, path.format(u=user_id), {} if body is None else body)
        return user_id

    return recipe


def _reactivated(api: Api) -> str:
    user_id, _ = _human(api)
    api.call("POST", f"/v2/users/{user_id}/deactivate", {})
    api.call("POST", f"/v2/users/{user_id}/reactivate", {})
    return user_id


def _password_check(succeeds: bool) -> Callable[[Api], str]:
    def recipe(api: Api) -> str:
        password = secrets.token_urlsafe(16)
        user_id, _ = _human(api, password)
        given = password if succeeds else "wrong " + password
        check = {"checks": {"user": {"userId": user_id}, "password": {"password": given}}}
        api.call("POST", "/v2/sessions", check, ok=(400,))
        return user_id

    return recipe


def _secret(remove: bool) -> Callable[[Api], str]:
    def recipe(api: Api) -> str:
        user_id = _machine(api)
        api.call("POST", f"/v2/users/{user_id}/secret", {})
        if remove:
            api.call("DELETE", f"/v2/users/{user_id}/secret")
        return user_id

    return recipe


def _pat(remove: bool) -> Callable[[Api], str]:
    def recipe(api: Api) -> str:
        user_id = _machine(api)
        token = api.call("POST", f"/v2/users/{user_id}/pats", {})
        if remove:
            api.call("DELETE", f"/v2/users/{user_id}/pats/{token['tokenId']}")
        return user_id

    return recipe


def _session(remove: bool) -> Callable[[Api], str]:
    def recipe(api: Api) -> str:
        user_id, _ = _human(api)
        made = api.call("POST", "/v2/sessions", {"checks": {"user": {"userId": user_id}}})
        if remove:
            api.call("DELETE", f"/v2/sessions/{made['sessionId']}")
        return str(made["sessionId"])

    return recipe


def _org(api: Api) -> str:
    return str(api.call("POST", "/v2/organizations", {"name": _name()})["organizationId"])


def _project(remove: bool) -> Callable[[Api], str]:
    def recipe(api: Api) -> str:
        made = api.call("POST", "/v2beta/projects", {"name": _name()})
        if remove:
            api.call("DELETE", f"/v2beta/projects/{made['id']}")
        return str(made["id"])

    return recipe


#: Event type → how to make it happen, and what it leaves behind.
RECIPES: dict[str, tuple[Callable[[Api], str], str]] = {
    "user.human.added": (lambda api: _human(api)[0], "a new human user"),
    "user.machine.added": (_machine, "a new machine user"),
    "user.locked": (_locked, "a new user, its password failed until the policy locks it"),
    "user.unlocked": (_unlocked, "a new user, locked and unlocked"),
    "user.deactivated": (_then("/v2/users/{u}/deactivate"), "a new user, deactivated"),
    "user.reactivated": (_reactivated, "a new user, deactivated and reactivated"),
    "user.removed": (_then("/v2/users/{u}", method="DELETE"), "a new user, deleted"),
    "user.human.changed": (
        _then("/v2/users/human/{u}", {"profile": {"givenName": "Changed"}}, "PUT"),
        "a new user, its given name changed",
    ),
    "user.human.password.changed": (
        _then("/v2/users/{u}/password", {"newPassword": {"password": secrets.token_urlsafe(16)}}),
        "a new user, its password set",
    ),
    "user.human.password.check.failed": (_password_check(False), "a wrong password checked"),
    "user.human.password.check.succeeded": (_password_check(True), "a right password checked"),
    "user.metadata.set": (
        _then("/v2/users/{u}/metadata", {"metadata": [{"key": "trigger", "value": "yes"}]}),
        "a new user with metadata",
    ),
    "user.machine.secret.set": (_secret(False), "a new machine user with a client secret"),
    "user.machine.secret.removed": (_secret(True), "a machine user's secret set and removed"),
    "user.pat.added": (_pat(False), "a new machine user with a personal access token"),
    "user.pat.removed": (_pat(True), "a machine user's token issued and removed"),
    "session.added": (_session(False), "a session for a new user"),
    "session.removed": (_session(True), "a session made and deleted"),
    "org.added": (_org, "a new organization"),
    "project.added": (_project(False), "a new project"),
    "project.removed": (_project(True), "a project made and deleted"),
}


@click.command("trigger")
@click.argument("event", required=False)
@click.option("--list", "listing", is_flag=True, help="List the events this can trigger.")
@click.option("--url", envvar="KEYHOOK_URL", help="The server [KEYHOOK_URL].")
@click.option(
    "--profile", default=None, metavar="NAME", help="Profile to use [KEYHOOK_PROFILE, default]."
)
def trigger(event: str | None, listing: bool, url: str | None, profile: str | None) -> None:
    """Make EVENT happen through real API calls (on throwaway objects), so an event
    execution on it sends the real payload. The server and token: KEYHOOK_URL and
    KEYHOOK_TOKEN, else the profile's (keyhook login)."""
    if listing or event is None:
        for name, (_, what) in RECIPES.items():
            click.echo(f"{name:40} {what}")
        if event is None and not listing:
            raise click.UsageError(
                "name an event (the list above), e.g. keyhook trigger user.locked"
            )
        return
    if event not in RECIPES:
        near = [n for n in RECIPES if n.split(".")[0] == event.split(".")[0]]
        raise click.UsageError(
            f"{event!r} cannot be triggered by an API call here"
            + (f" (of its kind: {', '.join(near)})" if near else "")
            + "; keyhook trigger --list shows what can"
        )
    token = os.environ.get("KEYHOOK_TOKEN", "")
    if not url or not token:
        from keyhook.client.config import Store
        from keyhook.client.errors import ClientError

        try:
            saved = Store().credentials(profile)
        except ClientError as error:
            raise click.UsageError(error.message) from None
        url, token = url or saved.url, token or saved.token
    api = Api(url, token)
    recipe, what = RECIPES[event]
    made = recipe(api)
    click.echo(f"{event}: {what} ({made}), {api.calls} API call{'s' if api.calls != 1 else ''}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(trigger())
