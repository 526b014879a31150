"""The web console at ``/ui/console``: server-rendered pages (Jinja2) over the API's
operations, called in-process through the same interceptor chain with the signed-in
person's access token (:meth:`keyhook.api.pipeline.Pipeline.call`).

No JavaScript framework and no build step: pages are HTML forms that post and
redirect; ``static/console.js`` only adds what HTML cannot (copying a key). A
control the person's roles do not allow is not offered (:meth:`Console.allowed`),
and the server refuses it anyway if forged. May touch the API layer's registry and
pipeline, the OIDC provider (to exchange the sign-in's code), nothing below.
"""

from __future__ import annotations

import base64
import contextlib
import posixpath
import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlencode

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from keyhook.api.forms import form_pairs
from keyhook.api.oidc_endpoints import client_address
from keyhook.api.pipeline import Pipeline
from keyhook.api.registry import Registry
from keyhook.command.console_client import ConsoleClient
from keyhook.console.session import (
    COOKIE_PATH,
    FLOW_COOKIE,
    FLOW_SECONDS,
    SESSION_COOKIE,
    ConsoleSession,
    Sessions,
    challenge_of,
)
from keyhook.crypto.secretbox import SecretBox
from keyhook.domain.oidc import API_AUDIENCE_SCOPE
from keyhook.errors import KeyhookError, OAuthError, PermissionDenied, Unauthenticated
from keyhook.services.oidc import OidcProvider
from keyhook.services.oidc_access import TokenAccess

SCOPES = f"openid profile {API_AUDIENCE_SCOPE}"
# A console form's limits: a field holds at most what the API takes in one string (a
# header value is up to 8,192 characters, a test payload up to 65,536), URL-encoded.
FIELD_CHARS = 65_536
FORM_BYTES = 512 * 1024
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

Page = Callable[[Request, ConsoleSession, str], Awaitable[Response]]


def _claims(jwt: str) -> dict[str, Any]:
    """The payload of a token this process just minted (no check needed: in-process)."""
    payload = jwt.split(".")[1]
    claims: dict[str, Any] = orjson.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def _console_path(next_path: str) -> str:
    """Where a sign-in may return to: a path of the console, normalised (no ``..``)."""
    if "\\" in next_path or "%" in next_path or "//" in next_path:
        return COOKIE_PATH
    normal = posixpath.normpath(next_path)
    if normal == COOKIE_PATH or normal.startswith(COOKIE_PATH + "/"):
        return normal
    return COOKIE_PATH


def templates() -> Environment:
    """The console's Jinja2 templates, HTML-escaped."""
    return Environment(
        loader=PackageLoader("keyhook.console", "templates"),
        autoescape=select_autoescape(default=True),
    )


