"""``keyhook listen``'s checks before it connects, and its one-line errors."""

from __future__ import annotations

import pytest

from keyhook.client.listen import ListenError, check_forward_to, describe
from tests.client.conftest import ListenProcess
from tests.support.server import free_port


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:3000/hook",
        "http://127.0.0.1/hook",
        "http://127.8.9.10:8080/",
        "http://[::1]:3000/hook",
        "https://app.localhost/hook",
    ],
)
def test_loopback_urls_are_accepted(url: str) -> None:
    check_forward_to(url, allow_remote=False)


@pytest.mark.parametrize(
    "url", ["http://192.168.1.5/hook", "https://example.com/hook", "http://10.0.0.1/"]
)
def test_other_hosts_need_allow_remote(url: str) -> None:
    with pytest.raises(ListenError) as caught:
        check_forward_to(url, allow_remote=False)
    assert caught.value.code == 2 and "--allow-remote" in caught.value.message
    check_forward_to(url, allow_remote=True)


def test_a_forward_to_that_is_not_http_is_a_usage_error() -> None:
    with pytest.raises(ListenError) as caught:
        check_forward_to("ftp://localhost/hook", allow_remote=True)
    assert caught.value.code == 2


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"fullMethod":"/a.B/C","request":{}}', ("request", "/a.B/C")),
        (b'{"fullMethod":"/a.B/C","request":{},"response":{}}', ("response", "/a.B/C")),
        (b'{"function":"complement_token"}', ("function", "complement_token")),
        (b'{"event":"user.locked"}', ("event", "user.locked")),
        (b"not json", ("call", "?")),
    ],
)
def test_each_call_is_described_by_its_kind(body: bytes, expected: tuple[str, str]) -> None:
    assert describe(body) == expected


async def test_an_unreachable_server_is_one_line_and_exit_code_5() -> None:
    cli = ListenProcess(
        f"http://127.0.0.1:{free_port()}", "kh_whatever", ["--forward-to", "http://localhost:3000/"]
    )
    try:
        await cli.start(ready=False)
        assert await cli.exit_code() == 5
        assert len(cli.lines) == 1 and cli.lines[0].startswith("Error: cannot reach Keyhook at")
    finally:
        await cli.stop()
