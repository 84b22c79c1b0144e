"""Read-only views of the collection: today's status and the card browser.

Both return plain dicts and dataclasses whose shape is the documented
``--json`` output; the CLI only prints them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Unpack

from sqlalchemy import Select, func, select

from srs.domain import CardId, CardState, DeckId, Rating
from srs.errors import NotFoundError
from srs.models import Card, Deck, Note, Preset, Review
from srs.review import Limits, ReviewSession, linked_for
from srs.scheduler import Scheduler
from srs.search import search_condition
from srs.settings import clock_for
from srs.templates import card_sides, sides_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

STATE_NAMES = {s: s.name.lower() for s in CardState}
RATING_NAMES = {r: r.name.lower() for r in Rating}
_Query = TypeVar("_Query", bound="Select[Unpack[tuple[Any, ...]]]")


def status(session: Session, now: datetime, deck_ids: list[DeckId] | None = None) -> dict[str, Any]:
    """Counts due today and collection totals (the ``srs status --json`` shape)."""
    review = ReviewSession(session, Limits.from_settings(session, now=now), deck_ids)
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
    note_id: int
    guid: str
    deck: str
    kind: str
    front: str
    label: str
    state: str
    suspended: bool
    buried: bool
    due: str | None
    stability: float | None
    difficulty: float | None
    retrievability: float | None
    reps: int
    lapses: int


def recall_now(scheduler: Scheduler, stability: float | None, last_review: datetime | None, now: datetime) -> float | None:
    """The probability of recalling a card now, as Anki's browser and its prop:r search compute it.

    The time since the last answer counts with its fraction of a day (Anki
    reads the last answer's time from the card's data); scheduling itself
    counts whole days (``Clock.elapsed_days``).
    """
    if stability is None or last_review is None:
        return None
    return scheduler.recall(stability, max(0.0, (now - last_review).total_seconds() / 86_400))


def list_cards(
    session: Session, now: datetime, deck_ids: list[DeckId] | None = None, due_only: bool = False, search: str | None = None
) -> list[CardRow]:
    """Cards for the browser, ordered by deck then due; *search* in Anki's search language (``srs.search``).

    Loads plain columns rather than ORM objects: the browser may list tens of
    thousands of cards and only reads them.
    """
    clock = clock_for(session)
    presets = {p.id: Scheduler.from_preset(p, clock) for p in session.scalars(select(Preset))}
    query = (
        select(
            Card.id, Card.ord, Card.state, Card.suspended, Card.due, Card.stability, Card.difficulty,
            Card.last_review, Card.reps, Card.lapses, Note.guid, Note.kind, Note.fields, Note.tags,
            Deck.name, Deck.preset_id, Card.buried_until, Card.note_id,
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
    if search is not None:

        query = query.where(Note.orphaned.is_(False), search_condition(session, search, clock, now))
    rows: list[CardRow] = []
    today = clock.today(now)
    for (
        card_id, ord_, state, suspended, due, stability, difficulty, last_review, reps, lapses,
        guid, kind, fields, tags, deck, preset_id, buried_until, note_id,
    ) in session.execute(query):
        r = recall_now(presets[preset_id], stability, last_review, now)
        rows.append(
            {
                "id": card_id,
                "note_id": note_id,
                "guid": guid,
                "deck": deck,
                "kind": kind,
                "front": (sides := sides_of(kind, fields, tags, ord_)).front,
                "label": sides.summary,
                "state": STATE_NAMES[state],
                "suspended": suspended,
                "buried": buried_until is not None and buried_until > today,
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


def card_detail(session: Session, card_id: CardId, now: datetime) -> dict[str, Any]:
    """One card whole: its sides, note, schedule, memory and every answer (the ``srs card show --json`` shape)."""
    card = session.get(Card, card_id)
    if card is None:
        raise NotFoundError(f"no card with id {card_id} (srs cards --search QUERY shows ids)")
    clock = clock_for(session)
    scheduler = Scheduler.from_preset(card.deck.preset, clock)
    note = card.note
    sides = card_sides(note, card.ord, linked_for(session, note))  # as `srs review` shows it: linked stories, pitch
    today = clock.today(now)
    history = [
        {
            "at": review.reviewed_at.isoformat(),
            "rating": RATING_NAMES[review.rating],
            "seconds": round(review.duration_ms / 1000, 1),
            "state_before": STATE_NAMES[review.prev_state],
            "state_after": STATE_NAMES[review.state],
            # Anki's convention in the stored log: a positive interval is days, a negative one a learning step's seconds
            "interval_days": review.interval if review.interval >= 0 else None,
            "step_seconds": -review.interval if review.interval < 0 else None,
            "stability": round(review.stability, 4),
            "difficulty": round(review.difficulty, 4),
            "due": review.due.isoformat(),
            "counts": card.reset_at is None or review.reviewed_at > card.reset_at,
        }
        for review in session.scalars(select(Review).where(Review.card_id == card.id).order_by(Review.reviewed_at, Review.id))
    ]
    r = recall_now(scheduler, card.stability, card.last_review, now)
    return {
        "id": card.id,
        "note_id": note.id,
        "guid": note.guid,
        "ord": card.ord,
        "deck": card.deck.name,
        "kind": note.kind,
        "tags": list(note.tags),
        "front": sides.front,
        "back": sides.back,
        "fields": list(note.anki_fields) if note.anki_fields is not None else dict(note.fields),
        "state": STATE_NAMES[card.state],
        "suspended": card.suspended,
        "buried": card.buried_until is not None and card.buried_until > today,
        "due": card.due.isoformat() if card.due else None,
        "due_in_days": clock.day_of(card.due) - today if card.due else None,
        "stability": round(card.stability, 4) if card.stability is not None else None,
        "difficulty": round(card.difficulty, 4) if card.difficulty is not None else None,
        "retrievability": round(r, 4) if r is not None else None,
        "reps": card.reps,
        "lapses": card.lapses,
        "added": card.created.isoformat(),
        "edited": note.edited.isoformat() if note.edited else None,
        "reset": card.reset_at.isoformat() if card.reset_at else None,
        "schedule_from_anki": card.anki_schedule is not None,
        "history": history,
    }


def forecast(session: Session, now: datetime, days: int, deck_ids: list[DeckId] | None = None) -> dict[str, Any]:
    """Cards due on each of the next *days* days, per deck (the ``srs status --days N --json`` shape).

    Today's column counts what is overdue too; learning cards count on the day
    their step ends. New cards are not in it: they come in as the daily limit allows.
    """
    clock = clock_for(session)
    today = clock.today(now)
    end = clock.day_start(today + days)
    query = (
        select(Deck.name, Card.due, Card.buried_until)
        .join(Deck, Deck.id == Card.deck_id)
        .where(Card.suspended.is_(False), Card.state != CardState.NEW, Card.due.is_not(None), Card.due < end)
    )
    if deck_ids is not None:
        query = query.where(Card.deck_id.in_(deck_ids))
    counts: dict[str, list[int]] = {}
    for deck, due, buried_until in session.execute(query):
        if due is None:
            continue
        day = max(clock.day_of(due), today)
        if buried_until is not None and buried_until > day:
            day = buried_until
        if day - today >= days:
            continue
        counts.setdefault(deck, [0] * days)[day - today] += 1
    decks = {name: counts[name] for name in sorted(counts)}
    return {
        "days": [clock.date_of_day(today + i).isoformat() for i in range(days)],
        "decks": decks,
        "total": [sum(column) for column in zip(*decks.values())] if decks else [0] * days,
    }
