"""An interview date the schedule aims at, and the day-by-day workload to it.

With a plan set, intervals that would jump past the interview are capped when
recall on the day would fall below the desired retention (see
``Scheduler.aim_at_deadline``), and the daily review limit follows the
minutes the user can spend, estimated from their own answer times.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from srs.clock import Clock
from srs.competencies import COMPETENCIES
from srs.domain import CardState, NoteKind, Rating
from srs.errors import ConfigError
from srs.models import Card, Deck, Note, Review, Story
from srs.scheduler import NEW, Memory, Scheduler, memory_of
from srs.settings import (
    Schedulers,
    clock_for,
    default_preset,
    get_setting,
    interview_day,
    set_setting,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DEFAULT_SECONDS_PER_REVIEW = 60.0  # until the user has MIN_OWN_ANSWERS answer times of their own: one question answered aloud
MIN_OWN_ANSWERS = 30  # fewer answers than this say little about how long the user takes
MAX_PLAN_DAYS = 365  # a plan is for an interview, not a year of study
MAX_MINUTES = 600  # ten hours a day is not a budget, it is a typo


def set_plan(session: Session, interview: str, max_minutes: int | None, now: datetime) -> None:

    try:
        day = date.fromisoformat(interview)
    except ValueError:
        raise ConfigError(f"not a date: {interview!r} (use YYYY-MM-DD)") from None
    clock = clock_for(session)
    today = clock.date_of_day(clock.today(now))
    if day <= today:
        raise ConfigError(f"the interview date {day.isoformat()} is not in the future")
    if (day - today).days > MAX_PLAN_DAYS:
        raise ConfigError(f"the interview date {day.isoformat()} is more than a year away; a plan aims at an interview within {MAX_PLAN_DAYS} days")
    if max_minutes is not None and not 0 < max_minutes <= MAX_MINUTES:
        raise ConfigError(f"--max-minutes must be between 1 and {MAX_MINUTES}, got {max_minutes}")
    set_setting(session, "interview_date", day.isoformat())
    set_setting(session, "plan_max_minutes", max_minutes or 0)


def clear_plan(session: Session) -> None:

    set_setting(session, "interview_date", "")
    set_setting(session, "plan_max_minutes", 0)


def answer_time(session: Session) -> tuple[float, int]:
    """Seconds per answer, and how many of the user's answers it comes from (0: the documented default).

    The median of the user's last 500 answer times once there are at least
    MIN_OWN_ANSWERS of them; before that, DEFAULT_SECONDS_PER_REVIEW.
    """
    rows = session.connection().exec_driver_sql(
        "SELECT duration_ms FROM reviews WHERE duration_ms > 0 ORDER BY reviewed_at DESC LIMIT 500"
    ).all()
    if len(rows) < MIN_OWN_ANSWERS:
        return DEFAULT_SECONDS_PER_REVIEW, 0
    return statistics.median(r[0] for r in rows) / 1000, len(rows)


def seconds_per_review(session: Session) -> float:
    """Seconds per answer for budgets (see answer_time)."""
    return answer_time(session)[0]


def daily_review_cap(session: Session, now: datetime | None = None) -> int | None:
    """Reviews per day that fit the plan's minutes, if the plan sets minutes (and, given *now*, its interview day has
    not passed: the budget was for the days up to it)."""

    minutes = int(get_setting(session, "plan_max_minutes") or 0)
    if not get_setting(session, "interview_date") or minutes <= 0:
        return None
    if now is not None and plan_ended(session, now):
        return None
    return max(1, int(minutes * 60 // seconds_per_review(session)))


def plan_ended(session: Session, now: datetime) -> bool:
    """Whether a plan is set and its interview day is over (the day after it has begun, on the collection's clock).

    The plan then stops shaping the days: no review budget, no new-card pace, and the interval cap keeps every
    interval (its aim is past). The date stays until the user sets the next one or clears it.
    """
    clock = clock_for(session)
    target_day = interview_day(session, clock)
    return target_day is not None and clock.today(now) > target_day


# New cards are introduced over the plan's first days and not in its last
# CONSOLIDATION_DAYS, so each is seen again before the interview; in those
# days, the new cards still waiting (skipped days, a tight budget) come in as
# the budget allows after the reviews due: a card first seen two days before
# the interview is far likelier recalled on the morning than one never seen,
# and than the same minutes spent reviewing cards already likely recalled
# (bench/deadline.py measures both).
CONSOLIDATION_DAYS = 3
FOLLOW_UP_DAYS = 14  # recall this long after the interview is the floor the plan must keep
# When minutes are short, new cards of these kinds come first: the user's own stories and pitch.
NEW_CARD_ORDER = {NoteKind.STORY: 0, NoteKind.PITCH: 0, NoteKind.QUESTION: 1, NoteKind.ASK: 2, NoteKind.CONCEPT: 3, NoteKind.LIST: 3}


@dataclass
class _Sim:
    """One card in the plan's simulation: its memory, its scheduler, and what it is."""

    card_id: int
    deck: str
    kind: str
    memory: Memory
    scheduler: Scheduler
    due_day: int | None


def _noon(clock: Clock, day: int) -> datetime:
    return clock.day_start(day) + timedelta(hours=8)


def simulate_plan(session: Session, now: datetime, target_day: int, budget: int | None) -> dict[str, Any]:
    """Day by day to the interview, answering Good: which new cards come in when, which reviews fit the budget.

    *budget* is answers per day (None: no limit). Reviews due on a day are
    done most-useful-first when the budget binds: by how much the review
    raises recall on the interview morning, per answer. New cards come in at
    an even pace over the days before the last CONSOLIDATION_DAYS, stories and
    the pitch first; those still waiting then come in during the last days as
    the budget allows, and those it leaves no room for are reported.
    """
    clock = clock_for(session)
    today = clock.today(now)
    schedulers = Schedulers(session, clock, fuzz=False)
    rows = session.execute(
        select(Card, Note.kind, Deck.name).join(Note, Note.id == Card.note_id).join(Deck, Deck.id == Card.deck_id)
        .where(Card.suspended.is_(False), Note.orphaned.is_(False))
    ).all()
    cards: list[_Sim] = []
    new: list[_Sim] = []
    for card, kind, deck in rows:  # the schedulers aim at the interview (Schedulers reads the plan), without fuzz
        sim = _Sim(card.id, deck, kind, memory_of(card), schedulers.for_card(card), clock.day_of(card.due) if card.due else None)
        (new if card.state == CardState.NEW else cards).append(sim)
    new.sort(key=lambda c: (NEW_CARD_ORDER.get(c.kind, 3), c.card_id))
    reviewed = len(cards)
    # Today is partly spent: its answers use the budget, and the new cards already introduced today use its pace.
    answered_today, introduced_today = _spent_today(session, clock.day_start(today))
    days = target_day - today
    intro_days = max(1, days - CONSOLIDATION_DAYS)
    schedule: list[dict[str, int]] = []
    pending_new = list(new)
    interview_morning = _noon(clock, target_day) - timedelta(hours=4)
    for offset in range(days):
        day = today + offset
        at = _noon(clock, day)
        room = budget if budget is not None else 1 << 30
        due = [c for c in cards if c.due_day is not None and c.due_day <= day]
        # an even pace before the last days; in them, whatever is still waiting, as the budget allows
        pace = -(-len(pending_new) // max(1, intro_days - offset)) if offset < intro_days else len(pending_new)
        if offset == 0:
            room = max(0, room - answered_today)
            pace = max(0, pace - introduced_today)
        reviews = introduced = answers = 0
        # the user's own stories and pitch first (their reviews, then their new cards), then the rest
        for own in (True, False):
            group = [c for c in due if (NEW_CARD_ORDER.get(c.kind, 3) == 0) == own]
            if len(group) > room:  # the budget binds: most recall on the interview morning per answer first
                group.sort(key=lambda c: _recall(c, interview_morning))  # the least likely to be recalled gain most;
                shortlist = group[: 3 * room]  # the exact gain decides among the likeliest few
                shortlist.sort(key=lambda c: -_gain(c, at, target_day))
                group = shortlist[:room]
            for c in group:
                c.memory = c.scheduler.review(c.memory, Rating.GOOD, at, c.card_id)
                c.due_day = clock.day_of(c.memory.due) if c.memory.due else None
            room -= len(group)
            reviews += len(group)
            answers += len(group)
            while pending_new and introduced < pace and (NEW_CARD_ORDER.get(pending_new[0].kind, 3) == 0) == own:
                c = pending_new[0]
                if _introduce_cost(c) > room:
                    break
                pending_new.pop(0)
                spent = _introduce(c, at)
                room -= spent
                answers += spent
                introduced += 1
                cards.append(c)
        schedule.append({"day": day, "new": introduced, "reviews": reviews, "answers": answers, "last_days": offset >= intro_days})
    later = interview_morning + timedelta(days=FOLLOW_UP_DAYS)
    # a card the plan leaves unseen counts, at no recall: the goal is the mean over every card, not over those that fit
    recall_day = [_recall(c, interview_morning) for c in cards] + [0.0] * len(pending_new)
    recall_later = [_recall(c, later) for c in cards] + [0.0] * len(pending_new)
    stories: dict[str, list[float]] = {}  # competency slug -> recall on the day of each of its story cards
    competencies_of: dict[int, list[str]] = {int(n): list(c) for n, c in session.execute(select(Story.note_id, Story.competencies))}
    note_of: dict[int, int] = {int(c): int(n) for c, n in session.execute(select(Card.id, Card.note_id))}
    for c, r in zip(cards, recall_day):
        if c.kind == NoteKind.STORY:
            for slug in competencies_of.get(note_of.get(c.card_id, -1), []):
                stories.setdefault(slug, []).append(r)
    left: dict[str, int] = {}
    for c in pending_new:
        left[c.deck] = left.get(c.deck, 0) + 1
    deferred = sum(1 for c in cards if c.due_day is not None and c.due_day < target_day)  # still overdue on the day
    return {
        "schedule": schedule, "recall_day": recall_day, "recall_later": recall_later, "left_out": left,
        "deferred_reviews": deferred, "reviewed": reviewed, "new_total": len(new), "stories": stories,
        "new_cost": sum(_introduce_cost(c) for c in pending_new),
    }


def _spent_today(session: Session, start: datetime) -> tuple[int, int]:
    """Answers given since *start* (the day's beginning), and how many of them introduced a new card."""
    answered, introduced = session.execute(
        select(func.count(Review.id), func.count(Review.id).filter(Review.prev_state == CardState.NEW)).where(Review.reviewed_at >= start)
    ).one()
    return int(answered or 0), int(introduced or 0)


def _introduce_cost(card: _Sim) -> int:
    """Answers a new card takes on its first day (Good through the learning steps)."""
    return max(1, len(card.scheduler.learning_steps))


def _introduce(card: _Sim, at: datetime) -> int:
    memory, answers = NEW, 0
    when = at
    while True:
        memory = card.scheduler.review(memory, Rating.GOOD, when, card.card_id)
        answers += 1
        if memory.state == CardState.REVIEW or memory.due is None or answers > 10:
            break
        when = max(when, memory.due)
    card.memory = memory
    card.due_day = card.scheduler.clock.day_of(memory.due) if memory.due else None
    return answers


def _recall(card: _Sim, at: datetime) -> float:
    m = card.memory
    if m.stability is None or m.last_review is None:
        return 0.0
    return card.scheduler.recall(m.stability, max(0.0, (at - m.last_review).total_seconds() / 86_400))


def _gain(card: _Sim, at: datetime, target_day: int) -> float:
    """How much answering *card* now raises its recall on the interview morning."""
    morning = _noon(card.scheduler.clock, target_day) - timedelta(hours=4)
    before = _recall(card, morning)
    after = card.scheduler.review(card.memory, Rating.GOOD, at, card.card_id)
    assert after.stability is not None
    return card.scheduler.recall(after.stability, max(0.0, (morning - at).total_seconds() / 86_400)) - before


def planned_new_today(session: Session, now: datetime) -> int | None:
    """New cards the plan introduces today, or None without a plan.

    Before the last CONSOLIDATION_DAYS: an even pace, so the new cards are all
    in by then. In the last days: every new card still waiting, or with a
    daily budget as many as its answers allow (each new card takes an answer
    per learning step). `srs review` takes the larger of this and the
    new_per_day setting, and shows new cards after the reviews due.
    """
    clock = clock_for(session)
    target_day = interview_day(session, clock)
    if target_day is None:
        return None
    today = clock.today(now)
    if today >= target_day:
        return 0
    waiting = int(session.scalar(
        select(func.count(Card.id)).join(Note, Note.id == Card.note_id)
        .where(Card.state == CardState.NEW, Card.suspended.is_(False), Note.orphaned.is_(False))
    ) or 0)
    intro_days = target_day - CONSOLIDATION_DAYS - today
    if intro_days > 0:
        return -(-waiting // intro_days)
    cap = daily_review_cap(session)
    if cap is None:
        return waiting
    steps = max(1, len(default_preset(session).learning_steps))
    return min(waiting, cap // steps)


def plan_report(session: Session, now: datetime) -> dict[str, Any]:
    """Days left, the plan day by day (new cards and reviews), and recall on the day and two weeks later."""
    clock = clock_for(session)
    target_day = interview_day(session, clock)
    if target_day is None:  # not an error: the answer is how to set one
        return {"interview": None, "days_left": None, "ended": False, "set_with": "srs plan --interview YYYY-MM-DD [--max-minutes N]"}
    today = clock.today(now)
    minutes = int(get_setting(session, "plan_max_minutes") or 0) or None
    if today > target_day:  # nothing left to plan: say so, and how to go on
        return {"interview": clock.date_of_day(target_day).isoformat(), "days_left": target_day - today, "ended": True,
                "max_minutes": minutes}
    per_answer, own = answer_time(session)
    budget = max(1, int(minutes * 60 // per_answer)) if minutes else None
    sim = simulate_plan(session, now, target_day, budget)
    recall_day, recall_later = sim["recall_day"], sim["recall_later"]
    left_out = sum(sim["left_out"].values())
    days = max(1, target_day - today)
    extra = 0.0
    if left_out or sim["deferred_reviews"]:
        extra = (sim["new_cost"] + sim["deferred_reviews"]) * per_answer / 60 / days
    return {
        "interview": clock.date_of_day(target_day).isoformat(),
        "days_left": target_day - today,
        "ended": False,
        "max_minutes": minutes,
        "seconds_per_answer": round(per_answer, 1),
        "seconds_per_answer_from": f"your last {own} answers" if own else f"the default (fewer than {MIN_OWN_ANSWERS} answers of yours)",
        "seconds_per_review": round(per_answer, 1),
        "daily_review_cap": budget,
        "reviewed_cards": sim["reviewed"],
        "new_cards": sim["new_total"],
        "reachable": left_out == 0 and sim["deferred_reviews"] == 0,
        # new cards the budget leaves no room for earlier, first seen in the last CONSOLIDATION_DAYS
        "new_in_last_days": sum(d["new"] for d in sim["schedule"] if d["last_days"]),
        "left_out": {"cards": left_out, "by_deck": sim["left_out"], "deferred_reviews": sim["deferred_reviews"],
                     "more_minutes_a_day": round(extra, 1)},
        "recall_on_the_day": {
            "mean": round(sum(recall_day) / len(recall_day), 4) if recall_day else None,
            "at_least_90_percent": sum(r >= 0.9 for r in recall_day),
            "below_70_percent": sum(r < 0.7 for r in recall_day),
        },
        "recall_two_weeks_later": {"mean": round(sum(recall_later) / len(recall_later), 4) if recall_later else None},
        # every competency should have a story whose cards are at 0.9 or more on the day
        "competencies": {
            c.label: ("ready" if c.slug in sim["stories"] and min(sim["stories"][c.slug]) >= 0.9
                      else "story below 90%" if c.slug in sim["stories"] else "no story")
            for c in COMPETENCIES
        },
        "workload": [
            {
                "date": clock.date_of_day(d["day"]).isoformat(),
                "new": d["new"],
                "reviews": d["reviews"],
                "minutes": round(d["answers"] * per_answer / 60, 1),
                "over_limit": bool(budget is not None and d["answers"] > budget),
            }
            for d in sim["schedule"]
        ],
    }
