"""Read-only views of the collection: today's status and the card browser.

Both return plain dicts and dataclasses whose shape is the documented
``--json`` output; the CLI only prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from srs.models import Card, CardState, Deck, Review
from srs.review import Limits, ReviewSession, Schedulers
from srs.scheduler import memory_of
from srs.settings import clock_for
from srs.templates import front_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

STATE_NAMES = {s: s.name.lower() for s in CardState}


def status(session: Session, now: datetime, deck_ids: list[int] | None = None) -> dict[str, Any]:
    """Counts due today and collection totals (the ``srs status --json`` shape)."""
    review = ReviewSession(session, Limits.from_settings(session), deck_ids)
    queue = review.queue(now)
    clock = review.clock
    cards = select(Card)
    if deck_ids is not None:
        cards = cards.where(Card.deck_id.in_(deck_ids))
    card_ids = cards.with_only_columns(Card.id).scalar_subquery()
    by_state = dict(
        session.execute(
            select(Card.state, func.count()).where(Card.id.in_(card_ids), Card.suspended.is_(False)).group_by(Card.state)
        ).all()
    )
    return {
        "today": clock.date_of_day(clock.today(now)).isoformat(),
        "due": {"new": queue.counts.new, "learning": queue.counts.learning, "review": queue.counts.review},
        "totals": {
            "decks": len(deck_ids) if deck_ids is not None else session.scalar(select(func.count(Deck.id))),
            "notes": session.scalar(
                select(func.count(func.distinct(Card.note_id))).where(Card.id.in_(card_ids))
            ),
            "cards": session.scalar(select(func.count()).where(Card.id.in_(card_ids))),
            "suspended": session.scalar(
                select(func.count()).where(Card.id.in_(card_ids), Card.suspended.is_(True))
            ),
            "by_state": {STATE_NAMES[s]: by_state.get(int(s), 0) for s in CardState},
            "reviews": session.scalar(select(func.count()).where(Review.card_id.in_(card_ids))),
        },
        "next_due": queue.next_due.isoformat() if queue.next_due else None,
    }


@dataclass(frozen=True)
class CardRow:
    id: int
    guid: str
    deck: str
    kind: str
    front: str
    state: str
    suspended: bool
    due: str | None
    stability: float | None
    difficulty: float | None
    retrievability: float | None
    reps: int
    lapses: int


def list_cards(
    session: Session, now: datetime, deck_ids: list[int] | None = None, due_only: bool = False
) -> list[CardRow]:
    """Cards for the browser, ordered by deck then due."""
    clock = clock_for(session)
    schedulers = Schedulers(session, clock)
    query = (
        select(Card)
        .options(joinedload(Card.note), joinedload(Card.deck))
        .join(Deck, Deck.id == Card.deck_id)
        .order_by(Deck.name, Card.due.is_(None), Card.due, Card.position, Card.id)
    )
    if deck_ids is not None:
        query = query.where(Card.deck_id.in_(deck_ids))
    if due_only:
        end = clock.day_start(clock.today(now) + 1)
        query = query.where(Card.suspended.is_(False), Card.state != CardState.NEW, Card.due < end)
    rows = []
    for card in session.scalars(query):
        memory = memory_of(card)
        r = schedulers.for_card(card).retrievability(memory, now)
        rows.append(
            CardRow(
                id=card.id,
                guid=card.note.guid,
                deck=card.deck.name,
                kind=card.note.kind,
                front=front_text(card.note, card.ord),
                state=STATE_NAMES[CardState(card.state)],
                suspended=card.suspended,
                due=card.due.isoformat() if card.due else None,
                stability=round(card.stability, 4) if card.stability is not None else None,
                difficulty=round(card.difficulty, 4) if card.difficulty is not None else None,
                retrievability=round(r, 4) if r is not None else None,
                reps=card.reps,
                lapses=card.lapses,
            )
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
