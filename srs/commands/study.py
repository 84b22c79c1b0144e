"""The interactive commands: `srs review` and `srs mock`."""

from __future__ import annotations

import random

import click
from rich.console import Group
from rich.text import Text
from sqlalchemy.orm import Session

from srs.commands.common import (
    Context,
    console,
    deck_ids,
    deck_option,
    edit_until_valid,
    say,
)
from srs.errors import SrsError
from srs.lint import lint_story
from srs.mock import pick_questions
from srs.models import Card
from srs.pitch import get_pitch, parse_pitch, render_pitch, save_pitch
from srs.review import Limits, ReviewSession, editable_behind
from srs.search import any_card, matching_cards
from srs.settings import clock_for
from srs.stories import get_story, save_story, spec_of
from srs.story_format import parse_story, render_story
from srs.terminal import findings_text, run_mock, run_review


@click.command()
@deck_option("Study only this deck (and its sub-decks).")
@click.option("--new-limit", type=click.IntRange(min=0), help="New cards today (default: the new_per_day setting).")
@click.option("--review-limit", type=click.IntRange(min=0), help="Reviews today (default: the reviews_per_day setting).")
@click.option("--search", "query", metavar="QUERY", help="Study only the cards this search finds (Anki's search language).")
@click.pass_obj
def review(obj: Context, deck: str | None, new_limit: int | None, review_limit: int | None, query: str | None) -> None:
    """Study today's cards.

    Answer aloud, press space to see the answer, then rate your recall:
    1 Again, 2 Hard, 3 Good, 4 Easy. u undoes the last answer, q quits.
    Every answer is saved at once.

    --deck and --search narrow what is studied; the daily limits stay collection-wide.

    Example: srs review --search "tag:leadership is:due"
    """
    read_key = obj.read_key("review")
    screen = console()
    # Writing sessions begin with BEGIN IMMEDIATE, so an answer waits for a
    # concurrent import instead of failing; the loop holds no transaction
    # while the user thinks (ReviewSession.checkpoint).
    with obj.database().session(write=True) as session:
        limits = Limits.from_settings(session, new_limit, review_limit, obj.now())
        only = matching_cards(session, query, clock_for(session), obj.now()) if query is not None else None
        if only is not None and not any_card(session, only):
            say(f"No cards match {query!r}.")  # as `srs cards --search` says it
            return
        study = ReviewSession(session, limits, deck_ids(session, deck), only=only)
        run_review(
            study, screen, read_key, obj.clock(), live_timer=screen.is_terminal,
            edit=lambda card: edit_behind(obj, session, card),
        )


@click.command(short_help="A timed mock interview, weakest first.")
@click.option("--count", type=click.IntRange(min=1, max=50), default=5, show_default=True, help="How many questions.")
@click.option("--seed", type=int, hidden=True, help="Fix the draw (tests).")
@click.pass_obj
def mock(obj: Context, count: int, seed: int | None) -> None:
    """A timed mock interview, weighted toward your weakest questions.

    Answer each question aloud, press space when done, read your linked
    stories, then rate yourself 1-4; ratings are recorded as reviews.

    Example: srs mock --count 6
    """
    read_key = obj.read_key("mock")
    screen = console()
    with obj.database().session(write=True) as session:
        questions = pick_questions(session, obj.now(), count, random.Random(seed))
        if not questions:
            raise SrsError("no questions to ask: build a deck of questions first (srs deck build GUIDE.md)")
        study = ReviewSession(session, Limits.from_settings(session, now=obj.now()))
        run_mock(study, questions, screen, read_key, obj.clock(), screen.is_terminal)


def edit_behind(obj: Context, session: Session, card: Card) -> str | Group | None:
    """`e` during review: edit the story (or pitch) behind *card*.

    Returns what to tell the user before going back to the card (None when
    there is nothing behind the card to edit). Nothing here ends the session:
    an edit that changes nothing, text that does not parse or an editor that
    fails is a notice, with the draft's path when the text was kept.
    """
    target = editable_behind(session, card.note)
    if target is None:
        return None
    kind, story_id = target
    try:
        if kind == "pitch":
            note = get_pitch(session)
            pitch = edit_until_valid(obj, render_pitch(note.fields if note else None), parse_pitch, "pitch")
            save_pitch(session, pitch, obj.now())
            message = "Saved your pitch."
        else:
            assert story_id is not None
            note, story = get_story(session, story_id)
            spec = edit_until_valid(obj, render_story(spec_of(note, story)), parse_story, f"story-{story_id}")
            save_story(session, spec, obj.now(), story_id)
            message = f"Saved story {story_id}."
            findings = lint_story(spec)  # as `srs story edit` shows them
    except SrsError as exc:
        session.rollback()
        return f"{exc} (back to the card)"
    session.commit()  # the edit is durable now, like an answer
    return message if kind == "pitch" else Group(Text(message, style="yellow"), findings_text(findings))
