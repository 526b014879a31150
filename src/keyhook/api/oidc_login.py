"""The provider's browser pages: ``/oauth/v2/authorize``, the hosted login page
(``/ui/login``) and sign-out (``/oidc/v1/end_session``).

The page is plain, accessible HTML (labelled fields, the error announced with
``role="alert"`` and tied to the fields it is about, the right ``autocomplete``
hints) with no script. Its form is protected against cross-site posting by a
double-submit token: a random ``keyhook_csrf`` cookie (HttpOnly, SameSite=Lax)
and a hidden field holding the HMAC of that cookie and the authorization request
id under a key derived from the master key, so any node can check it.

Only the browser that went through ``/oauth/v2/authorize`` may finish that
sign-in: the redirect to the page sets ``keyhook_ar_<id>`` to an HMAC of the
request id, and the page refuses a browser without it. Otherwise someone could
finish a victim's pending request with their own account (login CSRF, RFC 6749
§10.12), and the client would take the code, state and PKCE being the victim's.

A successful sign-in leaves the session's token in the ``keyhook_session``
cookie (HttpOnly, SameSite=Lax, for ``KEYHOOK_OIDC_LOGIN_LIFETIME``): the next
authorization request from the browser reuses the sign-in without the page
(single sign-on), unless the client asks ``prompt=login`` or a ``max_age`` the
sign-in is older than.

Sign-out happens at once when the ``id_token_hint`` is an ID token of the
browser's own sign-in (or the browser has none). Otherwise — no hint, or a
hint of another sign-in — the browser's sign-in ends only after the user
confirms on a page whose form carries an HMAC of the session cookie, so
another site cannot sign the user out by linking here (OpenID Connect
RP-Initiated Logout §2: the OP should ask).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from keyhook.api.forms import form_pairs, query_params, single_valued
from keyhook.api.oidc_endpoints import client_address
from keyhook.api.pages import message_page, page
from keyhook.domain.user import PASSWORD_MAX, PASSWORD_MIN, PASSWORD_RULES, validate_password
from keyhook.errors import (
    FailedPrecondition,
    InvalidArgument,
    KeyhookError,
    NotFound,
    OAuthError,
    PasswordChangeRequired,
    TooManyAttempts,
)
from keyhook.services.oidc import AuthorizePageError, OidcProvider, Redirect
from keyhook.services.oidc_access import TokenAccess

LOGIN_PATH = "/ui/login"
LOGOUT_PATH = "/oidc/v1/end_session"
CSRF_COOKIE = "keyhook_csrf"
# + the request id: a browser may have several sign-ins under way (tabs).
BINDING_COOKIE = "keyhook_ar_"
SESSION_COOKIE = "keyhook_session"
WRONG_CREDENTIALS = "The user name or password is not correct."
# Redirects that carry a code or set a sign-in cookie are never cached.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class LoginForm:
    def __init__(self, provider: OidcProvider, csrf_key: bytes, secure_cookies: bool) -> None:
        self.provider = provider
        self.csrf_key = csrf_key
        self.secure = secure_cookies

    def _csrf_field(self, cookie: str, auth_request_id: str) -> str:
        mac = hmac.new(self.csrf_key, f"{cookie}:{auth_request_id}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def render(
        self,
        auth_request_id: str,
        cookie: str,
        *,
        redirect_uri: str,
        login_name: str = "",
        error: str | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        described, alert = _error_parts(error)
        body = (
            "<h1>Sign in</h1>"
            f"{alert}"
            f'<form method="post" action="{LOGIN_PATH}" novalidate>'
            f'<input type="hidden" name="authRequest" value="{escape(auth_request_id)}">'
            f'<input type="hidden" name="csrf" value="{self._csrf_field(cookie, auth_request_id)}">'
            '<label for="loginName">User name</label>'
            '<input id="loginName" name="loginName" type="text" autocomplete="username" '
            f'required autofocus value="{escape(login_name)}"{described}>'
            '<label for="password">Password</label>'
            '<input id="password" name="password" type="password" '
            f'autocomplete="current-password" required{described}>'
            '<button type="submit">Sign in</button>'
            "</form>"
        )
        response = page("Sign in", body, status, (redirect_uri,))
        return self._with_csrf_cookie(response, cookie)

    def render_change(
        self,
        auth_request_id: str,
        cookie: str,
        *,
        redirect_uri: str,
        login_name: str,
        error: str | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        """The form a user whose password must change signs in with: the current
        password again (as ZITADEL's login asks) and the new one twice, with the rules."""
        described, alert = _error_parts(error)
        rules = f"At least {PASSWORD_MIN} and at most {PASSWORD_MAX} characters."
        new_described = (
            ' aria-describedby="password-rules login-error" aria-invalid="true"'
            if error
            else ' aria-describedby="password-rules"'
        )
        body = (
            "<h1>Set a new password</h1>"
            "<p>Your password must be changed before you sign in. Enter your current "
            "password and choose a new one.</p>"
            f"{alert}"
            f'<form method="post" action="{LOGIN_PATH}" novalidate>'
            f'<input type="hidden" name="authRequest" value="{escape(auth_request_id)}">'
            f'<input type="hidden" name="csrf" value="{self._csrf_field(cookie, auth_request_id)}">'
            '<input type="hidden" name="step" value="change-password">'
            '<label for="loginName">User name</label>'
            '<input id="loginName" name="loginName" type="text" autocomplete="username" '
            f'readonly value="{escape(login_name)}">'
            '<label for="password">Current password</label>'
            '<input id="password" name="password" type="password" '
            f'autocomplete="current-password" required autofocus{described}>'
            '<label for="newPassword">New password</label>'
            '<input id="newPassword" name="newPassword" type="password" '
            f'autocomplete="new-password" required minlength="{PASSWORD_MIN}" '
            f'maxlength="{PASSWORD_MAX}"{new_described}>'
            '<label for="confirmPassword">New password again</label>'
            '<input id="confirmPassword" name="confirmPassword" type="password" '
            f'autocomplete="new-password" required{described}>'
            f'<p id="password-rules" class="hint">{escape(rules)} '
            "It must differ from the current one.</p>"
            '<button type="submit">Change password and sign in</button>'
            "</form>"
        )
        response = page("Set a new password", body, status, (redirect_uri,))
        return self._with_csrf_cookie(response, cookie)

    def _with_csrf_cookie(self, response: HTMLResponse, cookie: str) -> HTMLResponse:
        response.set_cookie(
            CSRF_COOKIE,
            cookie,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path=LOGIN_PATH,
        )
        return response

    def binding(self, auth_request_id: str) -> str:
        """The value of the cookie that ties an authorization request to its browser."""
        mac = hmac.new(self.csrf_key, f"auth-request:{auth_request_id}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def bind(self, response: Response, auth_request_id: str) -> None:
        """Give the browser that started the request the cookie that alone may finish it."""
        response.set_cookie(
            BINDING_COOKIE + auth_request_id,
            self.binding(auth_request_id),
            max_age=int(self.provider.tokens.lifetimes.auth_request.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path=LOGIN_PATH,
        )

    def _bound(self, request: Request, auth_request_id: str) -> bool:
        presented = request.cookies.get(BINDING_COOKIE + auth_request_id, "")
        return _plausible_id(auth_request_id) and hmac.compare_digest(
            presented, self.binding(auth_request_id)
        )

    async def show(self, request: Request) -> Response:
        auth_request_id = request.query_params.get("authRequest", "")
        if not self._bound(request, auth_request_id):
            return _not_this_browser()
        pending = await self.provider.pending_request(auth_request_id)
        if pending is None:
            return message_page(
                "Sign-in expired",
                "This sign-in request has expired or was already used. "
                "Go back to the application and start again.",
            )
        cookie = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        return self.render(auth_request_id, cookie, redirect_uri=pending.redirect_uri)

    async def submit(self, request: Request) -> Response:
        try:
            form = dict(await form_pairs(request))
        except OAuthError as error:
            return message_page("Sign-in refused", error.message)
        auth_request_id = form.get("authRequest", "")
        if not self._bound(request, auth_request_id):
            return _not_this_browser()
        cookie = request.cookies.get(CSRF_COOKIE, "")
        expected = self._csrf_field(cookie, auth_request_id) if cookie else ""
        if not cookie or not hmac.compare_digest(expected, form.get("csrf", "")):
            return message_page(
                "Sign-in refused",
                "The form could not be verified (missing or wrong CSRF token). "
                "Reload the sign-in page and try again; cookies must be enabled.",
                status=403,
            )
        pending = await self.provider.pending_request(auth_request_id)
        if pending is None:
            return message_page(
                "Sign-in expired",
                "This sign-in request has expired or was already used. "
                "Go back to the application and start again.",
            )
        redirect_uri = str(pending.redirect_uri)
        login_name = form.get("loginName", "").strip()
        password = form.get("password", "")
        new_password: str | None = None
        if form.get("step") == "change-password":
            new_password = form.get("newPassword", "")
            problem = _new_password_problem(password, new_password, form.get("confirmPassword", ""))
            if problem is not None:
                return self.render_change(
                    auth_request_id,
                    cookie,
                    redirect_uri=redirect_uri,
                    login_name=login_name,
                    error=problem,
                    status=400,
                )
        if not login_name or not password:
            return self.render(
                auth_request_id,
                cookie,
                redirect_uri=redirect_uri,
                login_name=login_name,
                error="Enter your user name and your password.",
                status=400,
            )
        try:
            redirect, session_token = await self.provider.sign_in(
                auth_request_id, login_name, password, client_address(request), new_password
            )
        except PasswordChangeRequired:
            return self.render_change(
                auth_request_id, cookie, redirect_uri=redirect_uri, login_name=login_name
            )
        except TooManyAttempts as error:
            page = self.render(
                auth_request_id,
                cookie,
                redirect_uri=redirect_uri,
                login_name=login_name,
                error="Too many failed sign-in attempts. "
                f"Try again in {error.retry_after} seconds.",
                status=429,
            )
            page.headers["Retry-After"] = str(error.retry_after)
            return page
        except (NotFound, InvalidArgument):
            # The same words for an unknown user and a wrong password: no user enumeration.
            if new_password is not None:  # on the change form: stay there
                return self.render_change(
                    auth_request_id,
                    cookie,
                    redirect_uri=redirect_uri,
                    login_name=login_name,
                    error=WRONG_CREDENTIALS,
                    status=401,
                )
            return self.render(
                auth_request_id,
                cookie,
                redirect_uri=redirect_uri,
                login_name=login_name,
                error=WRONG_CREDENTIALS,
                status=401,
            )
        except FailedPrecondition as refusal:
            message = _sign_in_refusal(refusal)
            return self.render(
                auth_request_id,
                cookie,
                redirect_uri=redirect_uri,
                login_name=login_name,
                error=message,
                # The wrong-password status too, so the status tells no more than the text.
                status=401 if message == WRONG_CREDENTIALS else 403,
            )
        response = RedirectResponse(redirect.location, status_code=303, headers=_NO_STORE)
        # Single sign-on: later authorization requests from this browser reuse the sign-in.
        response.set_cookie(
            SESSION_COOKIE,
            session_token,
            max_age=int(self.provider.tokens.lifetimes.login.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )
        return response


def _not_this_browser() -> HTMLResponse:
    # The same answer whether the request exists or not: ids cannot be probed here.
    return message_page(
        "Sign-in refused",
        "This sign-in was not started in this browser (or cookies are turned off). "
        "Go back to the application and start again.",
        status=403,
    )


def _plausible_id(value: str) -> bool:
    return value.isdigit() and len(value) <= 20  # ids are decimal strings


def _error_parts(error: str | None) -> tuple[str, str]:
    """The fields' attributes pointing at the error, and the error's alert element."""
    if not error:
        return "", ""
    return (
        ' aria-describedby="login-error" aria-invalid="true"',
        f'<p id="login-error" class="error" role="alert">{escape(error)}</p>',
    )


def _new_password_problem(current: str, new: str, confirmed: str) -> str | None:
    """What is wrong with a new password chosen on the page, in words for it."""
    if not current:
        return "Enter your current password."
    try:
        validate_password(new, "newPassword")
    except InvalidArgument:
        return f"The new password must be {PASSWORD_RULES} long."
    if new != confirmed:
        return "The two new passwords are not the same."
    if new == current:
        return "The new password must differ from the current one."
    return None


def _sign_in_refusal(error: KeyhookError) -> str:
    # By the machine-readable problem, not the message (which holds the user name).
    problems = {str(detail.get("problem")) for detail in error.details}
    if "user is locked" in problems:
        return "This account is locked. Ask an administrator to unlock it."
    if "user is deactivated" in problems:
        return "This account is deactivated. Ask an administrator to reactivate it."
    if error.message.startswith("this sign-in request has expired"):
        return error.message
    # Anything else (a machine user, a user without a password) says no more than a
    # wrong password does.
    return WRONG_CREDENTIALS


class SignOut:
    def __init__(self, access: TokenAccess, csrf_key: bytes) -> None:
        self.access = access
        self.csrf_key = csrf_key

    def _csrf(self, session_cookie: str) -> str:
        return hmac.new(
            self.csrf_key, f"sign-out:{session_cookie}".encode(), hashlib.sha256
        ).hexdigest()

    def _confirm_page(
        self, params: dict[str, str], session_cookie: str, then: Redirect | None
    ) -> HTMLResponse:
        kept = "".join(
            f'<input type="hidden" name="{name}" value="{escape(params[name])}">'
            for name in ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")
            if params.get(name)
        )
        body = (
            "<h1>Sign out?</h1><p>You are signed in. Sign out of every application "
            "that uses this sign-in?</p>"
            f'<form method="post" action="{LOGOUT_PATH}">'
            f'<input type="hidden" name="csrf" value="{self._csrf(session_cookie)}">{kept}'
            '<button type="submit">Sign out</button></form>'
        )
        return page("Sign out", body, form_targets=(then.location if then else None,))

    async def handle(self, request: Request) -> Response:
        try:
            if request.method == "POST":
                params = await single_valued(request)
            else:
                params = query_params(request)
        except OAuthError as error:
            return message_page("Sign-out refused", error.message)
        cookie = request.cookies.get(SESSION_COOKIE)
        try:
            wanted = await self.access.sign_out_request(params)
        except AuthorizePageError as error:
            return message_page("Sign-out refused", str(error))
        own = await self.access.own_session(cookie)
        # The browser's own sign-in ends without asking only when the client proved, with
        # an ID token of that very sign-in, that it means it (RP-Initiated Logout §2);
        # otherwise the user confirms, so a link from another site signs nobody out.
        if own is not None and wanted.hint_session_id != own:
            assert cookie is not None
            if "csrf" not in params:
                return self._confirm_page(params, cookie, wanted.redirect)
            if not hmac.compare_digest(params["csrf"], self._csrf(cookie)):
                return message_page(
                    "Sign-out refused",
                    "The form could not be verified. Reload the page and try again.",
                    status=403,
                )
        ended = {sid for sid in (wanted.hint_session_id, own) if sid is not None}
        await self.access.sign_out(ended)
        response: Response
        if wanted.redirect is not None:
            response = RedirectResponse(
                wanted.redirect.location, status_code=302, headers=_NO_STORE
            )
        else:
            response = message_page("Signed out", "You are signed out.", status=200)
        if cookie is not None:  # its session is ended now, or was gone already
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response


def routes(
    provider: OidcProvider, access: TokenAccess, csrf_key: bytes, secure_cookies: bool
) -> list[BaseRoute]:
    login = LoginForm(provider, csrf_key, secure_cookies)
    sign_out = SignOut(access, csrf_key)

    async def authorize(request: Request) -> Response:
        try:
            if request.method == "POST":
                params = await single_valued(request)
            else:
                params = query_params(request)
            outcome = await provider.authorize(params, request.cookies.get(SESSION_COOKIE))
        except (AuthorizePageError, OAuthError) as error:
            return message_page("Sign-in request refused", str(error))
        if isinstance(outcome, Redirect):
            return RedirectResponse(outcome.location, status_code=302, headers=_NO_STORE)
        response = RedirectResponse(
            f"{LOGIN_PATH}?authRequest={outcome.auth_request_id}",
            status_code=302,
            headers=_NO_STORE,
        )
        login.bind(response, outcome.auth_request_id)
        return response

    return [
        Route("/oauth/v2/authorize", authorize, methods=["GET", "POST"]),
        Route(LOGIN_PATH, login.show, methods=["GET"]),
        Route(LOGIN_PATH, login.submit, methods=["POST"]),
        Route(LOGOUT_PATH, sign_out.handle, methods=["GET", "POST"]),
    ]
