"""OAuth 2.0 and OpenID Connect rules: scopes, PKCE, redirect URIs, standard claims.

Pure functions shared by the authorize, token and userinfo endpoints. Every
refusal is an :class:`OAuthError` carrying the registered error code a client
library branches on (RFC 6749 §4.1.2.1 and §5.2) and a sentence saying which
parameter is wrong and what is allowed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from keyhook.errors import OAuthError

OPENID = "openid"
OFFLINE_ACCESS = "offline_access"
# ZITADEL's scope for a token that may call the instance's API (its ``aud`` then holds
# the instance's id); Keyhook's API refuses access tokens without it.
API_AUDIENCE_SCOPE = "urn:zitadel:iam:org:project:id:zitadel:aud"
PROJECT_SCOPE_PREFIX = "urn:zitadel:iam:org:project:id:"
AUD_SUFFIX = ":aud"
# Scopes whose claims Keyhook knows; others are granted as asked (a resource server
# may use them) and add no claims.
KNOWN_SCOPES = frozenset({OPENID, "profile", "email", OFFLINE_ACCESS})
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 §3.3 scope-token
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 §4.1
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url of a SHA-256, no padding


def parse_scopes(raw: str | None, *, require_openid: bool) -> tuple[str, ...]:
    """The requested scopes in order, without duplicates."""
    scopes: list[str] = []
    for token in (raw or "").split(" "):
        if not token:
            continue
        if not _SCOPE_TOKEN.match(token):
            raise OAuthError("invalid_scope", f"scope {token!r} has characters RFC 6749 forbids")
        if token not in scopes:
            scopes.append(token)
    if require_openid and OPENID not in scopes:
        raise OAuthError(
            "invalid_scope",
            "scope must include 'openid' (allowed: openid, profile, email, offline_access)",
        )
    return tuple(scopes)


def narrowed_scopes(granted: Iterable[str], raw: str | None) -> tuple[str, ...]:
    """The scopes a refresh asks for: a subset of the granted ones (RFC 6749 §6)."""
    granted = tuple(granted)
    if not raw:
        return granted
    asked = parse_scopes(raw, require_openid=False)
    extra = [s for s in asked if s not in granted]
    if extra:
        raise OAuthError(
            "invalid_scope",
            f"scope {' '.join(extra)!r} was not granted (allowed: {' '.join(granted)})",
        )
    return asked


def check_code_challenge(challenge: str | None, method: str | None, *, required: bool) -> None:
    """Validate the PKCE parameters of an authorization request (RFC 7636 §4.3)."""
    if challenge is None:
        if method is not None:
            raise OAuthError(
                "invalid_request", "code_challenge_method is given without code_challenge"
            )
        if required:
            raise OAuthError(
                "invalid_request",
                "code_challenge is required: this client is public and must use PKCE "
                "(allowed: code_challenge_method=S256)",
            )
        return
    if (method or "plain") != "S256":
        raise OAuthError(
            "invalid_request",
            f"code_challenge_method {method or 'plain'!r} is not supported (allowed: S256)",
        )
    if not _CHALLENGE.match(challenge):
        raise OAuthError(
            "invalid_request",
            "code_challenge must be the unpadded base64url SHA-256 of the verifier (43 chars)",
        )


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_code_verifier(verifier: str | None, challenge: str | None) -> None:
    """The token request's ``code_verifier`` against the stored challenge."""
    if challenge is None:
        if verifier is not None:
            raise OAuthError("invalid_grant", "code_verifier was sent but the code had no PKCE")
        return
    if verifier is None:
        raise OAuthError("invalid_grant", "code_verifier is required: the code was PKCE-bound")
    if not _VERIFIER.match(verifier):
        raise OAuthError(
            "invalid_grant", "code_verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~"
        )
    if not hmac.compare_digest(s256(verifier), challenge):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")


