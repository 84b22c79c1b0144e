"""The review session's logic: what to show next, answering, and undo.

The queue is recomputed from the database for every card, so two terminals,
an interrupted session or a deck rebuilt mid-session never disagree with it.
Order: learning cards that are due now, then review cards due today, then
new cards, each within the day's limits; when nothing else is left, a
learning card due within the learn-ahead window is shown early, as Anki does.

Siblings are buried: once any card of a note has been answered today, the
note's other new and review cards wait for another day, and at most one card
per note enters the day's queue.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, func, or_, select

from srs.clock import Clock
from srs.domain import CardId, CardState, DeckId, NoteKind, Rating, to_ms
from srs.errors import AnswerSentError, NotFoundError
from srs.models import Card, Note, Review
from srs.pitch import get_pitch
from srs.plan import CONSOLIDATION_DAYS, daily_review_cap, planned_new_today
from srs.scheduler import Memory, anki_interval, apply_memory, memory_of
from srs.settings import (
    SYNCED_REVIEW,
    Schedulers,
    clock_for,
    get_setting,
    interview_day,
)
from srs.stories import StoryIndex
from srs.templates import Linked, Sides, beats, card_sides, pitch_outline

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LEARN_AHEAD = timedelta(minutes=20)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # Anki's default learn-ahead limit


@dataclass(frozen=True)
class Limits:
    new_per_day: int
    reviews_per_day: int

    @classmethod
    def from_settings(cls, session: Session, new: int | None = None, reviews: int | None = None, now: datetime | None = None) -> Limits:
        """Limits from flags or settings; an interview plan with minutes caps reviews, and raises new cards to its pace (given *now*)."""

        review_limit = reviews if reviews is not None else int(get_setting(session, "reviews_per_day"))
        cap = daily_review_cap(session, now)
        new_limit = new if new is not None else int(get_setting(session, "new_per_day"))
        if new is None and now is not None:
            pace = planned_new_today(session, now)
            if pace is not None:
                new_limit = max(new_limit, pace)
        return cls(new_limit, review_limit if cap is None else min(review_limit, cap))


@dataclass(frozen=True)
class Counts:
    new: int
    learning: int
    review: int

    @property
    def total(self) -> int:
        return self.new + self.learning + self.review


@dataclass(frozen=True)
class Queue:
    """What the session shows next, and how much is left today."""

    card_id: int | None
    counts: Counts
    next_due: datetime | None  # when something is next due, if nothing is now
    new_limited: bool  # new cards wait only because of today's limit
    new_limit: int = 0  # today's limit of new cards (collection-wide)
    introduced: int = 0  # new cards first answered today, anywhere (they use up the limit)
    introduced_in_anki: int = 0  # ... of which in Anki: answers brought by an import or a sync


class ReviewSession:
    """A day's study of some decks (all when *deck_ids* is None)."""

    def __init__(
        self,
        session: Session,
        limits: Limits,
        deck_ids: list[DeckId] | None = None,
        clock: Clock | None = None,
        only: ColumnElement[bool] | None = None,
    ) -> None:
        self.session = session
        self.limits = limits
        self.deck_ids = deck_ids
        self.only = only  # a further condition on the cards to study (srs review --search)
        self.clock = clock or clock_for(session)
        self.schedulers = Schedulers(session, self.clock)
        self._before: dict[int, dict[str, object]] = {}  # review id -> its card's columns before that answer

    def _in_decks(self, today: int) -> ColumnElement[bool]:
        """Cards of the session's decks that may be shown today: not suspended, not buried."""
        conds = [Card.suspended.is_(False), or_(Card.buried_until.is_(None), Card.buried_until <= today)]
        if self.deck_ids is not None:
            conds.append(Card.deck_id.in_(self.deck_ids))
        if self.only is not None:
            conds.append(self.only)
        return and_(*conds)

    def queue(self, now: datetime) -> Queue:
        """What to show at *now*."""
        today = self.clock.today(now)
        start = self.clock.day_start(today)
        end = self.clock.day_start(today + 1)
        s = self.session
        base = self._in_decks(today)

        # Today's answers, found through the time index (a handful of rows):
        # what the limits have used up, and which notes are buried.
        todays = s.execute(
            select(Review.prev_state, Card.note_id, Card.deck_id, Review.anki_type.is_not(None))
            .join(Card, Card.id == Review.card_id)
            .where(Review.reviewed_at >= start)
        ).all()
        # The daily limits are collection-wide: answers in any deck use them
        # up, so `--deck` shows and studies what is left of the day's limits.
        # Answers given in Anki today count too (as Anki's own daily counts
        # travel with a sync); the queue says how many, for the message.
        done: Counter[int] = Counter()
        introduced: Counter[int] = Counter()
        introduced_in_anki = 0
        for prev_state, _, deck_id, from_anki in todays:
            done[prev_state] += 1
            if prev_state == CardState.NEW:
                introduced[deck_id] += 1
                introduced_in_anki += bool(from_anki)
        seen_notes = {note_id for _, note_id, _, _ in todays}
        new_left = max(0, self.limits.new_per_day - done[CardState.NEW])
        review_left = max(0, self.limits.reviews_per_day - done[CardState.REVIEW])

        fresh_note = and_(Note.id == Card.note_id, Note.orphaned.is_(False))
        if seen_notes:
            fresh_note = and_(fresh_note, Card.note_id.not_in(seen_notes))
        learning = (Card.state == CardState.LEARNING) | (Card.state == CardState.RELEARNING)

        learn_now = s.execute(
            select(Card.id).where(base, learning, Card.due <= now).order_by(Card.due, Card.id).limit(1)
        ).scalar()
        learning_today = s.scalar(select(func.count()).where(base, learning, Card.due < end)) or 0

        # One card per note: the note's earliest-due review card.
        review_rows = s.execute(
            select(Card.note_id, func.min(Card.due), func.min(Card.id))
            .join(Note, fresh_note)
            .where(base, Card.state == CardState.REVIEW, Card.due < end)
            .group_by(Card.note_id)
            .order_by(func.min(Card.due), Card.note_id)
            .limit(review_left)
        ).all()
        review_card = None
        if review_rows:
            note_id, first_due, _ = review_rows[0]
            review_card = s.scalar(
                select(Card.id)
                .where(base, Card.note_id == note_id, Card.state == CardState.REVIEW, Card.due == first_due)
                .order_by(Card.ord)
                .limit(1)
            )

        # New cards: one per note, taken round-robin across decks so that a
        # day's new cards mix the decks instead of draining one first.
        per_note = (
            select(Card.note_id, func.min(Card.deck_id).label("deck_id"), func.min(Card.position).label("pos"))
            .join(Note, fresh_note)
            .where(base, Card.state == CardState.NEW)
            .group_by(Card.note_id)
            .subquery()
        )
        rank = func.row_number().over(partition_by=per_note.c.deck_id, order_by=(per_note.c.pos, per_note.c.note_id))
        ranked = select(per_note.c.note_id, per_note.c.deck_id, per_note.c.pos, rank.label("rn")).subquery()
        window = select(ranked.c.note_id, ranked.c.deck_id, ranked.c.pos, ranked.c.rn).where(
            ranked.c.rn <= new_left + 1
        )
        candidates = sorted(
            s.execute(window).all(),
            key=lambda row: (row.rn + introduced.get(row.deck_id, 0), row.pos, row.note_id),
        )
        new_available = len(candidates)  # at least min(all, new_left + 1)
        new_card = None
        if candidates and new_left > 0:
            new_card = s.scalar(
                select(Card.id)
                .where(base, Card.note_id == candidates[0].note_id, Card.state == CardState.NEW)
                .order_by(Card.ord)
                .limit(1)
            )
        counts = Counts(min(new_available, new_left), learning_today, len(review_rows))

        card_id = learn_now or review_card or new_card
        if card_id is None:
            card_id = s.execute(
                select(Card.id)
                .where(base, learning, Card.due <= now + LEARN_AHEAD)
                .order_by(Card.due, Card.id)
                .limit(1)
            ).scalar()
        if card_id is None and review_left > 0:
            card_id = self._catch_up(now, today, base, fresh_note)
        next_due = None
        if card_id is None:
            next_due = s.scalar(
                select(func.min(Card.due)).where(base, Card.state != CardState.NEW, Card.due > now)
            )
        return Queue(
            card_id, counts, next_due, new_left == 0 and new_available > 0,
            self.limits.new_per_day, done[CardState.NEW], introduced_in_anki,
        )

    def _catch_up(self, now: datetime, today: int, base: ColumnElement[bool], fresh_note: ColumnElement[bool]) -> CardId | None:
        """In an interview plan's last days, with nothing due and the day's reviews not used up: the card
        least likely to be recalled on the interview morning, reviewed ahead of time (bench/deadline.py)."""
        interview = interview_day(self.session, self.clock)
        if interview is None or not interview - CONSOLIDATION_DAYS <= today < interview:
            return None
        morning = self.clock.day_start(interview) + timedelta(hours=8)
        weakest: tuple[float, CardId] | None = None
        for card_id, deck_id, stability, last_review in self.session.execute(
            select(Card.id, Card.deck_id, Card.stability, Card.last_review)
            .join(Note, fresh_note)
            .where(base, Card.state == CardState.REVIEW, Card.stability.is_not(None), Card.last_review.is_not(None))
        ):
            if stability is None or last_review is None:
                continue
            recall = self.schedulers.for_card_in(deck_id).recall(stability, max(0.0, (morning - last_review).total_seconds() / 86_400))
            if recall < 0.97 and (weakest is None or (recall, card_id) < weakest):
                weakest = (recall, card_id)
        return weakest[1] if weakest is not None else None

    def checkpoint(self) -> None:
        """Commit now: an answer is durable on its own, and no transaction is held while the user thinks.

        The interactive loops (review, mock) call this after each answer and
        before each wait for a key; a second srs process may write meanwhile.
        """
        self.session.commit()

    def card(self, card_id: int) -> Card:
        card = self.session.get(Card, card_id)
        if card is None:
            raise NotFoundError(f"no card with id {card_id}")
        return card

    def sides(self, card: Card) -> Sides:
        """What the card shows, with the user's linked stories on a question's back."""

        return card_sides(card.note, card.ord, linked_for(self.session, card.note))

    def preview(self, card: Card, now: datetime) -> dict[Rating, timedelta]:
        return self.schedulers.for_card(card).preview(memory_of(card), now, card.id)

    def answer(self, card: Card, rating: Rating, now: datetime, duration_ms: int) -> Review:
        """Record an answer and move the card on; the caller commits."""
        now = unique_review_time(self.session, now)
        scheduler = self.schedulers.for_card(card)
        before = memory_of(card)
        held = snapshot(card)
        after = scheduler.review(before, rating, now, card.id)
        review = record_review(self.session, card, before, after, rating, now, duration_ms)
        self._before[review.id] = held
        return review

    def undo(self, review_id: int, now: datetime) -> Card:
        """Take back an answer: delete its review and restore the card as it was before it."""
        return undo_review(self.session, review_id, now, self._before.pop(review_id, None))


