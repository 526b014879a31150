"""First start and later starts: what the bootstrap creates, keeps and refuses."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from keyhook.bootstrap import assemble
from keyhook.config import from_environment
from keyhook.errors import Internal, InvalidArgument


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_first_start_creates_private_files_and_later_starts_keep_them(
    tmp_path: Path,
) -> None:
    settings = from_environment({}, data_dir=tmp_path / "data")
    core = await assemble(settings)
    assert core.first_start
    token = core.admin_token_path.read_text()
    await core.stop()
    for name in ("admin.pat", "master.key", "keyhook.db"):
        assert mode(tmp_path / "data" / name) == 0o600, name
    assert mode(tmp_path / "data") == 0o700
    again = await assemble(settings)
    assert not again.first_start
    assert again.admin_token_path.read_text() == token
    await again.stop()


async def test_a_node_with_another_master_key_refuses_to_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first = await assemble(from_environment({}, data_dir=tmp_path / "a", database_url=url))
    await first.stop()
    with pytest.raises(Internal, match="same key"):
        await assemble(from_environment({}, data_dir=tmp_path / "b", database_url=url))
    (tmp_path / "b" / "master.key").write_bytes((tmp_path / "a" / "master.key").read_bytes())
    shared = await assemble(from_environment({}, data_dir=tmp_path / "b", database_url=url))
    assert not shared.first_start
    await shared.stop()


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("KEYHOOK_OIDC_CODE_LIFETIME", "soon", "is not a duration"),
        ("KEYHOOK_OIDC_ACCESS_TOKEN_LIFETIME", "0s", "is no lifetime"),
        # Issue 8, finding 11: an env file's stray space or newline is refused, not read.
        ("KEYHOOK_OIDC_ID_TOKEN_LIFETIME", "12h\n", "is not a duration"),
        ("KEYHOOK_OIDC_REFRESH_TOKEN_LIFETIME", " 720h", "is not a duration"),
        ("KEYHOOK_OIDC_LOGIN_LIFETIME", "\u0661\u0662h", "is not a duration"),
        ("KEYHOOK_OIDC_REFRESH_TOKEN_LIFETIME", "999999999h", "out of range"),
    ],
)
async def test_a_bad_token_lifetime_stops_the_start_before_anything_is_written(
    tmp_path: Path, variable: str, value: str, problem: str
) -> None:
    with pytest.raises(InvalidArgument, match=f"{variable}.*{problem}"):
        await assemble(from_environment({variable: value}, data_dir=tmp_path / "data"))
    assert not (tmp_path / "data").exists()
