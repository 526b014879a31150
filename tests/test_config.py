"""Settings from KEYHOOK_* variables: a bad value is refused with what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyhook.config import from_environment
from keyhook.errors import InvalidArgument


@pytest.mark.parametrize(
    "wrong",
    [
        "notaurl",
        "ftp://id.example.com",
        "https://",
        "https://x:port",
        "https://x/?a=1",
        "https://id.example.com?",
        "https://id.example.com/#",
        "https://admin:s3cret@id.example.com",
    ],
)
def test_an_external_url_that_is_no_http_url_of_a_host_is_refused(
    tmp_path: Path, wrong: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        from_environment({"KEYHOOK_EXTERNAL_URL": wrong}, data_dir=tmp_path)
    assert "KEYHOOK_EXTERNAL_URL" in refused.value.message
    assert "https://id.example.com" in refused.value.message  # what is allowed
    assert "s3cret" not in refused.value.message


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://id.example.com", "https://id.example.com"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("https://example.com/keyhook", "https://example.com/keyhook"),
    ],
)
def test_an_external_url_is_kept_without_a_trailing_slash(
    tmp_path: Path, given: str, kept: str
) -> None:
    settings = from_environment({"KEYHOOK_EXTERNAL_URL": given}, data_dir=tmp_path)
    assert settings.external_url == kept
    assert settings.base_url == kept