def unique_review_time(session: Session, now: datetime) -> datetime:
    """*now*, moved on by a millisecond while another review has that time."""

    now = _EPOCH + timedelta(milliseconds=to_ms(now))  # the precision reviews are stored with
    while session.scalar(select(Review.id).where(Review.reviewed_at == now).limit(1)) is not None:
        now = now + timedelta(milliseconds=1)
    return now


def record_review(
    session: Session,
    card: Card,
    before: Memory,
    after: Memory,
    rating: Rating,
    now: datetime,
    duration_ms: int,
) -> Review:

    assert after.due is not None and after.stability is not None and after.difficulty is not None
    clock = clock_for(session)
    if card.anki_schedule is not None:  # the interval Anki gave the card, until now
        last_interval = int(card.anki_schedule.get("ivl", 0))
    else:
        last_interval = session.scalar(
            select(Review.interval).where(Review.card_id == card.id).order_by(Review.reviewed_at.desc()).limit(1)
        ) or 0
    review = Review(
        card_id=card.id,
        reviewed_at=now,
        rating=int(rating),
        duration_ms=max(0, int(duration_ms)),
        prev_state=int(before.state),
        state=int(after.state),
        step=after.step,
        stability=after.stability,
        difficulty=after.difficulty,
        due=after.due,
        interval=anki_interval(clock, int(after.state), to_ms(after.due), to_ms(now)),
        last_interval=last_interval or 0,
    )
    session.add(review)
    apply_memory(card, after)
    card.anki_schedule = None  # answered in srs: srs schedules it from now on
    card.modified = now
    session.flush()
    return review