class Console:
    def __init__(
        self,
        registry: Registry,
        pipeline: Pipeline,
        oidc: OidcProvider,
        client: ConsoleClient,
        box: SecretBox,
        token_access: TokenAccess,
        *,
        secure_cookies: bool,
    ) -> None:
        self.registry = registry
        self.pipeline = pipeline
        self.oidc = oidc
        self.token_access = token_access
        self.client = client
        # Live streams open in this process, per person and in all (logs.live).
        self.streams: dict[str, int] = {}
        self.sessions = Sessions(box)
        self.secure = secure_cookies
        self.templates = templates()

    # -- calling the API as the signed-in person ---------------------------------------

    async def call(
        self, session: ConsoleSession, method: str, message: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        op = self.registry.operations[method]
        return await self.pipeline.call(op, session.access_token, message or {})

    async def allowed(self, session: ConsoleSession, method: str) -> bool:
        """Whether the person's roles grant ``method`` (a control for it is offered)."""
        try:
            await self.pipeline.admitted(self.registry.operations[method], session.access_token)
        except PermissionDenied:
            return False
        return True

    async def allowed_methods(
        self, session: ConsoleSession, methods: Iterable[str]
    ) -> frozenset[str]:
        """Which of ``methods`` the person's roles grant, as :meth:`allowed` answers for
        each: one authentication, one authorization per distinct permission (a page
        that marks every operation asks dozens of questions, on a few permissions)."""
        caller = await self.pipeline.authenticate(session.access_token)
        answers: dict[tuple[str, str | None], bool] = {}
        granted = set()
        for method in methods:
            op = self.registry.operations[method]
            key = (op.permission, op.org_permission)
            if key not in answers:
                try:
                    await self.pipeline.authorizer.authorize(caller, *key)
                    answers[key] = True
                except PermissionDenied:
                    answers[key] = False
            if answers[key]:
                granted.add(method)
        return frozenset(granted)

    # -- rendering ---------------------------------------------------------------------

    def render(
        self,
        template: str,
        session: ConsoleSession | None,
        sealed: str = "",
        *,
        status: int = 200,
        **values: Any,
    ) -> HTMLResponse:
        html = self.templates.get_template(template).render(
            session=session, csrf=self.sessions.csrf(sealed) if sealed else "", **values
        )
        return HTMLResponse(
            html,
            status_code=status,
            headers={
                "Cache-Control": "no-store",
                "Content-Security-Policy": _CSP,
                "X-Frame-Options": "DENY",
                "Referrer-Policy": "same-origin",
            },
        )

    # -- sign-in -----------------------------------------------------------------------

    async def signin(self, request: Request) -> Response:
        next_path = _console_path(request.query_params.get("next", COOKIE_PATH))
        flow, sealed = self.sessions.new_flow(next_path)
        query = urlencode(
            {
                "client_id": self.client.client_id,
                "redirect_uri": self.client.redirect_uri,
                "response_type": "code",
                "scope": SCOPES,
                "state": flow.state,
                "code_challenge": challenge_of(flow.verifier),
                "code_challenge_method": "S256",
            }
        )
        response = RedirectResponse(f"/oauth/v2/authorize?{query}", status_code=303)
        response.set_cookie(
            FLOW_COOKIE,
            sealed,
            max_age=FLOW_SECONDS,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path=COOKIE_PATH,
        )
        return response

    async def callback(self, request: Request) -> Response:
        flow = self.sessions.flow(request.cookies.get(FLOW_COOKIE))
        params = request.query_params
        if flow is None or not secrets.compare_digest(params.get("state", ""), flow.state):
            return self.render(
                "message.html",
                None,
                status=400,
                title="Sign-in failed",
                message="This sign-in was not started in this browser, or took too long. "
                "Sign in again.",
            )
        if "error" in params:
            return self.render(
                "message.html",
                None,
                status=400,
                title="Sign-in failed",
                message=params.get("error_description") or params["error"],
            )
        try:
            tokens = await self.oidc.token(
                {
                    "grant_type": "authorization_code",
                    "code": params.get("code", ""),
                    "redirect_uri": self.client.redirect_uri,
                    "code_verifier": flow.verifier,
                    "client_id": self.client.client_id,
                },
                None,
                client_address(request),
            )
        except OAuthError as error:
            return self.render(
                "message.html", None, status=400, title="Sign-in failed", message=error.message
            )
        claims = _claims(tokens["id_token"])
        session = ConsoleSession(
            access_token=tokens["access_token"],
            expires_at=float(_claims(tokens["access_token"])["exp"]),
            user_id=str(claims["sub"]),
            name=str(claims.get("name") or claims.get("preferred_username") or claims["sub"]),
        )
        response = RedirectResponse(flow.next_path, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            self.sessions.seal(session),
            max_age=int(tokens.get("expires_in", 3600)),
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path=COOKIE_PATH,
        )
        response.delete_cookie(FLOW_COOKIE, path=COOKIE_PATH)
        return response

    async def signout(self, request: Request) -> Response:
        """Sign out: the console's access token is revoked (on every node at once, for
        API calls within the token cache's 0.5 s), its cookie dropped, and the browser
        sent to end its login at the provider."""
        sealed = request.cookies.get(SESSION_COOKIE, "")
        session = self.sessions.session(sealed)
        try:
            form = dict(await form_pairs(request))
        except OAuthError:
            form = {}
        if session is not None:
            if not self.sessions.csrf_ok(sealed, form.get("csrf", "")):
                return self.render(
                    "message.html",
                    session,
                    sealed,
                    status=403,
                    title="Refused",
                    message="The form could not be verified. Reload the page and try again.",
                )
            # The token or its client may be gone already: signed out anyway.
            with contextlib.suppress(KeyhookError):
                await self.token_access.revoke(
                    {"token": session.access_token, "client_id": self.client.client_id},
                    None,
                    client_address(request),
                )
        response = RedirectResponse(
            "/oidc/v1/end_session?"
            + urlencode(
                {"client_id": self.client.client_id, "post_logout_redirect_uri": self.client.home}
            ),
            status_code=303,
        )
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
        return response

    # -- the frame of every signed-in page ----------------------------------------------

    def page(
        self, handler: Page, *, writes: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            sealed = request.cookies.get(SESSION_COOKIE, "")
            session = self.sessions.session(sealed)
            if session is None:
                query = urlencode({"next": request.url.path})
                return RedirectResponse(f"{COOKIE_PATH}/signin?{query}", status_code=303)
            if writes:
                try:
                    form = dict(await form_pairs(request, FORM_BYTES, FIELD_CHARS))
                except OAuthError as error:  # not a form, or a field over the form's limits
                    return self.render(
                        "message.html",
                        session,
                        sealed,
                        status=400,
                        title="Not possible",
                        message=error.message,
                    )
                if not self.sessions.csrf_ok(sealed, form.get("csrf", "")):
                    return self.render(
                        "message.html",
                        session,
                        sealed,
                        status=403,
                        title="Refused",
                        message="The form could not be verified. Reload the page and try again.",
                    )
                request.state.form = form
            try:
                return await handler(request, session, sealed)
            except Unauthenticated:  # the token expired or was revoked: sign in again
                response = RedirectResponse(f"{COOKIE_PATH}/signin", status_code=303)
                response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
                return response
            except KeyhookError as error:  # shown as it is: what was refused, and why
                return self.render(
                    "message.html",
                    session,
                    sealed,
                    status=403 if isinstance(error, PermissionDenied) else 400,
                    title="Refused" if isinstance(error, PermissionDenied) else "Not possible",
                    message=error.message,
                )

        return endpoint

    def routes(self) -> list[BaseRoute]:
        from keyhook.console import (
            calls,
            executions,
            logs,
            pages,
            people,
            reference,
            replay,
            target_edit,
            testing,
        )

        return [
            Route(COOKIE_PATH, self.page(pages.home(self)), methods=["GET"]),
            Route(f"{COOKIE_PATH}/signin", self.signin, methods=["GET"]),
            Route(f"{COOKIE_PATH}/callback", self.callback, methods=["GET"]),
            Route(f"{COOKIE_PATH}/signout", self.signout, methods=["POST"]),
            *pages.routes(self),
            *target_edit.routes(self),
            *executions.routes(self),
            *logs.routes(self),
            *replay.routes(self),
            *calls.routes(self),
            *people.routes(self),
            *testing.routes(self),
            *reference.routes(self),
            Mount(
                f"{COOKIE_PATH}/static", app=StaticFiles(packages=[("keyhook.console", "static")])
            ),
        ]
