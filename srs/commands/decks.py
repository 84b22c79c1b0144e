"""`srs deck`: building decks from guides and listing them."""

from __future__ import annotations

from pathlib import Path

import click

from srs.browse import deck_summaries
from srs.commands.common import Context, json_option, say, show
from srs.decks import build_from_file, read_guide


@click.group()
def deck() -> None:
    """Build and list decks."""


@deck.command("build")
@click.argument("guide", type=click.Path(path_type=Path))
@click.option("--deck", "deck_name", help="Deck to build into (default: the guide's title).")
@click.pass_obj
def deck_build(obj: Context, guide: Path, deck_name: str | None) -> None:
    """Turn a Markdown interview guide into cards, or update them.

    Rebuilding after the guide changes updates text in place and keeps
    progress; items removed from the guide are suspended, not deleted.

    Example: srs deck build guide.md --deck "Interview::My guide"
    """
    parsed = read_guide(guide)  # before the database: a bad guide changes nothing
    with obj.database().session(write=True) as session:
        result = build_from_file(session, guide, deck_name, obj.now(), parsed)
    say(
        f"{result.deck}: {result.added} added, {result.updated} updated, {result.unchanged} unchanged, "
        f"{result.orphaned} suspended (gone from the guide), {result.restored} restored"
    )


@deck.command("list")
@json_option
@click.pass_obj
def deck_list(obj: Context, as_json: bool) -> None:
    """List decks with their card counts.

    Example: srs deck list
    """
    with obj.database().session() as session:
        rows = deck_summaries(session, obj.now())
    show(rows, as_json, "decks_table")