# What an answer changes on a card, and undo puts back.
SCHEDULE_COLUMNS = ("state", "step", "stability", "difficulty", "due", "last_review", "reps", "lapses", "anki_schedule")


def snapshot(card: Card) -> dict[str, object]:
    """The card's schedule columns, to put back on undo."""
    return {name: getattr(card, name) for name in SCHEDULE_COLUMNS}


def undo_review(session: Session, review_id: int, now: datetime, before: dict[str, object] | None = None) -> Card:
    """Delete an answer and restore its card: from *before* (a ``snapshot``) when given, else from the previous review."""
    review = session.get(Review, review_id)
    if review is None:
        raise NotFoundError(f"no review with id {review_id} to undo")
    if review_id <= int(get_setting(session, SYNCED_REVIEW) or 0):
        # (srs sync ran since, in another terminal or a scheduled job: the answer is on the server and other devices)
        raise AnswerSentError("that answer has already gone to the sync server, which cannot take an answer back: it stays")
    card = session.get(Card, review.card_id)
    assert card is not None
    if before is not None:
        session.delete(review)
        for name, value in before.items():
            setattr(card, name, value)
        card.modified = now
        session.flush()
        return card
    previous = session.scalars(
        select(Review)
        .where(Review.card_id == card.id, Review.id != review.id)
        .order_by(Review.reviewed_at.desc(), Review.id.desc())
        .limit(1)
    ).first()
    lapse = review.prev_state == CardState.REVIEW and review.rating == Rating.AGAIN
    if previous is None:
        memory = Memory()
    else:
        memory = Memory(
            state=CardState(previous.state),
            step=previous.step,
            stability=previous.stability,
            difficulty=previous.difficulty,
            due=previous.due,
            last_review=previous.reviewed_at,
            reps=max(0, card.reps - 1),
            lapses=max(0, card.lapses - int(lapse)),
        )
    session.delete(review)
    apply_memory(card, memory)
    card.modified = now
    session.flush()
    return card


