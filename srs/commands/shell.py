"""`srs completion SHELL`: the script that makes your shell complete srs's commands, decks, stories and settings."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class


@click.command(short_help="Shell completion script (bash, zsh, fish).")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for your shell (bash, zsh or fish).

    Completes commands and options, deck names, story ids (with their
    titles) and setting keys. Load it from your shell's start-up file:

    \b
      bash:  eval "$(srs completion bash)"        in ~/.bashrc
      zsh:   eval "$(srs completion zsh)"         in ~/.zshrc
      fish:  srs completion fish | source         in ~/.config/fish/config.fish

    Example: srs completion bash
    """

    root = ctx.find_root().command
    shell_class = get_completion_class(shell)
    assert shell_class is not None  # click knows the three shells the Choice allows
    click.echo(shell_class(root, {}, "srs", "_SRS_COMPLETE").source())
