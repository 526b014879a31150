"""OpenID Connect applications: the rules a client's settings must meet.

Names follow ZITADEL's API (``OIDC_APP_TYPE_WEB``, ``OIDC_GRANT_TYPE_REFRESH_TOKEN``,
…); stored in short form (``web``, ``refresh_token``). A client with auth method
``none`` is public: it has no secret and must use PKCE (S256).
"""

from __future__ import annotations

from dataclasses import dataclass

from keyhook.domain.redirect_uris import check_redirect_uri
from keyhook.domain.web_keys import check_algorithm
from keyhook.errors import field_error

APP_TYPES = {
    "OIDC_APP_TYPE_WEB": "web",
    "OIDC_APP_TYPE_USER_AGENT": "user_agent",
    "OIDC_APP_TYPE_NATIVE": "native",
}
AUTH_METHODS = {
    "OIDC_AUTH_METHOD_TYPE_BASIC": "basic",
    "OIDC_AUTH_METHOD_TYPE_POST": "post",
    "OIDC_AUTH_METHOD_TYPE_NONE": "none",
}
GRANT_TYPES = {
    "OIDC_GRANT_TYPE_AUTHORIZATION_CODE": "authorization_code",
    "OIDC_GRANT_TYPE_REFRESH_TOKEN": "refresh_token",
}
UNSUPPORTED_GRANTS = {
    "OIDC_GRANT_TYPE_IMPLICIT",
    "OIDC_GRANT_TYPE_DEVICE_CODE",
    "OIDC_GRANT_TYPE_TOKEN_EXCHANGE",
}
RESPONSE_TYPES = {"OIDC_RESPONSE_TYPE_CODE": "code"}
TOKEN_TYPES = {"OIDC_TOKEN_TYPE_JWT": "jwt", "OIDC_TOKEN_TYPE_BEARER": "bearer"}


def _one(field: str, value: str, table: dict[str, str]) -> str:
    if value in table:
        return table[value]
    if value in table.values():
        return value
    raise field_error(field, f"{value!r} is not known", ", ".join(table))


@dataclass(frozen=True)
class OidcSettings:
    app_type: str
    auth_method: str
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    access_token_type: str
    # id_token_signed_response_alg; None: RS256, the OpenID Connect default
    id_token_alg: str | None = None

    @property
    def public(self) -> bool:
        return self.auth_method == "none"


def oidc_settings(
    *,
    app_type: str,
    auth_method: str,
    grant_types: list[str],
    response_types: list[str],
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str],
    access_token_type: str,
    dev_mode: bool,
    id_token_alg: str | None = None,
) -> OidcSettings:
    kind = _one("oidcRequest.appType", app_type, APP_TYPES)
    method = _one("oidcRequest.authMethodType", auth_method, AUTH_METHODS)
    grants: list[str] = []
    for i, grant in enumerate(grant_types or ["OIDC_GRANT_TYPE_AUTHORIZATION_CODE"]):
        if grant in UNSUPPORTED_GRANTS:
            raise field_error(
                f"oidcRequest.grantTypes[{i}]", f"{grant} is not supported", ", ".join(GRANT_TYPES)
            )
        grants.append(_one(f"oidcRequest.grantTypes[{i}]", grant, GRANT_TYPES))
    if "refresh_token" in grants and "authorization_code" not in grants:
        raise field_error(
            "oidcRequest.grantTypes",
            "refresh tokens need the authorization code grant",
            "add OIDC_GRANT_TYPE_AUTHORIZATION_CODE",
        )
    responses = [
        _one(f"oidcRequest.responseTypes[{i}]", r, RESPONSE_TYPES)
        for i, r in enumerate(response_types or ["OIDC_RESPONSE_TYPE_CODE"])
    ]
    if kind in ("user_agent", "native") and method != "none":
        raise field_error(
            "oidcRequest.authMethodType",
            f"a {kind} app cannot keep a secret",
            "OIDC_AUTH_METHOD_TYPE_NONE (PKCE)",
        )
    if "authorization_code" in grants and not redirect_uris:
        raise field_error(
            "oidcRequest.redirectUris",
            "is empty",
            "one or more redirect URIs for the authorization code grant",
        )
    uris = tuple(
        check_redirect_uri(f"oidcRequest.redirectUris[{i}]", u, kind, dev_mode)
        for i, u in enumerate(redirect_uris)
    )
    logout = tuple(
        check_redirect_uri(f"oidcRequest.postLogoutRedirectUris[{i}]", u, kind, dev_mode)
        for i, u in enumerate(post_logout_redirect_uris)
    )
    return OidcSettings(
        app_type=kind,
        auth_method=method,
        grant_types=tuple(dict.fromkeys(grants)),
        response_types=tuple(dict.fromkeys(responses)),
        redirect_uris=uris,
        post_logout_redirect_uris=logout,
        access_token_type=_one("oidcRequest.accessTokenType", access_token_type, TOKEN_TYPES),
        id_token_alg=check_algorithm("oidcRequest.idTokenSignedResponseAlg", id_token_alg),
    )
