"""Where a console sign-in may return to: a console path, normalised."""

from __future__ import annotations

import pytest

from keyhook.console.app import _console_path


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/ui/console", "/ui/console"),
        ("/ui/console/deliveries", "/ui/console/deliveries"),
        ("/ui/console/../../oauth/v2/authorize", "/ui/console"),
        ("/ui/console/./targets", "/ui/console/targets"),
        ("/ui/consolex", "/ui/console"),
        ("//evil.example/ui/console", "/ui/console"),
        ("/ui/console/%2e%2e/x", "/ui/console"),
        ("/ui/console\\\\..\\\\x", "/ui/console"),
        ("https://evil.example/ui/console", "/ui/console"),
    ],
)
def test_only_console_paths(given: str, kept: str) -> None:
    assert _console_path(given) == kept
