"""Where an OpenID Connect application may send the browser back to.

Every app type: an absolute URI without a fragment (RFC 6749 §3.1.2) and
without ``user:password@`` (it only serves to disguise the host a user sees),
and never a scheme that runs script or reads local data in the browser
(``javascript:``, ``data:``, ``file:`` …): a code or a session would land there.
Then ``https://``; ``http://`` on a loopback host, or on any host with
``devMode``; and, for native apps only, a private-use scheme in reverse-DNS
form such as ``com.example.app:/callback`` (RFC 8252 §7.1), which an operating
system hands to the app that registered it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from keyhook.errors import field_error

MAX_LENGTH = 2048
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
# A domain name reversed: two or more labels (RFC 8252 §7.1).
_REVERSE_DNS = re.compile(r"[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)+")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_BROWSER_LOCAL = {
    "javascript",
    "vbscript",
    "livescript",
    "data",
    "file",
    "blob",
    "about",
    "filesystem",
    "view-source",
    "mhtml",
}
LOOPBACK_HTTP = "http:// on a loopback host (localhost, 127.0.0.1, [::1])"
PRIVATE_USE = "a private-use scheme in reverse-DNS form (com.example.app:/callback, RFC 8252 §7.1)"


def allowed_for(app_type: str) -> str:
    if app_type == "native":
        return f"https://, {LOOPBACK_HTTP}, or {PRIVATE_USE}"
    return f"https://, or {LOOPBACK_HTTP} (any host with devMode: true)"


def check_redirect_uri(field: str, uri: str, app_type: str, dev_mode: bool) -> str:
    """``uri`` if an app of ``app_type`` may use it; an error naming ``field`` otherwise."""
    allowed = allowed_for(app_type)
    if len(uri) > MAX_LENGTH:
        raise field_error(field, f"is longer than {MAX_LENGTH} characters", allowed)
    if any(c.isspace() or not c.isprintable() for c in uri):
        raise field_error(field, "must not contain spaces or control characters", allowed)
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError as exc:
        raise field_error(field, f"{uri!r} is not a valid URI: {exc}", allowed) from None
    scheme = parts.scheme
    if not scheme or not _SCHEME.fullmatch(scheme) or "#" in uri:
        raise field_error(field, f"{uri!r} is not an absolute URI without a fragment", allowed)
    if scheme in _BROWSER_LOCAL:
        raise field_error(
            field,
            f"{uri!r} has scheme {scheme}:, which runs script or reads local data in the "
            "browser, so it is never a redirect URI",
            allowed,
        )
    if "@" in parts.netloc:
        raise field_error(
            field, f"{uri!r} carries user information (user@ or user:password@)", allowed
        )
    if scheme in ("https", "http"):
        if not parts.hostname:
            raise field_error(field, f"{uri!r} has no host", allowed)
        if scheme == "https" or dev_mode or parts.hostname in _LOOPBACK:
            return uri
        raise field_error(field, f"{uri!r} uses http:// on a non-loopback host", allowed)
    if app_type != "native":
        raise field_error(
            field, f"{uri!r} has scheme {scheme}:; private-use schemes are for native apps", allowed
        )
    if not _REVERSE_DNS.fullmatch(scheme):
        raise field_error(
            field, f"{uri!r} has scheme {scheme}:, which is not a reverse-DNS name", allowed
        )
    return uri
