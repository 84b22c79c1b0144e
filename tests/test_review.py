"""The review queue: order, daily limits, siblings, undo, and the log as source of truth."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from srs.db import Database, open_database
from srs.decks import get_or_create_deck
from srs.domain import CardState, Rating
from srs.models import Card, Note, Review
from srs.review import Limits, ReviewSession, replay_card
from srs.scheduler import memory_of
from srs.settings import Schedulers, default_preset, set_setting

from .conftest import NOW


def add_notes(db: Database, count: int, cards_each: int = 1, deck: str = "D", now: datetime = NOW) -> list[int]:
    """Add *count* notes with *cards_each* new cards; return the card ids in order."""
    ids = []
    with db.session(write=True) as session:
        d = get_or_create_deck(session, deck, now)
        start = session.scalar(select(func.count(Card.id))) or 0
        for i in range(count):
            note = Note(guid=f"{deck}-{i}", kind="question", fields={"Question": f"Q{i}?"}, tags=[], orphaned=False, created=now, modified=now)
            session.add(note)
            session.flush()
            for o in range(cards_each):
                card = Card(note_id=note.id, ord=o, deck_id=d.id, position=start + i, created=now, modified=now)
                session.add(card)
                session.flush()
                ids.append(card.id)
        session.commit()
    return ids


def answer_next(review: ReviewSession, rating: Rating, at: datetime) -> int:
    queue = review.queue(at)
    assert queue.card_id is not None
    card = review.card(queue.card_id)
    review.answer(card, rating, at, 2000)
    review.session.commit()
    return card.id


def test_new_cards_come_in_order_and_respect_the_daily_limit(db: Database) -> None:
    """Only new_per_day new cards are introduced in one day; the next day brings more."""
    ids = add_notes(db, 5)
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(new_per_day=2, reviews_per_day=100))
        assert review.queue(NOW).counts.new == 2
        first = answer_next(review, Rating.EASY, NOW)
        second = answer_next(review, Rating.EASY, NOW + timedelta(minutes=1))
        assert [first, second] == ids[:2]
        queue = review.queue(NOW + timedelta(minutes=2))
        assert queue.card_id is None and queue.new_limited and queue.counts.new == 0
        tomorrow = NOW + timedelta(days=1)
        assert review.queue(tomorrow).counts.new == 2
        assert review.queue(tomorrow).card_id == ids[2]


def test_review_limit_caps_due_reviews(db: Database) -> None:
    """At most reviews_per_day review cards are shown in a day."""
    add_notes(db, 4)
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(10, 100))
        for i in range(4):
            answer_next(review, Rating.EASY, NOW + timedelta(seconds=i))
        later = NOW + timedelta(days=30)
        limited = ReviewSession(session, Limits(10, 3))
        assert limited.queue(later).counts.review == 3
        for i in range(3):
            answer_next(limited, Rating.GOOD, later + timedelta(seconds=i))
        assert limited.queue(later + timedelta(minutes=1)).card_id is None


def test_learning_steps_run_within_the_session(db: Database) -> None:
    """A card rated Again comes back after its 1-minute step, before new cards."""
    ids = add_notes(db, 3)
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(10, 100))
        assert answer_next(review, Rating.AGAIN, NOW) == ids[0]
        assert review.queue(NOW).card_id == ids[1]  # not yet due: other cards first
        assert answer_next(review, Rating.EASY, NOW + timedelta(seconds=10)) == ids[1]
        assert review.queue(NOW + timedelta(minutes=1)).card_id == ids[0]  # due: learning first
        assert review.queue(NOW + timedelta(minutes=1)).counts.learning == 1


def test_learn_ahead_when_nothing_else_is_left(db: Database) -> None:
    """With only a learning card left, it is shown up to 20 minutes early; beyond that, we wait."""
    ids = add_notes(db, 1)
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(10, 100))
        answer_next(review, Rating.GOOD, NOW)  # next step: 10 minutes
        assert review.queue(NOW + timedelta(seconds=5)).card_id == ids[0]
        default_preset(session).learning_steps = [3600]
        session.commit()
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(10, 100))
        answer_next(review, Rating.AGAIN, NOW + timedelta(seconds=6))  # back to step 0: one hour
        queue = review.queue(NOW + timedelta(minutes=1))
        assert queue.card_id is None
        assert queue.next_due == NOW + timedelta(seconds=6, hours=1)
        assert queue.counts.learning == 1


def test_siblings_are_not_shown_the_same_day(db: Database) -> None:
    """After one card of a note is answered, its sibling waits until tomorrow."""
    ids = add_notes(db, 2, cards_each=2)  # note 0: ids[0], ids[1]; note 1: ids[2], ids[3]
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(10, 100))
        assert review.queue(NOW).counts.new == 2  # one per note
        assert answer_next(review, Rating.EASY, NOW) == ids[0]
        assert answer_next(review, Rating.EASY, NOW + timedelta(seconds=1)) == ids[2]
        queue = review.queue(NOW + timedelta(seconds=2))
        assert queue.card_id is None
        tomorrow = NOW + timedelta(days=1)
        assert review.queue(tomorrow).card_id == ids[1]


def test_sibling_reviews_due_the_same_day_are_spread(db: Database) -> None:
    """Two review cards of one note due the same day: only one is shown that day."""
    ids = add_notes(db, 1, cards_each=2)
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(10, 100))
        answer_next(review, Rating.EASY, NOW)
        answer_next(review, Rating.EASY, NOW + timedelta(days=1))
        later = NOW + timedelta(days=60)
        queue = review.queue(later)
        assert queue.counts.review == 1
        answer_next(review, Rating.GOOD, later)
        assert review.queue(later + timedelta(minutes=1)).card_id is None
        assert review.queue(later + timedelta(days=1)).card_id in ids


def test_undo_restores_state_and_removes_review(db: Database) -> None:
    """Undo deletes the review row and puts the card back exactly as it was."""
    ids = add_notes(db, 1)
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(10, 100))
        answer_next(review, Rating.GOOD, NOW)
        answer_next(review, Rating.GOOD, NOW + timedelta(minutes=10))
        card = session.get(Card, ids[0])
        assert card is not None
        before = memory_of(card)
        last = session.scalars(select(Review).order_by(Review.id.desc())).first()
        assert last is not None
        review.answer(card, Rating.AGAIN, NOW + timedelta(days=3), 500)
        session.commit()
        newest = session.scalars(select(Review).order_by(Review.id.desc())).first()
        assert newest is not None and newest.id != last.id
        review.undo(newest.id, NOW + timedelta(days=3))
        session.commit()
        assert memory_of(card) == before
        assert session.scalar(select(func.count(Review.id))) == 2
        # undoing everything returns the card to new
        for r in session.scalars(select(Review).order_by(Review.id.desc())).all():
            review.undo(r.id, NOW)
        session.commit()
        assert card.state == CardState.NEW and card.reps == 0 and card.due is None


def test_nothing_due_reports_next_due(db: Database) -> None:
    """When the queue is empty, the earliest future due time is given."""
    add_notes(db, 1)
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(10, 100))
        answer_next(review, Rating.EASY, NOW)
        queue = review.queue(NOW + timedelta(minutes=1))
        assert queue.card_id is None and not queue.new_limited
        card = session.scalars(select(Card)).one()
        assert queue.next_due == card.due


ratings = st.sampled_from(list(Rating))
gaps = st.one_of(st.integers(0, 30 * 60), st.integers(3600, 86400 * 90))  # seconds


@given(st.lists(st.tuples(ratings, gaps), min_size=1, max_size=25), st.sampled_from([0, 4, 23]))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_replaying_reviews_reproduces_stored_state(tmp_path_factory, history, rollover) -> None:  # type: ignore[no-untyped-def]
    """For any answer history, replaying the review log gives the card's stored state exactly."""
    db = open_database(tmp_path_factory.mktemp("p") / "p.db")
    try:
        with db.session(write=True) as session:
            set_setting(session, "timezone", "America/New_York")
            set_setting(session, "rollover_hour", rollover)
            session.commit()
        (card_id,) = add_notes(db, 1)
        with db.session(write=True) as session:
            review = ReviewSession(session, Limits(10, 100))
            at = NOW
            card = review.card(card_id)
            for rating, gap in history:
                at = at + timedelta(seconds=gap)
                review.answer(card, rating, at, 1000)
                session.commit()
            replayed = replay_card(session, card, Schedulers(session, review.clock))
            assert replayed == memory_of(card)
            stored = session.scalars(select(Review).where(Review.card_id == card_id).order_by(Review.id.desc())).first()
            assert stored is not None
            assert (stored.state, stored.stability, stored.due) == (card.state, card.stability, card.due)
    finally:
        db.close()


