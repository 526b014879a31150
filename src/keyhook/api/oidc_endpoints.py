"""The provider's back-channel endpoints: token, userinfo, introspection and revocation.

(End session is a browser page: :mod:`keyhook.api.oidc_login`.)

OAuth errors are answered the OAuth way, not in the API's error shape:
``{"error": "...", "error_description": "..."}`` with the status RFC 6749 §5.2
gives (``invalid_client`` is 401 with ``WWW-Authenticate``), and RFC 6750 §3 for
userinfo. Token responses are never cached (``Cache-Control: no-store``).
Browsers' single-page apps call these endpoints across origins, so they answer
CORS preflights; no cookies are involved, so any origin is allowed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from keyhook.api.forms import single_valued
from keyhook.errors import InvalidArgument, KeyhookError, OAuthError, TooManyAttempts
from keyhook.services.oidc import OidcProvider
from keyhook.services.oidc_access import TokenAccess

log = logging.getLogger("keyhook.oidc")

_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Max-Age": "600",
}
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _json(body: dict[str, Any], status: int = 200, **headers: str) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={**_CORS, **_NO_STORE, **headers},
    )


def oauth_error(error: OAuthError, *, scheme: str | None = None) -> Response:
    headers: dict[str, str] = {}
    if error.status == 401 or (scheme == "Bearer" and error.status == 403):
        # RFC 6749 §5.2 (Basic) and RFC 6750 §3 (Bearer). error_description may hold only
        # printable ASCII other than '"' and '\\' there; the message can carry what a
        # client or a target sent (non-ASCII, CR/LF), so the header gets a cleaned copy
        # and the JSON body the message itself.
        description = "".join(
            c if " " <= c <= "~" and c not in '"\\' else "?" for c in error.message
        )
        realm = "Basic" if scheme is None else scheme
        headers["WWW-Authenticate"] = (
            f'{realm} realm="keyhook", error="{error.error}", error_description="{description}"'
        )
    return _json(
        {"error": error.error, "error_description": error.message}, error.status, **headers
    )


Handler = Callable[[Request], Awaitable[Response]]


def _guarded(handler: Handler, scheme: str | None = None) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except OAuthError as error:
            return oauth_error(error, scheme=scheme)
        except TooManyAttempts as error:
            # Refused without checking the secret (docs/operations.md, the back-off).
            response = oauth_error(OAuthError("slow_down", error.message, status=429))
            response.headers["Retry-After"] = str(error.retry_after)
            return response
        except InvalidArgument as error:
            return oauth_error(OAuthError("invalid_request", error.message), scheme=scheme)
        except KeyhookError as error:
            log.warning("OIDC endpoint %s failed: %s", request.url.path, error.message)
            return oauth_error(OAuthError("server_error", error.message, status=500))

    return endpoint


async def _preflight(_: Request) -> Response:
    return Response(status_code=204, headers=_CORS)


def client_address(request: Request) -> str:
    """The caller's address: the peer's, or X-Forwarded-For's from a trusted proxy."""
    return request.client.host if request.client else ""


def routes(provider: OidcProvider, access: TokenAccess) -> list[BaseRoute]:
    async def token(request: Request) -> Response:
        form = await single_valued(request)
        authorization = request.headers.get("authorization")
        return _json(await provider.token(form, authorization, client_address(request)))

    async def userinfo(request: Request) -> Response:
        return _json(await access.userinfo(request.headers.get("authorization")))

    async def introspect(request: Request) -> Response:
        form = await single_valued(request)
        authorization = request.headers.get("authorization")
        return _json(await access.introspect(form, authorization, client_address(request)))

    async def revoke(request: Request) -> Response:
        form = await single_valued(request)
        await access.revoke(form, request.headers.get("authorization"), client_address(request))
        return Response(status_code=200, headers={**_CORS, **_NO_STORE})

    return [
        Route("/oauth/v2/token", _guarded(token), methods=["POST"]),
        Route("/oauth/v2/introspect", _guarded(introspect), methods=["POST"]),
        Route("/oauth/v2/revoke", _guarded(revoke), methods=["POST"]),
        Route("/oidc/v1/userinfo", _guarded(userinfo, "Bearer"), methods=["GET", "POST"]),
        *(
            Route(path, _preflight, methods=["OPTIONS"])
            for path in ("/oauth/v2/token", "/oauth/v2/revoke", "/oidc/v1/userinfo")
        ),
    ]
