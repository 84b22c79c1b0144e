"""Interview plans: capped intervals, the daily cap from minutes, the report and bad input."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from srs.cli import cli
from srs.clock import Clock
from srs.db import Database, open_database
from srs.domain import Rating
from srs.models import Card
from srs.plan import daily_review_cap, plan_report, planned_new_today, set_plan
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


def test_after_the_interview_the_plan_leaves_schedules_alone_and_warns_of_nothing() -> None:
    """An interview date left set once it has passed: cards answered days after it (a forgotten card, whose recall on
    a day long gone the aim must not ask for) are scheduled as without a plan, one at a time and in a replay, with no
    warning from the arithmetic (the suite turns warnings into errors)."""
    import numpy as np

    clock = Clock(BERLIN, 4)
    today = clock.today(NOW)
    plain = Scheduler(clock, fuzz=True)
    past = Scheduler(clock, fuzz=True, deadline_day=today - 30)
    answers = [(Rating.AGAIN, NOW), (Rating.AGAIN, NOW + timedelta(days=60)), (Rating.GOOD, NOW + timedelta(days=61))]
    ours = theirs = NEW
    for rating, at in answers:
        ours, theirs = past.review(ours, rating, at, 7), plain.review(theirs, rating, at, 7)
        assert ours == theirs
    assert past.aim_at_deadline(40, 0.5, today) == 40
    ms = np.array([int(at.timestamp() * 1000) for _, at in answers], dtype=np.int64)
    replay = past.replay_batch(np.array([7]), np.array([0, 3]), np.array([int(r) for r, _ in answers]), ms)
    expected = plain.replay_batch(np.array([7]), np.array([0, 3]), np.array([int(r) for r, _ in answers]), ms)
    for a, b in zip(replay, expected):
        assert np.array_equal(a, b)


def test_daily_cap_follows_minutes_and_answer_times(db: Database) -> None:
    """The review limit becomes minutes x 60 / median answer time; the user's own times count from 30 answers on."""
    ids = add_notes(db, 40)
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(40, 100))
        for i, card_id in enumerate(ids[:3]):
            review.answer(session.get(Card, card_id), Rating.EASY, NOW + timedelta(seconds=i), 30_000)  # type: ignore[arg-type]
        assert daily_review_cap(session) is None
        set_plan(session, "2026-12-20", 10, NOW)
        session.commit()
        assert daily_review_cap(session) == 10  # three answers say little: the 60 s default
        report = plan_report(session, NOW)
        assert report["seconds_per_answer_from"] == "the default (fewer than 30 answers of yours)"
        for i, card_id in enumerate(ids[3:33]):
            review.answer(session.get(Card, card_id), Rating.EASY, NOW + timedelta(seconds=10 + i), 30_000)  # type: ignore[arg-type]
        session.commit()
        assert daily_review_cap(session) == 20  # 10 minutes at the user's 30 s each
        assert Limits.from_settings(session).reviews_per_day == 20
        report = plan_report(session, NOW)
    assert report["days_left"] == 25 and len(report["workload"]) == 25
    assert report["seconds_per_answer"] == 30.0 and report["seconds_per_answer_from"] == "your last 33 answers"
    assert report["reviewed_cards"] == 33 and report["new_cards"] == 7
    assert sum(day["new"] for day in report["workload"]) == 7 and report["reachable"]
    assert sum(day["reviews"] for day in report["workload"]) >= 33  # each Easy card is due again before the interview


