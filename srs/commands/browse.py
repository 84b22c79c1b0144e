"""Looking at the collection: `srs status` and `srs cards`."""

from __future__ import annotations

import click

from srs.browse import forecast, list_cards
from srs.browse import status as get_status
from srs.commands.common import (
    Context,
    deck_ids,
    deck_option,
    draw,
    json_option,
    say,
    show,
)
from srs.sanitize import json_text


@click.command(short_help="Due today and the collection's size.")
@deck_option()
@click.option("--days", type=click.IntRange(1, 365), metavar="N", help="Also what is due on each of the next N days, per deck.")
@json_option
@click.pass_obj
def status(obj: Context, deck: str | None, days: int | None, as_json: bool) -> None:
    """Show what is due today and the collection's size (--days N: the days ahead).

    Example: srs status --days 7
    """
    with obj.database().session() as session:
        scope = deck_ids(session, deck)
        data = get_status(session, obj.now(), scope)
        if days is not None:

            data["forecast"] = forecast(session, obj.now(), days, scope)
    show(data, as_json, "format_status")


@click.command(short_help="Browse and search cards with their memory.")
@deck_option()
@click.option("--due", is_flag=True, help="Only cards due today (learning and review).")
@click.option("--search", "query", metavar="QUERY", help="Only the cards this search finds (Anki's search language; see the README).")
@json_option
@click.pass_obj
def cards(obj: Context, deck: str | None, due: bool, query: str | None, as_json: bool) -> None:
    """Browse cards with their memory state; --search finds cards as Anki's browser does.

    Example: srs cards --search "deck:Interview is:due prop:r<0.8"
    """
    with obj.database().session() as session:
        rows = list_cards(session, obj.now(), deck_ids(session, deck), due, query)
    if not rows and query is not None and not as_json:
        say(f"No cards match {query!r}.")
        return
    if as_json:  # one card per line: readable, and json's fast C encoder runs per row
        body = ",\n".join("  " + json_text(r, indent=None) for r in rows)
        click.echo("[\n" + body + "\n]" if rows else "[]")
    else:
        draw("card_listing", rows)
