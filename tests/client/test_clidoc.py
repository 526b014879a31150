"""docs/cli.md is the CLI's own help, as ``keyhook cli-doc`` prints it now."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from keyhook.cli import main
from keyhook.client.clidoc import markdown

CLI_MD = Path(__file__).parents[2] / "docs" / "cli.md"


def test_docs_cli_md_is_the_cli_help() -> None:
    assert CLI_MD.read_text() == markdown(main), (
        "docs/cli.md is out of date: run `keyhook cli-doc > docs/cli.md`"
    )


def test_every_command_has_a_section() -> None:
    page = markdown(main)
    for group in ("targets", "executions", "deliveries", "calls", "events", "users", "admins"):
        assert f"### `keyhook {group}`" in page
    for command in ("deliveries replay", "deliveries tail", "calls tail", "executions explain",
                    "targets test", "login", "completion"):  # fmt: skip
        assert f"### `keyhook {command}" in page


def test_the_completion_script_is_clicks() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "keyhook", "completion", "bash"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "_KEYHOOK_COMPLETE=bash_complete" in out