def test_today_in_the_plan_counts_what_was_already_done_today(db: Database) -> None:
    """The plan's first day subtracts today's answers from the budget and today's new cards from the pace: with the day's
    minutes spent, it plans nothing more today; without answers today, it plans the full pace."""
    ids = add_notes(db, 30)
    with db.session(write=True) as session:
        set_plan(session, "2026-12-05", 5, NOW)  # 10 days; 5 minutes at the 60 s default: 5 answers a day
        session.commit()
        fresh = plan_report(session, NOW)["workload"][0]
        assert fresh["new"] > 0 and fresh["minutes"] > 0
        review = ReviewSession(session, Limits(40, 100))
        for i, card_id in enumerate(ids[:5]):
            review.answer(session.get(Card, card_id), Rating.EASY, NOW + timedelta(seconds=i), 60_000)  # type: ignore[arg-type]
        session.commit()
        later = plan_report(session, NOW + timedelta(minutes=5))
    assert (later["workload"][0]["new"], later["workload"][0]["reviews"]) == (0, 0)  # the budget is spent
    assert later["new_cards"] == 25


def test_the_report_says_how_many_new_cards_come_in_only_in_the_last_days(db: Database) -> None:
    """When the budget leaves no room for every new card before the last three days, the report counts those that come
    in then and does not say "Every card fits"; with room, the count is 0 and the sentence says so."""
    add_notes(db, 40)
    with db.session(write=True) as session:
        set_plan(session, "2026-12-01", 4, NOW)  # 6 days, 4 answers a day: 40 new cards cannot all come in by day 3
        session.commit()
        tight = plan_report(session, NOW)
        set_plan(session, "2026-12-20", 120, NOW)
        session.commit()
        roomy = plan_report(session, NOW)
    days = tight["workload"]
    assert tight["new_in_last_days"] == sum(d["new"] for d in days[-3:]) > 0
    assert roomy["new_in_last_days"] == 0 and roomy["reachable"]
    from srs.terminal import plan_view

    def text(report: dict) -> str:  # type: ignore[type-arg]
        from rich.console import Console

        console = Console(width=200, record=True)
        console.print(plan_view(report))
        return " ".join(console.export_text().split())

    assert "Every card fits: each new card comes in before the last three days." in text(roomy)
    assert "Every card fits" not in text(tight)


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
    assert run("--interview", "2026-12-10", "--max-minutes", "0").output == "Error: --max-minutes must be between 1 and 600, got 0\n"
    assert run("--interview", "2026-12-10", "--max-minutes", "601").output == "Error: --max-minutes must be between 1 and 600, got 601\n"
    far = run("--interview", "3026-01-01")
    assert (far.exit_code, far.output) == (1, "Error: the interview date 3026-01-01 is more than a year away; a plan aims at an interview within 365 days\n")
    unset = run()
    assert (unset.exit_code, " ".join(unset.output.split())) == (
        0, "No interview date set: `srs plan --interview YYYY-MM-DD [--max-minutes N]` sets one, and srs aims the schedule at it.")
    assert json.loads(run("--json").output) == {
        "interview": None, "days_left": None, "ended": False, "set_with": "srs plan --interview YYYY-MM-DD [--max-minutes N]"}
    data = json.loads(run("--interview", "2026-12-10", "--max-minutes", "15", "--json").output)
    assert (data["interview"], data["days_left"], data["max_minutes"], data["daily_review_cap"]) == ("2026-12-10", 15, 15, 15)
    assert run("--clear").output == "Plan cleared: scheduling is plain FSRS again.\n"
    assert run().output.startswith("No interview date set")


