"""`srs config`: showing and changing settings."""

from __future__ import annotations

import click

from srs.commands.common import Context, say
from srs.settings import all_settings, config_keys, show_setting, update_setting


@click.command()
@click.argument("key", required=False, shell_complete=lambda _ctx, _param, incomplete: [k for k in config_keys() if k.startswith(incomplete)])
@click.argument("value", required=False)
@click.pass_obj
def config(obj: Context, key: str | None, value: str | None) -> None:
    """Show or change settings.

    With no arguments, list every setting. With KEY, show it; with KEY and
    VALUE, change it.

    Example: srs config desired_retention 0.92
    """
    db = obj.database(builtin=False)
    if value is None:
        with db.session() as session:
            if key is not None:
                say(show_setting(session, key))
                return
            for name, current in all_settings(session).items():
                say(f"{name} = {current}")
        return
    assert key is not None
    with db.session(write=True) as session:
        stored = update_setting(session, key, value)
    say(f"{key.replace('-', '_')} = {stored}")
