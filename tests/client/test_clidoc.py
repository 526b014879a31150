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


def test_help_loads_nothing_of_the_server() -> None:
    # `keyhook --help` stays fast (issue 13: under 300 ms; 130 ms measured) because the
    # client commands load no server module, web framework, ORM or aiohttp.
    code = (
        "import sys\n"
        "from keyhook.cli import main\n"
        "try:\n"
        "    main(['targets', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('keyhook.api', 'keyhook.bootstrap', 'keyhook.services', 'sqlalchemy',\n"
        "         'starlette', 'aiohttp', 'pydantic')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"