def test_a_plan_ends_the_day_after_its_interview(tmp_path: Path) -> None:
    """On the interview day the plan still shapes the day (its budget caps reviews); from the next day on it has ended:
    `srs plan` says so and how to go on (exit 0), the JSON says `ended`, and the budget no longer caps reviews."""
    db = str(tmp_path / "e.db")
    runner = CliRunner()

    def run(at: str, *args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, ["--db", db, "--now", at, "plan", *args])

    assert runner.invoke(cli, ["--db", db, "config", "timezone", "Europe/Berlin"]).exit_code == 0
    assert runner.invoke(cli, ["--db", db, "config", "reviews_per_day", "200"]).exit_code == 0
    assert run("2026-11-25T08:00:00", "--interview", "2026-11-30", "--max-minutes", "5").exit_code == 0
    on_the_day = json.loads(run("2026-11-30T08:00:00", "--json").output)
    assert (on_the_day["days_left"], on_the_day["ended"], on_the_day["daily_review_cap"]) == (0, False, 5)
    after = run("2026-12-03T08:00:00")
    assert after.exit_code == 0
    assert "Interview 2026-11-30: 3 days ago. The plan has ended." in after.output and "srs plan --clear" in after.output
    assert json.loads(run("2026-12-03T08:00:00", "--json").output) == {
        "interview": "2026-11-30", "days_left": -3, "ended": True, "max_minutes": 5,
    }
    database = open_database(db)
    with database.session() as session:
        assert Limits.from_settings(session, now=NOW + timedelta(days=5)).reviews_per_day == 5  # 2026-11-30, Berlin
        assert Limits.from_settings(session, now=NOW + timedelta(days=6)).reviews_per_day == 200
        assert daily_review_cap(session, NOW + timedelta(days=6)) is None and daily_review_cap(session) == 5
    database.close()


def test_new_cards_are_planned_and_stories_come_first_when_minutes_are_short(tmp_path: Path) -> None:
    from .test_stories import STORY

    db = str(tmp_path / "n.db")
    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, ["--db", db, "--now", "2026-11-25T08:00:00", *args])

    assert run("config", "timezone", "UTC").exit_code == 0  # days are counted in a pinned zone, not this machine's
    story = tmp_path / "story.md"
    story.write_text(STORY)
    assert run("story", "add", "--file", str(story)).exit_code == 0
    roomy = json.loads(run("plan", "--interview", "2026-12-02", "--max-minutes", "300", "--json").output)
    days = roomy["workload"]
    assert roomy["reachable"] and roomy["left_out"]["cards"] == 0
    assert sum(d["new"] for d in days) == roomy["new_cards"] >= 86
    assert all(d["new"] > 0 for d in days[:4]) and all(d["new"] == 0 for d in days[4:])  # none in the last three days
    assert roomy["recall_on_the_day"]["mean"] > 0.8 and roomy["recall_two_weeks_later"]["mean"] > 0.5
    assert roomy["seconds_per_answer_from"].startswith("the default")
    tight = json.loads(run("plan", "--interview", "2026-12-02", "--max-minutes", "4", "--json").output)
    assert not tight["reachable"] and tight["left_out"]["cards"] > 0 and tight["left_out"]["more_minutes_a_day"] > 0
    assert "Interview::Stories" not in tight["left_out"]["by_deck"]  # the user's own stories come in first
    assert all(d["minutes"] <= 4 for d in tight["workload"])
    # the budget binds all week: the new cards still waiting come in during the last three days too, as it allows
    assert all(d["new"] > 0 for d in tight["workload"][-3:])
    assert sum(d["new"] for d in tight["workload"]) + tight["left_out"]["cards"] == tight["new_cards"]
    # the cards that never come in count at no recall: the mean is over every card, not over those that fit
    assert tight["recall_on_the_day"]["below_70_percent"] >= tight["left_out"]["cards"]
    assert tight["recall_on_the_day"]["mean"] <= 1 - tight["left_out"]["cards"] / tight["new_cards"]
    text = run("plan").output
    assert "Does not fit" in text and "more minutes a day" in text and "never seen" in text


