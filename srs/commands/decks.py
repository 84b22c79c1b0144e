"""`srs deck`: building decks from guides and listing them."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from srs.browse import deck_summaries
from srs.commands.common import (
    Context,
    Group,
    agreed,
    complete_decks,
    dry_run_option,
    json_option,
    say,
    show,
    yes_option,
)
from srs.decks import (
    GuideFeedsAnotherDeck,
    build_from_file,
    builtin_names,
    ensure_builtin_decks,
    read_guide,
)
from srs.edit import enable_builtin, remove_deck, remove_deck_plan, rename_deck
from srs.sanitize import printable


@click.group(cls=Group)
def deck() -> None:
    """Build, list, rename and remove decks."""


@deck.command("build")
@click.argument("guide", type=click.Path(path_type=Path))
@click.option("--deck", "deck_name", help="Deck to build into (default: the deck this guide feeds, else the guide's title).", shell_complete=complete_decks)
@click.option("--move", is_flag=True, help="The guide feeds another deck already: move that deck and its cards to --deck.")
@click.pass_obj
def deck_build(obj: Context, guide: Path, deck_name: str | None, move: bool) -> None:
    """Turn a Markdown interview guide into cards, or update them.

    Rebuilding after the guide changes updates text in place and keeps
    progress (text you edited with `srs card edit` stays yours); items
    removed from the guide are suspended, not deleted. A deck remembers its
    guide: building it into another deck name asks to move the deck.

    Example: srs deck build guide.md --deck "Interview::My guide"
    """
    parsed = read_guide(guide)  # before the database: a bad guide changes nothing
    db = obj.database()
    try:
        with db.session(write=True) as session:
            result = build_from_file(session, guide, deck_name, obj.now(), parsed, move)
    except GuideFeedsAnotherDeck as elsewhere:
        if not sys.stdin.isatty() or not click.confirm(
            printable(f"{guide.name} already feeds deck {elsewhere.deck!r} ({elsewhere.cards} cards). Move it to {elsewhere.wanted!r}?"),
            default=False,
        ):
            raise
        with db.session(write=True) as session:
            result = build_from_file(session, guide, deck_name, obj.now(), parsed, move=True)
    extra = f", {result.kept_edits} kept as you edited them" if result.kept_edits else ""
    extra += f", {result.returned} came back with their progress" if result.returned else ""
    say(
        f"{result.deck}: {result.added} added, {result.updated} updated, {result.unchanged} unchanged, "
        f"{result.orphaned} suspended (gone from the guide), {result.restored} restored{extra}"
    )


@deck.command("rename", short_help="Rename a deck and its sub-decks.")
@click.argument("old", shell_complete=complete_decks)
@click.argument("new")
@click.option("--merge", is_flag=True, help="NEW exists already: move OLD's cards into it and remove OLD.")
@click.pass_obj
def deck_rename(obj: Context, old: str, new: str, merge: bool) -> None:
    """Rename a deck; its sub-decks follow (Old::Child becomes New::Child).

    Example: srs deck rename "Prep::Staff" "Prep::Staff engineer"
    """

    with obj.database().session(write=True) as session:
        done = rename_deck(session, old, new, merge, obj.now())
    for before, after in done.renamed:
        say(f"Renamed {before} to {after}.")
    for before, into in done.merged:
        say(f"Merged {before} into {into}.")
    if done.merged:
        say(f"{done.cards_moved} cards moved; their progress went with them.")


@deck.command("rm")
@click.argument("name", shell_complete=complete_decks)
@click.option("--purge", is_flag=True, help="Also delete the cards' answers for good.")
@click.option("--disable", is_flag=True, help="For a built-in deck: keep it from coming back (srs deck enable undoes it).")
@yes_option
@dry_run_option
@click.pass_obj
def deck_rm(obj: Context, name: str, purge: bool, disable: bool, yes: bool, dry_run: bool) -> None:
    """Remove a deck, its sub-decks and their cards.

    The cards' answers are kept: if a guide rebuild or an import brings the
    same cards back, they come back with their progress (--purge deletes
    them).

    Example: srs deck rm "Prep::Staff"
    """

    with obj.database().session(write=not dry_run) as session:
        family, cards = remove_deck_plan(session, name, disable)
        names = ", ".join(d.name for d in family)
        say(f"Remove {len(family)} deck{'s' if len(family) != 1 else ''} ({names}) and {len(cards)} cards" + (" (dry run: nothing changes)." if dry_run else "."))
        if dry_run:
            return
        if cards and not agreed(f"Remove {names} and {len(cards)} cards?", yes, f"this would remove {len(cards)} cards"):
            session.rollback()
            say("Nothing changed.")
            return
        done = remove_deck(session, name, obj.now(), purge, disable)
    history = f"deleted {done.removed.answers_deleted} answers" if purge else f"kept {done.removed.answers_kept} answers in case the cards come back"
    say(f"Removed {', '.join(done.decks)}: {done.removed.cards} cards, {done.removed.notes} notes; {history}.")
    if done.disabled:
        say(f"Turned off the built-in deck{'s' if len(done.disabled) != 1 else ''} {', '.join(done.disabled)}: srs deck enable NAME brings it back.")


@deck.command("enable")
@click.argument("name")
@click.pass_obj
def deck_enable(obj: Context, name: str) -> None:
    """Bring back a built-in deck removed with `srs deck rm --disable`.

    Example: srs deck enable "Interview::STAR and CARL"
    """

    db = obj.database()
    with db.session(write=True) as session:
        deck_name = enable_builtin(session, name, builtin_names())
        ensure_builtin_decks(session, obj.now())
    say(f"{deck_name} is back.")


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
