"""The history of removed cards: kept when a card is removed, given back when the same card returns.

A card is the same card when its note has the same guid and the card the
same ord (Anki's identity, which guide rebuilds and imports keep). Removing
a card (``srs card rm``, ``srs deck rm``) moves its answers into
``removed_reviews``; a guide rebuild or an import that creates that card
again calls ``restore_removed``, which moves them back and replays them, so
the card returns with its progress. ``--purge`` deletes them instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, tuple_

from srs.domain import CardId, to_ms
from srs.models import Card, Note, RemovedReview, Review
from srs.scheduler import NEW, anki_interval, apply_memory
from srs.settings import Schedulers, clock_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def keep_removed(session: Session, card_ids: Iterable[CardId], now: datetime) -> int:
    """Move the answers of *card_ids* into the removed history (before the cards are deleted); how many."""
    kept = 0
    ids = list(card_ids)
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        rows = session.execute(
            select(Note.guid, Card.ord, Review)
            .join(Card, Card.id == Review.card_id)
            .join(Note, Note.id == Card.note_id)
            .where(Review.card_id.in_(part))
        ).all()
        session.add_all(
            RemovedReview(
                guid=guid, ord=ord_, removed_at=now, reviewed_at=review.reviewed_at, rating=review.rating,
                duration_ms=review.duration_ms, anki_ivl=review.anki_ivl, anki_last_ivl=review.anki_last_ivl,
                anki_factor=review.anki_factor, anki_type=review.anki_type,
            )
            for guid, ord_, review in rows
        )
        kept += len(rows)
    return kept


def removed_guids(session: Session) -> set[str]:
    """The guids of notes whose cards have removed history waiting."""
    return set(session.scalars(select(RemovedReview.guid).distinct()))


def restore_removed(session: Session, cards: Iterable[Card]) -> int:
    """Give *cards* (just created) the answers they had when they were removed, and replay them; how many cards."""
    wanted = {(card.note.guid, card.ord): card for card in cards}
    if not wanted:
        return 0
    keys = list(wanted)
    rows: list[RemovedReview] = []
    for chunk in range(0, len(keys), 400):
        part = keys[chunk : chunk + 400]
        rows += session.scalars(
            select(RemovedReview).where(tuple_(RemovedReview.guid, RemovedReview.ord).in_(part)).order_by(RemovedReview.reviewed_at)
        ).all()
    if not rows:
        return 0
    clock = clock_for(session)
    schedulers = Schedulers(session, clock)
    taken = set(session.scalars(select(Review.reviewed_at)))
    by_card: dict[tuple[str, int], list[RemovedReview]] = {}
    for row in rows:
        by_card.setdefault((row.guid, row.ord), []).append(row)
    for key, history in by_card.items():
        card = wanted[key]
        scheduler = schedulers.for_card(card)
        memory = NEW
        last_interval = 0
        for row in history:
            at = row.reviewed_at
            while at in taken:  # reviews.reviewed_at is unique: a clash moves on by a millisecond
                at += timedelta(milliseconds=1)
            taken.add(at)
            before = memory
            memory = scheduler.review(memory, row.rating, at, card.id)
            assert memory.due is not None
            interval = anki_interval(clock, int(memory.state), to_ms(memory.due), to_ms(at))
            session.add(
                Review(
                    card_id=card.id, reviewed_at=at, rating=row.rating, duration_ms=row.duration_ms, prev_state=int(before.state),
                    state=int(memory.state), step=memory.step, stability=memory.stability, difficulty=memory.difficulty,
                    due=memory.due, interval=interval, last_interval=last_interval, anki_ivl=row.anki_ivl,
                    anki_last_ivl=row.anki_last_ivl, anki_factor=row.anki_factor, anki_type=row.anki_type,
                )
            )
            last_interval = interval
        apply_memory(card, memory)
        card.anki_schedule = None  # srs schedules it from its history
    session.execute(delete(RemovedReview).where(RemovedReview.id.in_([row.id for row in rows])))
    session.flush()
    return len(by_card)


def purge_removed(session: Session, guids: Iterable[str]) -> int:
    """Forget the removed history of the notes *guids* for good; how many answers."""
    ids = list(guids)
    count = session.scalar(select(func.count()).select_from(RemovedReview).where(RemovedReview.guid.in_(ids))) or 0
    session.execute(delete(RemovedReview).where(RemovedReview.guid.in_(ids)))
    return count
