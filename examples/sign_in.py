"""Sign in on Keyhook's login page without a browser, as a script would.

Usage: python3 examples/sign_in.py AUTHORIZE_URL LOGIN_NAME < password

The password is read from standard input (asked for, unechoed, on a terminal),
never from the command line, where other users' ``ps`` would see it.

Follows the authorization request to Keyhook's login page, submits the user name
and password like a browser (keeping the page's cookie and hidden fields), and
prints the authorization code from the redirect to the application's
``redirect_uri`` — nothing needs to listen there. Exits with Keyhook's message
when the sign-in fails (a wrong password counts towards the lockout like any
other). Every request stays on the authorize URL's scheme, host and port: the
password is posted nowhere else. Python's standard library only, like the
README's tour.
"""

from __future__ import annotations

import getpass
import sys
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from http.cookiejar import CookieJar


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # each redirect is looked at, and followed, here


class _LoginForm(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.error = ""
        self._in_error = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.action = found.get("action") or ""
        elif tag == "input" and found.get("type") == "hidden" and found.get("name"):
            self.fields[str(found["name"])] = found.get("value") or ""
        elif tag == "p" and found.get("role") == "alert":
            self._in_error = True

    def handle_data(self, data: str) -> None:
        if self._in_error:
            self.error += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._in_error = False


def _open(
    opener: urllib.request.OpenerDirector, request: urllib.request.Request
) -> tuple[int, str, str]:
    """Status, Location and body of one request, redirects not followed."""
    try:
        with opener.open(request) as answer:
            return answer.status, answer.headers.get("Location", ""), answer.read().decode()
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers.get("Location", ""), answer.read().decode()


def sign_in(authorize_url: str, login_name: str, password: str) -> str:
    if urllib.parse.urlsplit(authorize_url).scheme not in ("http", "https"):
        raise SystemExit("sign_in: the authorize URL must be http:// or https://")
    opener = urllib.request.build_opener(
        _NoRedirects, urllib.request.HTTPCookieProcessor(CookieJar())
    )
    origin = _origin(authorize_url)
    url = authorize_url
    for _ in range(5):  # the authorize endpoint redirects to the login page
        status, location, body = _open(opener, urllib.request.Request(url))  # noqa: S310 (scheme checked)
        next_url = urllib.parse.urljoin(url, location)
        if status not in (302, 303) or _origin(next_url) != origin or "/ui/login" not in location:
            break
        url = next_url
    else:
        raise SystemExit("sign_in: too many redirects")
    if "code=" in location:  # already signed in (single sign-on)
        return _code(location)
    if status != 200:
        raise SystemExit(f"sign_in: the authorize request failed ({status}): {body[:300]}")
    form = _LoginForm()
    form.feed(body)
    data = urllib.parse.urlencode(
        {**form.fields, "loginName": login_name, "password": password}
    ).encode()
    action = urllib.parse.urljoin(url, form.action)
    if _origin(action) != origin:
        raise SystemExit(f"sign_in: the login form posts to another server ({_origin(action)})")
    status, location, body = _open(
        opener,
        urllib.request.Request(action, data=data),  # noqa: S310 (same origin, checked)
    )
    if status in (302, 303) and "code=" in location:
        return _code(location)
    answer = _LoginForm()
    answer.feed(body)
    raise SystemExit(f"sign_in: {answer.error.strip() or f'the login page answered {status}'}")


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.netloc


def _code(location: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]


def _password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print(sign_in(sys.argv[1], sys.argv[2], _password()))
