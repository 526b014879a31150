"""The command line's OpenID Connect client: a public native application (code +
PKCE, refresh tokens) of the project "Keyhook CLI", made at first start.

``keyhook login --browser`` signs in through the login page and receives the code
on a loopback address it listens on for that one sign-in: ``http://127.0.0.1:<any
port>/callback`` (RFC 8252 §7.3: a native app's loopback redirect matches on any
port, since the port is only known when the CLI binds it). The client's id is
published in the discovery document (``keyhook_cli_client_id``), so the CLI needs
nothing but the server's URL.
"""

from __future__ import annotations

from typing import Any

from keyhook.command.projects import ProjectCommands
from keyhook.command.writer import Writer
from keyhook.domain.application import OidcSettings
from keyhook.domain.caller import Caller
from keyhook.storage.connection import Connection

CLI_PROJECT = "Keyhook CLI"
CLI_APP = "cli"
CLI_REDIRECT_URI = "http://127.0.0.1/callback"

_FIND = (
    "SELECT a.client_id FROM applications AS a JOIN projects AS p ON p.id = a.project_id "
    "WHERE a.instance_id = :instance_id AND p.name = :project AND a.name = :app"
)


async def _find(conn: Connection, instance_id: str) -> Any:
    found = await conn.execute(
        _FIND, {"instance_id": instance_id, "project": CLI_PROJECT, "app": CLI_APP}
    )
    return found.first()


async def ensure_cli_client(writer: Writer, system: Caller) -> str:
    """The CLI's client id, the client made if it is not there yet."""
    async with writer.db.read() as conn:
        row = await _find(conn, system.instance_id)
    if row is not None:
        return str(row.client_id)
    projects = ProjectCommands(writer)
    project = await projects.create_project(system, CLI_PROJECT, system.default_org_id)
    settings = OidcSettings(
        app_type="native",
        auth_method="none",
        grant_types=("authorization_code", "refresh_token"),
        response_types=("code",),
        redirect_uris=(CLI_REDIRECT_URI,),
        post_logout_redirect_uris=(),
        access_token_type="bearer",  # noqa: S106 - a token type, not a secret
    )
    created = await projects.create_oidc_app(system, project["id"], CLI_APP, settings)
    return str(created["oidcResponse"]["clientId"])
