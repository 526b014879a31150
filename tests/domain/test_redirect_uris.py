from __future__ import annotations

import pytest

from keyhook.domain.redirect_uris import check_redirect_uri
from keyhook.errors import InvalidArgument

FIELD = "oidcRequest.redirectUris[0]"
APP_TYPES = ("web", "user_agent", "native")


def refused(uri: str, app_type: str, dev_mode: bool = False) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        check_redirect_uri(FIELD, uri, app_type, dev_mode)
    assert caught.value.details[0]["field"] == FIELD
    assert "https://" in caught.value.details[0]["allowed"]
    return caught.value


@pytest.mark.parametrize("app_type", APP_TYPES)
@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example.com/callback",
        "https://app.example.com:8443/cb?x=1",
        "http://localhost:3000/callback",
        "http://127.0.0.1:51004/callback",
        "http://[::1]:8080/cb",
    ],
)
def test_https_and_loopback_http_are_allowed_for_every_app(app_type: str, uri: str) -> None:
    assert check_redirect_uri(FIELD, uri, app_type, dev_mode=False) == uri


@pytest.mark.parametrize(
    "uri", ["com.example.app:/callback", "com.example.app://callback", "io.keyhook.cli:/oauth"]
)
def test_native_apps_may_use_reverse_dns_private_use_schemes(uri: str) -> None:
    assert check_redirect_uri(FIELD, uri, "native", dev_mode=False) == uri
    for app_type in ("web", "user_agent"):
        assert "native apps" in refused(uri, app_type).message


@pytest.mark.parametrize("app_type", APP_TYPES)
@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(document.cookie)",
        "JavaScript://%0aalert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "blob:https://app.example.com/uuid",
        "about:blank",
        "view-source:https://app.example.com/",
    ],
)
def test_schemes_that_run_in_the_browser_are_refused_for_every_app(app_type: str, uri: str) -> None:
    for dev_mode in (False, True):
        assert "never a redirect URI" in refused(uri, app_type, dev_mode).message


@pytest.mark.parametrize("app_type", APP_TYPES)
@pytest.mark.parametrize(
    "uri",
    [
        "https://user:pw@app.example.com/cb",
        "https://app.example.com@evil.example/cb",
        "http://user@localhost:3000/cb",
        "com.example.app://user:pw@callback/x",
        "https://evil.example\\@app.example.com/cb",
    ],
)
def test_user_information_is_refused_for_every_app(app_type: str, uri: str) -> None:
    for dev_mode in (False, True):
        assert "user information" in refused(uri, app_type, dev_mode).message


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("myapp:/callback", "not a reverse-DNS name"),
        ("ws://app.example.com/cb", "not a reverse-DNS name"),
        ("mailto:a@example.com", "not a reverse-DNS name"),
        ("http://app.example.com/cb", "non-loopback"),
        ("https:///cb", "no host"),
        ("https://app.example.com/cb#x", "without a fragment"),
        ("https://app.example.com/cb#", "without a fragment"),
        ("/callback", "absolute"),
        ("https://app.example.com/c b", "spaces"),
        ("https://app.example.com/cb\n", "control characters"),
        ("https://app.example.com:99999/cb", "not a valid URI"),
        ("https://app.example.com/" + "a" * 2048, "longer than 2048"),
    ],
)
def test_other_native_redirect_uris_are_refused_saying_what_is_allowed(
    uri: str, words: str
) -> None:
    error = refused(uri, "native")
    assert words in error.message
    assert "RFC 8252" in error.details[0]["allowed"]


def test_dev_mode_opens_http_on_any_host_only() -> None:
    uri = "http://app.test:8080/cb"
    assert check_redirect_uri(FIELD, uri, "web", dev_mode=True) == uri
    refused("myapp:/cb", "native", dev_mode=True)