def at_hash(access_token: str, algorithm: str = "ES256") -> str:
    """OpenID Connect Core §3.1.3.6: the left half of the hash the ID token's algorithm
    uses (SHA-256 for RS256 and ES256, SHA-384, SHA-512; SHA-512 for EdDSA with
    Ed25519), base64url."""
    size = "512" if algorithm == "EdDSA" else algorithm[-3:]
    digest = hashlib.new(f"sha{size}", access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


RESOURCE_OWNER_SCOPE = "urn:zitadel:iam:user:resourceowner"


def resource_owner_claims(org: Mapping[str, str], scopes: Iterable[str]) -> dict[str, str]:
    """ZITADEL's claims of the user's organization, for the scope
    ``urn:zitadel:iam:user:resourceowner``: its id, name and primary domain."""
    if RESOURCE_OWNER_SCOPE not in scopes:
        return {}
    return {
        f"{RESOURCE_OWNER_SCOPE}:id": org["id"],
        f"{RESOURCE_OWNER_SCOPE}:name": org["name"],
        f"{RESOURCE_OWNER_SCOPE}:primary_domain": org["primary_domain"],
    }


def project_audiences(scopes: Iterable[str]) -> list[str]:
    """The project ids of the scopes ``urn:zitadel:iam:org:project:id:{projectId}:aud``
    (ZITADEL's project audience scope), in order; not the instance's API scope
    (:data:`API_AUDIENCE_SCOPE`)."""
    ids: list[str] = []
    for scope in scopes:
        if scope.startswith(PROJECT_SCOPE_PREFIX) and scope.endswith(AUD_SUFFIX):
            project_id = scope[len(PROJECT_SCOPE_PREFIX) : -len(AUD_SUFFIX)]
            if project_id and project_id != "zitadel" and project_id not in ids:
                ids.append(project_id)
    return ids


@dataclass(frozen=True)
class Profile:
    """What the standard claims of a user are made from (a row of the users table)."""

    user_id: str
    user_name: str
    given_name: str
    family_name: str
    display_name: str
    nick_name: str
    preferred_language: str
    email: str
    email_verified: bool
    updated_at: datetime


def standard_claims(profile: Profile, scopes: Iterable[str]) -> dict[str, Any]:
    """The claims the ``profile`` and ``email`` scopes give (OpenID Connect Core §5.4)."""
    scopes = set(scopes)
    claims: dict[str, Any] = {}
    if "profile" in scopes:
        for name, value in (
            ("name", profile.display_name),
            ("given_name", profile.given_name),
            ("family_name", profile.family_name),
            ("nickname", profile.nick_name),
            ("locale", profile.preferred_language),
        ):
            if value:
                claims[name] = value
        claims["preferred_username"] = profile.user_name
        claims["updated_at"] = int(profile.updated_at.timestamp())
    if "email" in scopes and profile.email:
        claims["email"] = profile.email
        claims["email_verified"] = profile.email_verified
    return claims


def _loopback_without_port(uri: str) -> str | None:
    """``uri`` without its port when it is ``http://`` on a loopback IP address."""
    parts = urlsplit(uri)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "::1"):
        return None
    try:
        if parts.port is None:
            return uri
    except ValueError:
        return None
    host = "[::1]" if parts.hostname == "::1" else parts.hostname
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def check_redirect_uri(
    redirect_uri: str | None, registered: Iterable[str], native: bool = False
) -> str:
    """The redirect URI, compared exactly with the client's (RFC 6749 §3.1.2.3); for a
    native app, an ``http://`` loopback IP address matches on any port (RFC 8252 §7.3:
    the app only learns its port when it binds it)."""
    registered = tuple(registered)
    if not redirect_uri:
        raise OAuthError("invalid_request", "redirect_uri is required")
    portless = _loopback_without_port(redirect_uri) if native else None
    if redirect_uri not in registered and (portless is None or portless not in registered):
        raise OAuthError(
            "invalid_request",
            f"redirect_uri {redirect_uri!r} is not registered for this client "
            f"(allowed: {', '.join(registered) or 'none registered'})",
        )
    return redirect_uri


def form_value(form: Mapping[str, str], name: str) -> str | None:
    """A form parameter; empty counts as absent (RFC 6749 §3.1)."""
    value = form.get(name)
    return value if value else None
