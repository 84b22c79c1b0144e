"""`srs card ...`: look at one card, edit its note, and change cards chosen by id or by a search."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from srs.browse import card_detail
from srs.commands.common import (
    Context,
    Group,
    agreed,
    dry_run_option,
    edit_until_valid,
    json_option,
    say,
    show,
    yes_option,
)
from srs.domain import CardId
from srs.edit import (
    bury,
    choose_cards,
    editable_fields,
    forget,
    move,
    note_for_card,
    note_text,
    parse_note_text,
    preview,
    remove,
    save_note_text,
    suspend,
)
from srs.errors import NothingChanged
from srs.settings import clock_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from srs.edit import Preview


@click.group(cls=Group)
def card() -> None:
    """Look at, edit, suspend, bury, reset, move and remove cards.

    Cards are named by id (`srs cards` shows them) or chosen with
    --search in Anki's search language, e.g. --search "deck:Prep is:new".
    """


@card.command("show", short_help="A card whole: sides, schedule, answers.")
@click.argument("card_id", type=int)
@json_option
@click.pass_obj
def card_show(obj: Context, card_id: int, as_json: bool) -> None:
    """Show a card: both sides, its schedule and memory, and every answer.

    Example: srs card show 42
    """
    with obj.database().session() as session:
        data = card_detail(session, CardId(card_id), obj.now())
    show(data, as_json, "card_view")


@card.command("edit", short_help="Edit a card's note in $EDITOR.")
@click.argument("card_id", type=int)
@click.pass_obj
def card_edit(obj: Context, card_id: int) -> None:
    """Edit the text of a card's note in $EDITOR; identity and progress are kept.

    srs's own notes show their parts (a question and its competency, a
    concept's term and definition, ...); notes imported from Anki show their
    fields as Anki's HTML. A guide rebuild keeps what you wrote.

    Example: srs card edit 42
    """

    db = obj.database()
    with db.session() as session:
        note = note_for_card(session, CardId(card_id))
        names = editable_fields(session, note)
        text = note_text(session, note, CardId(card_id))
    try:
        values = edit_until_valid(obj, text, lambda t: parse_note_text(t, names), f"card-{card_id}")
    except NothingChanged:  # closing the editor without a change is a way to look, not a mistake
        say(f"Nothing changed: the note of card {card_id} is as it was.")
        return
    with db.session(write=True) as session:
        note = note_for_card(session, CardId(card_id))
        changed = save_note_text(session, note, values, obj.now())
    say(f"Saved the note of card {card_id}." if changed else f"Nothing changed: the note of card {card_id} is as it was.")


def _selection(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.argument("card_ids", nargs=-1, type=int)(f)
    f = click.option("--search", "query", metavar="QUERY", help="The cards this search finds (Anki's search language).")(f)
    f = yes_option(f)
    return dry_run_option(f)


def _describe(preview: Preview) -> list[str]:
    lines = [f"  {label}" for label in preview.labels]
    if preview.cards > len(preview.labels):
        lines.append(f"  ... and {preview.cards - len(preview.labels)} more")
    return lines


def _cards_word(count: int) -> str:
    return f"{count} card" + ("" if count == 1 else "s")


def _outcome(done: str, changed: int, chosen: int, others: str, tail: str = "") -> str:
    """'Suspended 3 cards (1 already were).': what changed, and why the rest did not."""
    return f"{done} {_cards_word(changed)}{tail}" + (f" ({chosen - changed} {others})." if changed < chosen else ".")


def _run(
    obj: Context, card_ids: tuple[int, ...], query: str | None, yes: bool, dry_run: bool, verb: str,
    act: Callable[[Session, list[CardId]], str], warning: str = "",
) -> None:
    """Choose the cards, show them, ask (for more than one card, or a search), then *act* and say what it did."""

    now = obj.now()
    with obj.database().session(write=not dry_run) as session:
        chosen = choose_cards(session, list(card_ids), query, clock_for(session), now)
        seen = preview(session, chosen)
        where = ", ".join(seen.decks[:3]) + (f" and {len(seen.decks) - 3} more decks" if len(seen.decks) > 3 else "")
        headline = f"{verb} {_cards_word(seen.cards)} of {seen.notes} note{'s' if seen.notes != 1 else ''} in {where}"
        if dry_run or seen.cards > 1 or query is not None:
            say(headline + (" (dry run: nothing changes):" if dry_run else ":"))
            for line in _describe(seen):
                say(line)
            if warning:
                say(warning)
        if dry_run:
            return
        if (seen.cards > 1 or query is not None) and not agreed(f"{verb} {_cards_word(seen.cards)}?", yes, f"this would {verb.lower()} {_cards_word(seen.cards)}"):
            session.rollback()
            say("Nothing changed.")
            return
        message = act(session, chosen)
    say(message)


@card.command("suspend", short_help="Suspend cards: kept, but never shown.")
@_selection
@click.pass_obj
def card_suspend(obj: Context, card_ids: tuple[int, ...], query: str | None, yes: bool, dry_run: bool) -> None:
    """Suspend cards: they stay, with their progress, but are not shown until unsuspended.

    Example: srs card suspend --search "deck:Prep::Staff"
    """

    def act(session: Session, chosen: list[CardId]) -> str:
        changed = suspend(session, chosen, True, obj.now())
        return _outcome("Suspended", changed, len(chosen), "already were")

    _run(obj, card_ids, query, yes, dry_run, "Suspend", act)


@card.command("unsuspend")
@_selection
@click.pass_obj
def card_unsuspend(obj: Context, card_ids: tuple[int, ...], query: str | None, yes: bool, dry_run: bool) -> None:
    """Show suspended cards again.

    Example: srs card unsuspend 42 43
    """

    def act(session: Session, chosen: list[CardId]) -> str:
        changed = suspend(session, chosen, False, obj.now())
        return _outcome("Unsuspended", changed, len(chosen), "were not suspended")

    _run(obj, card_ids, query, yes, dry_run, "Unsuspend", act)


@card.command("bury")
@_selection
@click.pass_obj
def card_bury(obj: Context, card_ids: tuple[int, ...], query: str | None, yes: bool, dry_run: bool) -> None:
    """Hide cards until tomorrow.

    Example: srs card bury 42
    """

    def act(session: Session, chosen: list[CardId]) -> str:
        changed = bury(session, chosen, True, clock_for(session).today(obj.now()), obj.now())
        return _outcome("Buried", changed, len(chosen), "already were", " until tomorrow")

    _run(obj, card_ids, query, yes, dry_run, "Bury", act)


@card.command("unbury")
@_selection
@click.pass_obj
def card_unbury(obj: Context, card_ids: tuple[int, ...], query: str | None, yes: bool, dry_run: bool) -> None:
    """Show buried cards again today.

    Example: srs card unbury --search is:buried
    """

    def act(session: Session, chosen: list[CardId]) -> str:
        changed = bury(session, chosen, False, clock_for(session).today(obj.now()), obj.now())
        return _outcome("Unburied", changed, len(chosen), "were not buried")

    _run(obj, card_ids, query, yes, dry_run, "Unbury", act)


@card.command("forget", short_help="Make cards new again (history kept).")
@_selection
@click.pass_obj
def card_forget(obj: Context, card_ids: tuple[int, ...], query: str | None, yes: bool, dry_run: bool) -> None:
    """Make cards new again; their answers stay in the history, but their memory starts over.

    Example: srs card forget 42
    """

    def act(session: Session, chosen: list[CardId]) -> str:
        changed = forget(session, chosen, obj.now())
        if changed == 0:  # nothing to do is not an error, but it is said plainly
            return f"Card {chosen[0]} is new already: nothing to reset." if len(chosen) == 1 else \
                f"Nothing reset: the {len(chosen)} cards are new already."
        return _outcome("Reset", changed, len(chosen), "were new already", " to new")

    _run(obj, card_ids, query, yes, dry_run, "Reset", act, "Their memory starts over; their answers stay in the history.")


@card.command("move")
@_selection
@click.option("--to", "deck_name", required=True, metavar="DECK", help="The deck to move them to (made if it does not exist).")
@click.pass_obj
def card_move(obj: Context, card_ids: tuple[int, ...], query: str | None, yes: bool, dry_run: bool, deck_name: str) -> None:
    """Move cards to another deck; their progress goes with them.

    Example: srs card move --search "tag:leadership" --to "Interview::Leadership"
    """

    def act(session: Session, chosen: list[CardId]) -> str:
        name, moved, made = move(session, chosen, deck_name, obj.now())
        return f"Moved {_cards_word(moved)} to {name}" + (" (a new deck)." if made else ".")

    _run(obj, card_ids, query, yes, dry_run, "Move", act)


@card.command("rm")
@_selection
@click.option("--purge", is_flag=True, help="Also delete their answers for good.")
@click.pass_obj
def card_rm(obj: Context, card_ids: tuple[int, ...], query: str | None, yes: bool, dry_run: bool, purge: bool) -> None:
    """Remove cards (and notes left without cards).

    Their answers are kept: when a guide rebuild or an import brings the
    same card back, it comes back with its progress. --purge deletes them.

    Example: srs card rm --search "deck:Prep::Staff"
    """

    def act(session: Session, chosen: list[CardId]) -> str:
        done = remove(session, chosen, obj.now(), purge)
        history = f"deleted {done.answers_deleted} answers" if purge else f"kept {done.answers_kept} answers in case they come back"
        return f"Removed {_cards_word(done.cards)} and {done.notes} note{'s' if done.notes != 1 else ''}; {history}."

    warning = "Their answers will be deleted for good." if purge else "Their answers are kept: a rebuild or import of the same cards brings their progress back."
    _run(obj, card_ids, query, yes, dry_run, "Remove", act, warning)
