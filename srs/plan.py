"""An interview date the schedule aims at, and the day-by-day workload to it.

With a plan set, intervals that would jump past the interview are capped when
recall on the day would fall below the desired retention (see
``Scheduler.aim_at_deadline``), and the daily review limit follows the
minutes the user can spend, estimated from their own answer times.
"""

from __future__ import annotations

import statistics
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from srs.domain import CardState
from srs.errors import ConfigError
from srs.models import Card
from srs.settings import Schedulers, clock_for, get_setting, interview_day, set_setting

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DEFAULT_SECONDS_PER_REVIEW = 60.0  # before the user has answer times of their own


def set_plan(session: Session, interview: str, max_minutes: int | None, now: datetime) -> None:

    try:
        day = date.fromisoformat(interview)
    except ValueError:
        raise ConfigError(f"not a date: {interview!r} (use YYYY-MM-DD)") from None
    clock = clock_for(session)
    if day <= clock.date_of_day(clock.today(now)):
        raise ConfigError(f"the interview date {day.isoformat()} is not in the future")
    if max_minutes is not None and max_minutes <= 0:
        raise ConfigError(f"--max-minutes must be positive, got {max_minutes}")
    set_setting(session, "interview_date", day.isoformat())
    set_setting(session, "plan_max_minutes", max_minutes or 0)


def clear_plan(session: Session) -> None:

    set_setting(session, "interview_date", "")
    set_setting(session, "plan_max_minutes", 0)


def seconds_per_review(session: Session) -> float:
    """The median of the user's recent answer times (60 s before there are any)."""
    rows = session.connection().exec_driver_sql(
        "SELECT duration_ms FROM reviews WHERE duration_ms > 0 ORDER BY reviewed_at DESC LIMIT 500"
    ).all()
    return statistics.median(r[0] for r in rows) / 1000 if rows else DEFAULT_SECONDS_PER_REVIEW


def daily_review_cap(session: Session) -> int | None:
    """Reviews per day that fit the plan's minutes, if the plan sets minutes."""

    minutes = int(get_setting(session, "plan_max_minutes") or 0)
    if not get_setting(session, "interview_date") or minutes <= 0:
        return None
    return max(1, int(minutes * 60 // seconds_per_review(session)))


def plan_report(session: Session, now: datetime) -> dict[str, Any]:
    """Days left, recall on the day under today's schedule, and the workload to the interview."""
    clock = clock_for(session)
    target_day = interview_day(session, clock)
    if target_day is None:
        raise ConfigError("no interview date set: srs plan --interview YYYY-MM-DD")
    today = clock.today(now)
    schedulers = Schedulers(session, clock)
    per_second = seconds_per_review(session)
    due_per_day = [0] * max(0, target_day - today + 1)
    recalls = []
    new_cards = 0
    for card in session.scalars(select(Card).where(Card.suspended.is_(False))):
        if card.state == CardState.NEW or card.stability is None or card.last_review is None:
            new_cards += 1
            continue
        scheduler = schedulers.for_card(card)
        # Recall on the day under today's schedule: a card due before the
        # interview is refreshed then, so its current stability from its due
        # day on gives a lower bound; otherwise from its last review.
        due_day = clock.day_of(card.due) if card.due else today
        if due_day <= target_day:
            due_per_day[max(0, due_day - today)] += 1
            recalls.append(scheduler.recall(card.stability, target_day - max(due_day, today)))
        else:
            recalls.append(scheduler.recall(card.stability, target_day - clock.day_of(card.last_review)))
    cap = daily_review_cap(session)
    minutes = int(get_setting(session, "plan_max_minutes") or 0) or None
    return {
        "interview": clock.date_of_day(target_day).isoformat(),
        "days_left": target_day - today,
        "max_minutes": minutes,
        "seconds_per_review": round(per_second, 1),
        "daily_review_cap": cap,
        "reviewed_cards": len(recalls),
        "new_cards": new_cards,
        "recall_on_the_day": {
            "mean": round(sum(recalls) / len(recalls), 4) if recalls else None,
            "at_least_90_percent": sum(r >= 0.9 for r in recalls),
            "below_70_percent": sum(r < 0.7 for r in recalls),
        },
        "workload": [
            {
                "date": clock.date_of_day(today + i).isoformat(),
                "reviews": n,
                "minutes": round(n * per_second / 60, 1),
                "over_limit": bool(minutes and n * per_second / 60 > minutes),
            }
            for i, n in enumerate(due_per_day)
        ],
    }
