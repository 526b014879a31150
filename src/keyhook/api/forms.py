"""Reading ``application/x-www-form-urlencoded`` bodies (OAuth requests, the login form).

Parsed with the standard library rather than a multipart parser: OAuth and the
login page only ever send URL-encoded forms. Bodies are capped, as everywhere.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from keyhook.errors import OAuthError

FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 64 * 1024
MAX_VALUE_CHARS = 4096  # longer than any state, nonce, code, token or URI Keyhook accepts


def checked(
    pairs: list[tuple[str, str]], max_value_chars: int = MAX_VALUE_CHARS
) -> list[tuple[str, str]]:
    """Parameters a database can hold and a human can read: no NUL, none overlong."""
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            raise OAuthError("invalid_request", f"parameter {key[:40]!r} contains a NUL character")
        if len(value) > max_value_chars:
            raise OAuthError(
                "invalid_request", f"parameter {key[:40]!r} is over {max_value_chars} characters"
            )
    return pairs


def query_params(request: Request) -> dict[str, str]:
    """The query string as a mapping, checked like a form; a repeated parameter is refused."""
    return _single(checked(request.query_params.multi_items()))


async def form_pairs(
    request: Request,
    max_form_bytes: int = MAX_FORM_BYTES,
    max_value_chars: int = MAX_VALUE_CHARS,
) -> list[tuple[str, str]]:
    """The form's (name, value) pairs in order; an OAuth ``invalid_request`` if not a form.
    The limits are OAuth's and the login page's unless a caller (the console, whose
    fields carry header values and test payloads) names its own."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM:
        raise OAuthError(
            "invalid_request", f"the body must be {FORM} (RFC 6749 §3.2), not {content_type!r}"
        )
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_form_bytes:
            raise OAuthError("invalid_request", f"the form is over {max_form_bytes} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise OAuthError("invalid_request", "the form is not UTF-8") from None
    return checked(parse_qsl(text, keep_blank_values=True), max_value_chars)


async def single_valued(request: Request) -> dict[str, str]:
    """The form as a mapping; a repeated parameter is refused (RFC 6749 §3.1)."""
    return _single(await form_pairs(request))


def _single(pairs: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in pairs:
        if key in values:
            raise OAuthError("invalid_request", f"parameter {key!r} is repeated (RFC 6749 §3.1)")
        values[key] = value
    return values
