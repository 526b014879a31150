"""OpenID Connect discovery and the JWKS: public routes, no bearer token.

``GET /.well-known/openid-configuration`` (OpenID Connect Discovery 1.0) and
``GET /oauth/v2/keys`` (the JSON Web Key Set, RFC 7517). Both are plain routes
next to ``/healthz``, outside the operation registry: they take no message,
need no caller, and run no executions. The endpoints the discovery document
names besides the JWKS are ZITADEL's paths, served by ``api/oidc_login.py``
(authorize and the login page) and ``api/oidc_endpoints.py`` (token, userinfo,
introspection, revocation, end session).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from keyhook.config import Settings
from keyhook.domain.web_keys import ALGORITHMS
from keyhook.query.oidc_keys import published_jwks
from keyhook.storage.database import Database

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/oauth/v2/keys"

CLAIMS_SUPPORTED = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "amr",
    "sid",
    "nonce",
    "azp",
    "at_hash",
    "c_hash",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "preferred_username",
    "locale",
    "gender",
    "updated_at",
    "email",
    "email_verified",
]

# Public data: browsers' single-page apps may read it from any origin.
_HEADERS = {"Access-Control-Allow-Origin": "*"}


def issuer(settings: Settings) -> str:
    """``KEYHOOK_EXTERNAL_URL`` (without a trailing slash), else ``http://host:port``."""
    return settings.base_url.rstrip("/")


def discovery_document(settings: Settings) -> dict[str, Any]:
    base = issuer(settings)
    return {
        "issuer": base,
        "authorization_endpoint": base + "/oauth/v2/authorize",
        "token_endpoint": base + "/oauth/v2/token",
        "userinfo_endpoint": base + "/oidc/v1/userinfo",
        "jwks_uri": base + JWKS_PATH,
        "introspection_endpoint": base + "/oauth/v2/introspect",
        "revocation_endpoint": base + "/oauth/v2/revoke",
        "end_session_endpoint": base + "/oidc/v1/end_session",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        # RS256 first: OpenID Connect Discovery requires it (and it is the default of a
        # client that registered no id_token_signed_response_alg).
        "id_token_signing_alg_values_supported": list(ALGORITHMS),
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": CLAIMS_SUPPORTED,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }


def routes(settings: Settings, db: Database, cli_client_id: str = "") -> list[BaseRoute]:
    # Keyhook's member: the command line's client (command.cli_client), so that
    # `keyhook login --browser` needs only the server's URL.
    extra = {"keyhook_cli_client_id": cli_client_id} if cli_client_id else {}
    document = orjson.dumps({**discovery_document(settings), **extra})

    async def discovery(_: Request) -> Response:
        return Response(
            document,
            media_type="application/json",
            headers={**_HEADERS, "Cache-Control": "public, max-age=300"},
        )

    async def keys(_: Request) -> Response:
        # Short caching: after a rotation, new tokens carry the new kid at once.
        return Response(
            orjson.dumps(await published_jwks(db)),
            media_type="application/jwk-set+json",
            headers={**_HEADERS, "Cache-Control": "public, max-age=60"},
        )

    return [
        Route(DISCOVERY_PATH, discovery, methods=["GET"]),
        Route(JWKS_PATH, keys, methods=["GET"]),
    ]