def test_answers_at_the_same_instant_get_distinct_times(db: Database) -> None:
    """Two answers given at the same millisecond are stored a millisecond apart, with Anki intervals."""
    ids = add_notes(db, 2)
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(10, 100))
        first = review.answer(session.get(Card, ids[0]), Rating.GOOD, NOW, 1000)  # type: ignore[arg-type]
        second = review.answer(session.get(Card, ids[1]), Rating.EASY, NOW, 1000)  # type: ignore[arg-type]
        session.commit()
        assert first.reviewed_at == NOW and second.reviewed_at == NOW + timedelta(milliseconds=1)
        assert (first.interval, first.last_interval) == (-600, 0)  # the 10-minute step
        clock = review.clock
        assert second.interval == clock.day_of(second.due) - clock.day_of(second.reviewed_at)
        assert 6 <= second.interval <= 10  # Easy on a new card: 8 days, fuzzed
        third = review.answer(session.get(Card, ids[0]), Rating.GOOD, NOW + timedelta(minutes=10), 1000)  # type: ignore[arg-type]
        assert third.last_interval == -600 and third.interval > 0


def test_daily_limits_are_collection_wide_with_a_deck_too(db: Database) -> None:
    """New cards introduced in one deck use up the day's limit for every deck: --deck sees what is left."""
    from srs.browse import status

    add_notes(db, 12, deck="A")
    b = add_notes(db, 12, deck="B")
    with db.session(write=True) as session:
        everything = ReviewSession(session, Limits(10, 100))
        for i in range(7):
            answer_next(everything, Rating.EASY, NOW + timedelta(seconds=i))
        deck_b = session.get(Card, b[0]).deck_id  # type: ignore[union-attr]
        only_b = ReviewSession(session, Limits(10, 100), [deck_b])
        assert only_b.queue(NOW + timedelta(minutes=1)).counts.new == 3
        assert status(session, NOW + timedelta(minutes=1))["due"]["new"] == 3
        assert status(session, NOW + timedelta(minutes=1), [deck_b])["due"]["new"] == 3
        for i in range(3):
            answer_next(only_b, Rating.EASY, NOW + timedelta(minutes=2, seconds=i))
        assert only_b.queue(NOW + timedelta(minutes=3)).card_id is None
        assert everything.queue(NOW + timedelta(minutes=3)).counts.new == 0
