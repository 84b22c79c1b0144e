"""Looking at the collection: `srs status` and `srs cards`."""

from __future__ import annotations

import click

from srs.browse import list_cards
from srs.browse import status as get_status
from srs.commands.common import Context, deck_ids, deck_option, draw, json_option, show
from srs.sanitize import json_text


@click.command()
@deck_option()
@json_option
@click.pass_obj
def status(obj: Context, deck: str | None, as_json: bool) -> None:
    """Show what is due today and the collection's size.

    Example: srs status --json
    """
    with obj.database().session() as session:
        data = get_status(session, obj.now(), deck_ids(session, deck))
    show(data, as_json, "format_status")


@click.command()
@deck_option()
@click.option("--due", is_flag=True, help="Only cards due today (learning and review).")
@json_option
@click.pass_obj
def cards(obj: Context, deck: str | None, due: bool, as_json: bool) -> None:
    """Browse cards with their memory state.

    Example: srs cards --due --json
    """
    with obj.database().session() as session:
        rows = list_cards(session, obj.now(), deck_ids(session, deck), due)
    if as_json:  # one card per line: readable, and json's fast C encoder runs per row
        body = ",\n".join("  " + json_text(r, indent=None) for r in rows)
        click.echo("[\n" + body + "\n]" if rows else "[]")
    else:
        draw("card_listing", rows)
