"""Interview plans: capped intervals, the daily cap from minutes, the report and bad input."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from srs.cli import cli
from srs.clock import Clock
from srs.db import Database
from srs.domain import Rating
from srs.models import Card
from srs.plan import daily_review_cap, plan_report, set_plan
from srs.review import Limits, ReviewSession
from srs.scheduler import NEW, Scheduler

from .conftest import NOW
from .test_review import add_notes

BERLIN = ZoneInfo("Europe/Berlin")


def test_interval_past_the_interview_is_capped_only_when_recall_would_drop() -> None:
    """A long interval jumping past the interview comes back in the last stretch; a safe one stays."""
    clock = Clock(BERLIN, 4)
    today = clock.today(NOW)
    plain = Scheduler(clock, fuzz=False)
    planned = Scheduler(clock, fuzz=False, deadline_day=today + 10)
    memory = plain.review(NEW, Rating.EASY, NOW, 1)  # 8 days: before the interview, untouched
    assert planned.review(NEW, Rating.EASY, NOW, 1).due == memory.due
    later = NOW + timedelta(days=8)
    long_plain = plain.review(memory, Rating.EASY, later, 1)
    long_planned = planned.review(memory, Rating.EASY, later, 1)
    assert clock.day_of(long_plain.due) > today + 10  # type: ignore[arg-type]
    # recall on the interview day (2 days after the answer) stays above 90%: no cap
    assert long_planned.due == long_plain.due
    far = Scheduler(clock, fuzz=False, deadline_day=today + 60)
    assert far.aim_at_deadline(100, 5.0, today) == 60 - Scheduler.stretch(60)
    assert far.aim_at_deadline(100, 5000.0, today) == 100  # recall on the day stays at the target
    assert far.aim_at_deadline(30, 5.0, today) == 30  # seen again before the interview anyway


def test_daily_cap_follows_minutes_and_answer_times(db: Database) -> None:
    """The review limit becomes minutes x 60 / median answer time."""
    ids = add_notes(db, 3)
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(10, 100))
        for i, card_id in enumerate(ids):
            review.answer(session.get(Card, card_id), Rating.EASY, NOW + timedelta(seconds=i), 30_000)  # type: ignore[arg-type]
        assert daily_review_cap(session) is None
        set_plan(session, "2026-12-20", 10, NOW)
        session.commit()
        assert daily_review_cap(session) == 20  # 10 minutes at 30 s each
        assert Limits.from_settings(session).reviews_per_day == 20
        report = plan_report(session, NOW)
    assert report["days_left"] == 25 and len(report["workload"]) == 26
    assert report["seconds_per_review"] == 30.0 and report["reviewed_cards"] == 3
    assert sum(day["reviews"] for day in report["workload"]) == 3  # each Easy card is due before the interview


def test_plan_cli_and_bad_input(tmp_path: Path) -> None:
    """Dates in the past or unparseable and non-positive minutes are one-line errors; --clear drops the plan."""
    db = str(tmp_path / "p.db")
    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, ["--db", db, "--now", "2026-11-25T08:00:00", "plan", *args])

    assert runner.invoke(cli, ["--db", db, "config", "timezone", "Europe/Berlin"]).exit_code == 0

    assert (run("--interview", "2026-11-20").output, run("--interview", "2026-11-20").exit_code) == (
        "Error: the interview date 2026-11-20 is not in the future\n", 1)
    assert run("--interview", "soon").output == "Error: not a date: 'soon' (use YYYY-MM-DD)\n"
    assert run("--interview", "2026-12-10", "--max-minutes", "0").output == "Error: --max-minutes must be positive, got 0\n"
    assert run().output == "Error: no interview date set: srs plan --interview YYYY-MM-DD\n"
    data = json.loads(run("--interview", "2026-12-10", "--max-minutes", "15", "--json").output)
    assert (data["interview"], data["days_left"], data["max_minutes"], data["daily_review_cap"]) == ("2026-12-10", 15, 15, 15)
    assert run("--clear").output == "Plan cleared: scheduling is plain FSRS again.\n"
    assert run().exit_code == 1
