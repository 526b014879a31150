"""The provider's HTML pages: one frame, and the headers every page carries.

Plain, script-free HTML. The Content-Security-Policy allows inline style only
and forms that post to this server — plus, per page, the one origin its form's
answer redirects the browser to (:func:`form_source`).
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse

from keyhook.domain.hostnames import ascii_host

_CSP_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_CSP_HOST = re.compile(r"[A-Za-z0-9.-]+")
_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1b1d21;margin:0}
main{max-width:24rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;
box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin-top:0}
label{display:block;font-weight:600;margin:1rem 0 .3rem}
input{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;border:1px solid #6b7280;
border-radius:4px}
input:focus,button:focus{outline:3px solid #1d4ed8;outline-offset:2px}
button{margin-top:1.5rem;width:100%;padding:.7rem;font-size:1rem;background:#1d4ed8;color:#fff;
border:0;border-radius:4px;cursor:pointer}
.error{background:#fde8e8;color:#8a1c1c;border:1px solid #8a1c1c;padding:.7rem;border-radius:4px}
"""


def form_source(uri: str | None) -> str | None:
    """The CSP source that lets a form's redirect go to ``uri``: its origin (http, https)
    or its scheme (a native app's ``com.example.app:/cb``); None only for a URI whose
    scheme could not be written into the header safely.

    A host CSP cannot spell as it is — an internationalised name (written in its IDNA
    form), a name with ``_``, an IPv6 literal (CSP has no syntax for one) — falls back
    to the scheme alone: looser, but the sign-in must not be blocked by its own page.
    """
    if not uri:
        return None
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if not _CSP_SCHEME.fullmatch(scheme):
        return None
    if scheme not in ("http", "https"):
        return f"{scheme}:"
    try:
        host = ascii_host(parts.hostname or "")
        port = parts.port
    except ValueError:
        return f"{scheme}:"
    if not host or not _CSP_HOST.fullmatch(host):
        return f"{scheme}:"
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def page(
    title: str, body: str, status: int = 200, form_targets: tuple[str | None, ...] = ()
) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Keyhook</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    # form-action: the page's own form posts here, and Chromium applies the directive to
    # the redirect that answers the post as well, so the origin the post sends the
    # browser on to (the client's redirect URI) is allowed — that one, no other.
    sources = " ".join(dict.fromkeys(["'self'", *(s for s in map(form_source, form_targets) if s)]))
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            f"form-action {sources}; frame-ancestors 'none'",
            "Referrer-Policy": "no-referrer",
        },
    )


def message_page(title: str, message: str, status: int = 400) -> HTMLResponse:
    return page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>", status)
