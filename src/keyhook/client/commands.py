"""Every client command, added to the ``keyhook`` group: the resources, the
actions and logs verbs, login and profiles, shell completion and ``cli-doc``.

Imported by ``keyhook.cli`` at start: it reads ``operations.json`` and builds
click commands, nothing slower (HTTP is imported when a call is made).
"""

from __future__ import annotations

import click

from keyhook.client import actions, logs, resources, session


def register(main: click.Group) -> None:
    resources.register(main)
    actions.register(main)
    logs.register(main)
    session.register(main)

    @main.command()
    @click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
    def completion(shell: str) -> None:
        """Print the shell completion script, e.g. eval "$(keyhook completion bash)"."""
        from click.shell_completion import get_completion_class

        cls = get_completion_class(shell)
        assert cls is not None
        ctx = click.get_current_context()
        root = ctx.find_root().command
        click.echo(cls(root, {}, "keyhook", "_KEYHOOK_COMPLETE").source())

    @main.command("cli-doc")
    def cli_doc() -> None:
        """Print docs/cli.md: every command's help, from the CLI itself."""
        from keyhook.client.clidoc import markdown

        click.echo(markdown(click.get_current_context().find_root().command), nl=False)
