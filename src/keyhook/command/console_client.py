"""The console's OpenID Connect client: a public application (code + PKCE) of the
project "Keyhook console", made at first start and kept pointing at this server.

Its redirect URI is the server's own ``/ui/console/callback`` under the issuer, which
changes when the server moves (another port, ``KEYHOOK_EXTERNAL_URL``): each start
makes the current one the only one (``application.oidc.changed``). An address the
server left is no longer one a sign-in's code may be sent to (the attacker's review:
an old host name could otherwise receive an administrator's code). Nodes of one
instance share one address (``KEYHOOK_EXTERNAL_URL``), as the issuer requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from keyhook.command.projects import ProjectCommands
from keyhook.command.writer import Writer
from keyhook.domain.application import OidcSettings
from keyhook.domain.caller import Caller
from keyhook.eventstore.store import PendingEvent
from keyhook.storage.connection import Connection

CONSOLE_PROJECT = "Keyhook console"
CONSOLE_APP = "console"
CALLBACK_PATH = "/ui/console/callback"
HOME_PATH = "/ui/console"

_FIND = (
    "SELECT a.id, a.client_id, a.redirect_uris, a.post_logout_redirect_uris, a.sequence "
    "FROM applications AS a JOIN projects AS p ON p.id = a.project_id "
    "WHERE a.instance_id = :instance_id AND p.name = :project AND a.name = :app"
)


@dataclass(frozen=True)
class ConsoleClient:
    client_id: str
    redirect_uri: str
    home: str


async def _find(conn: Connection, instance_id: str) -> Any:
    found = await conn.execute(
        _FIND, {"instance_id": instance_id, "project": CONSOLE_PROJECT, "app": CONSOLE_APP}
    )
    return found.first()


async def ensure_console_client(writer: Writer, system: Caller, base_url: str) -> ConsoleClient:
    """The console's client for a server reached at ``base_url``, made or updated."""
    callback, home = base_url + CALLBACK_PATH, base_url + HOME_PATH
    async with writer.db.read() as conn:
        row = await _find(conn, system.instance_id)
    if row is None:
        projects = ProjectCommands(writer)
        project = await projects.create_project(system, CONSOLE_PROJECT, system.default_org_id)
        settings = OidcSettings(
            app_type="web",
            auth_method="none",
            grant_types=("authorization_code",),
            response_types=("code",),
            redirect_uris=(callback,),
            post_logout_redirect_uris=(home,),
            access_token_type="jwt",  # noqa: S106 - a token type, not a secret
        )
        created = await projects.create_oidc_app(system, project["id"], CONSOLE_APP, settings)
        return ConsoleClient(created["oidcResponse"]["clientId"], callback, home)
    redirects = list(orjson.loads(row.redirect_uris))
    logouts = list(orjson.loads(row.post_logout_redirect_uris))
    if redirects != [callback] or logouts != [home]:
        async with writer.db.write() as conn:
            await writer.commit(
                conn,
                system,
                [
                    PendingEvent(
                        "application.oidc.changed",
                        "application",
                        row.id,
                        system.default_org_id,
                        {
                            "appId": row.id,
                            "redirectUris": [callback],
                            "postLogoutRedirectUris": [home],
                        },
                    )
                ],
                expected={("application", row.id): row.sequence},
            )
    return ConsoleClient(row.client_id, callback, home)