def test_a_long_plan_shows_thirty_days_then_a_summary(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    assert CliRunner().invoke(cli, ["--db", db, "config", "timezone", "UTC"]).exit_code == 0
    out = CliRunner(env={"COLUMNS": "120"}).invoke(cli, ["--db", db, "--now", "2026-11-25T08:00:00", "plan", "--interview", "2027-11-20"])
    assert out.exit_code == 0, out.output
    assert "2027-11-19 (330 days)" in out.output
    assert out.output.count("\n") < 60


def test_the_plan_paces_new_cards_in_review_and_reports_competencies(tmp_path: Path) -> None:
    from .test_stories import STORY

    db = str(tmp_path / "c.db")
    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, ["--db", db, "--now", "2026-11-25T08:00:00", *args])

    assert run("config", "timezone", "UTC").exit_code == 0
    assert json.loads(run("status", "--json").output)["due"]["new"] == 10  # the new_per_day setting
    story = tmp_path / "story.md"
    story.write_text(STORY)
    assert run("story", "add", "--file", str(story)).exit_code == 0
    report = json.loads(run("plan", "--interview", "2026-12-02", "--json").output)
    waiting = report["new_cards"]
    # 7 days, the last 3 for consolidation: the new cards come in over 4 days, and review follows that pace
    assert json.loads(run("status", "--json").output)["due"]["new"] == -(-waiting // 4) > 10
    competencies = report["competencies"]
    assert competencies["Conflict"] == "no story"
    assert competencies["Impact"] in ("ready", "story below 90%")  # the story covers impact
    assert "Competencies without a story at 90%+ on the day" in run("plan").output


def test_in_the_last_days_review_catches_up_on_the_weakest_cards(db: Database) -> None:
    """Three days before the interview, with nothing due, review shows the card least likely to be recalled on the day."""
    from srs.review import Limits, ReviewSession

    ids = add_notes(db, 3)
    with db.session(write=True) as session:
        study = ReviewSession(session, Limits(10, 100))
        for i, card_id in enumerate(ids):  # three cards graduated with Easy; the second answered longest ago (the weakest)
            card = session.get(Card, card_id)
            assert card is not None
            study.answer(card, Rating.EASY, NOW - timedelta(days=2 if i == 1 else 0, seconds=-i), 5000)
        session.commit()
        later = NOW + timedelta(days=1, hours=2)
        assert ReviewSession(session, Limits(10, 100)).queue(later).card_id is None  # nothing due, no plan: nothing
        set_plan(session, (later + timedelta(days=2)).date().isoformat(), None, NOW)
        session.commit()
        queue = ReviewSession(session, Limits(10, 100)).queue(later)
        assert queue.card_id == ids[1]
        set_plan(session, (later + timedelta(days=20)).date().isoformat(), None, NOW)
        session.commit()
        assert ReviewSession(session, Limits(10, 100)).queue(later).card_id is None  # not yet the last days


def test_in_the_last_days_the_new_cards_still_waiting_come_before_the_catch_up(db: Database) -> None:
    """Two days before the interview the plan offers every waiting new card (or as many as the minutes allow), and review
    shows a new card before catching up on reviewed ones: a first sight then is worth more on the morning (bench/deadline.py)."""
    ids = add_notes(db, 30)
    with db.session(write=True) as session:
        study = ReviewSession(session, Limits(10, 100))
        for i, card_id in enumerate(ids[:2]):  # two cards graduated with Easy: not due, below 97% on the interview morning
            study.answer(session.get(Card, card_id), Rating.EASY, NOW - timedelta(days=2, seconds=-i), 5000)  # type: ignore[arg-type]
        session.commit()
        later = NOW + timedelta(days=1, hours=2)
        interview = (later + timedelta(days=2)).date().isoformat()
        set_plan(session, interview, None, NOW)
        session.commit()
        assert planned_new_today(session, later) == 28  # every card still new
        assert Limits.from_settings(session, now=later).new_per_day == 28
        shown = ReviewSession(session, Limits.from_settings(session, now=later)).queue(later).card_id
        assert shown in ids[2:]  # a new card, not the catch-up of the two weak ones
        assert ReviewSession(session, Limits(0, 100)).queue(later).card_id in ids[:2]  # no new cards left today: catch-up
        set_plan(session, interview, 10, NOW)  # 10 minutes at the 60 s default: 10 answers, two learning steps per new card
        session.commit()
        assert planned_new_today(session, later) == 5
        set_plan(session, (later + timedelta(days=20)).date().isoformat(), None, NOW)
        session.commit()
        assert planned_new_today(session, later) == -(-28 // 17)  # not the last days: the even pace
