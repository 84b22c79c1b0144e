"""Read-only views of the collection: today's status and the card browser.

Both return plain dicts and dataclasses whose shape is the documented
``--json`` output; the CLI only prints them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Unpack

from sqlalchemy import Select, func, select

from srs.domain import CardState, DeckId
from srs.models import Card, Deck, Note, Preset, Review
from srs.review import Limits, ReviewSession
from srs.scheduler import Scheduler
from srs.settings import clock_for
from srs.templates import sides_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

STATE_NAMES = {s: s.name.lower() for s in CardState}
_Query = TypeVar("_Query", bound="Select[Unpack[tuple[Any, ...]]]")


def status(session: Session, now: datetime, deck_ids: list[DeckId] | None = None) -> dict[str, Any]:
    """Counts due today and collection totals (the ``srs status --json`` shape)."""
    review = ReviewSession(session, Limits.from_settings(session), deck_ids)
    queue = review.queue(now)
    clock = review.clock
    def in_scope(query: _Query) -> _Query:
        return query if deck_ids is None else query.where(Card.deck_id.in_(deck_ids))

    by_state: dict[int, int] = {
        state: count
        for state, count in session.execute(
            in_scope(select(Card.state, func.count()).where(Card.suspended.is_(False)).group_by(Card.state))
        )
    }
    reviews = select(func.count(Review.id))
    if deck_ids is not None:
        reviews = reviews.join(Card, Card.id == Review.card_id).where(Card.deck_id.in_(deck_ids))
    return {
        "today": clock.date_of_day(clock.today(now)).isoformat(),
        "due": {"new": queue.counts.new, "learning": queue.counts.learning, "review": queue.counts.review},
        "totals": {
            "decks": len(deck_ids) if deck_ids is not None else session.scalar(select(func.count(Deck.id))),
            "notes": session.scalar(in_scope(select(func.count(func.distinct(Card.note_id))))),
            "cards": session.scalar(in_scope(select(func.count(Card.id)))),
            "suspended": session.scalar(in_scope(select(func.count(Card.id)).where(Card.suspended.is_(True)))),
            "by_state": {STATE_NAMES[s]: by_state.get(int(s), 0) for s in CardState},
            "reviews": session.scalar(reviews),
        },
        "next_due": queue.next_due.isoformat() if queue.next_due else None,
    }


class CardRow(TypedDict):
    """One line of the card browser; its keys are the ``srs cards --json`` keys."""

    id: int
    guid: str
    deck: str
    kind: str
    front: str
    label: str
    state: str
    suspended: bool
    due: str | None
    stability: float | None
    difficulty: float | None
    retrievability: float | None
    reps: int
    lapses: int


def list_cards(
    session: Session, now: datetime, deck_ids: list[DeckId] | None = None, due_only: bool = False
) -> list[CardRow]:
    """Cards for the browser, ordered by deck then due.

    Loads plain columns rather than ORM objects: the browser may list tens of
    thousands of cards and only reads them.
    """
    clock = clock_for(session)
    presets = {p.id: Scheduler.from_preset(p, clock) for p in session.scalars(select(Preset))}
    query = (
        select(
            Card.id, Card.ord, Card.state, Card.suspended, Card.due, Card.stability, Card.difficulty,
            Card.last_review, Card.reps, Card.lapses, Note.guid, Note.kind, Note.fields, Note.tags,
            Deck.name, Deck.preset_id,
        )
        .join(Note, Note.id == Card.note_id)
        .join(Deck, Deck.id == Card.deck_id)
        .order_by(Deck.name, Card.due.is_(None), Card.due, Card.position, Card.id)
    )
    if deck_ids is not None:
        query = query.where(Card.deck_id.in_(deck_ids))
    if due_only:
        end = clock.day_start(clock.today(now) + 1)
        query = query.where(Card.suspended.is_(False), Card.state != CardState.NEW, Card.due < end)
    rows: list[CardRow] = []
    elapsed = clock.elapsed_days
    for (
        card_id, ord_, state, suspended, due, stability, difficulty, last_review, reps, lapses,
        guid, kind, fields, tags, deck, preset_id,
    ) in session.execute(query):
        r = None
        if stability is not None and last_review is not None:
            r = presets[preset_id].recall(stability, elapsed(last_review, now))
        rows.append(
            {
                "id": card_id,
                "guid": guid,
                "deck": deck,
                "kind": kind,
                "front": (sides := sides_of(kind, fields, tags, ord_)).front,
                "label": sides.summary,
                "state": STATE_NAMES[state],
                "suspended": suspended,
                "due": due.isoformat() if due else None,
                "stability": round(stability, 4) if stability is not None else None,
                "difficulty": round(difficulty, 4) if difficulty is not None else None,
                "retrievability": round(r, 4) if r is not None else None,
                "reps": reps,
                "lapses": lapses,
            }
        )
    return rows


def deck_summaries(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Each deck with its card counts and what is due today."""
    clock = clock_for(session)
    end = clock.day_start(clock.today(now) + 1)
    rows = session.execute(
        select(
            Deck.name,
            func.count(Card.id),
            func.count(Card.id).filter(Card.state == CardState.NEW, Card.suspended.is_(False)),
            func.count(Card.id).filter(Card.state != CardState.NEW, Card.due < end, Card.suspended.is_(False)),
            func.count(Card.id).filter(Card.suspended.is_(True)),
        )
        .outerjoin(Card, Card.deck_id == Deck.id)
        .group_by(Deck.id)
        .order_by(Deck.name)
    ).all()
    return [
        {"deck": name, "cards": total, "new": new or 0, "due": due or 0, "suspended": suspended or 0}
        for name, total, new, due, suspended in rows
    ]