def replay_card(session: Session, card: Card, schedulers: Schedulers) -> Memory:
    """Recompute a card's memory from its review log alone (the answers since it was last made new, if it was)."""
    query = select(Review.rating, Review.reviewed_at).where(Review.card_id == card.id)
    if card.reset_at is not None:
        query = query.where(Review.reviewed_at > card.reset_at)
    history = session.execute(query.order_by(Review.reviewed_at, Review.id)).all()
    return schedulers.for_card(card).replay([(r, t) for r, t in history], card.id)


def linked_for(session: Session, note: Note) -> Linked | None:
    """The user's own material a question's answer side shows: its stories' beats, and the pitch for "about you"."""
    if note.kind != NoteKind.QUESTION:
        return None
    stories = tuple((n.fields.get("Title", ""), beats(n.fields)) for n, _ in StoryIndex(session).for_question(note.id, note.tags))
    pitch = ""
    if "about-you" in note.tags:
        pitch_note = get_pitch(session)
        if pitch_note is not None:
            pitch = pitch_outline(pitch_note.fields)
    return Linked(stories=stories, pitch=pitch)


def editable_behind(session: Session, note: Note) -> tuple[str, int | None] | None:
    """What `e` opens for a card of *note*: ('story', id), ('pitch', None) or None."""
    if note.kind == NoteKind.STORY:
        return ("story", note.id)
    if note.kind == NoteKind.PITCH:
        return ("pitch", None)
    if note.kind == NoteKind.QUESTION:
        linked = StoryIndex(session).for_question(note.id, note.tags)
        if linked:
            return ("story", linked[0][0].id)
        if "about-you" in note.tags:
            return ("pitch", None)
    return None
