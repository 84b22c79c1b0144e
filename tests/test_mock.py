"""Mock interviews: the draw across competencies, the timed loop, the summary."""

from __future__ import annotations

import io
import random
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy import func, select

from srs.db import Database
from srs.decks import ensure_builtin_decks
from srs.mock import pick_questions
from srs.models import Review
from srs.review import Limits, ReviewSession
from srs.settings import SYNCED_REVIEW, set_setting
from srs.stories import link_story, save_story
from srs.story_format import parse_story
from srs.terminal import run_mock

from .conftest import NOW
from .test_terminal import FakeClock

STORY = "---\ntitle: Ranking latency\ncompetencies: impact\n---\n## Situation\na\n## Task\nb\n## Action\nI c\n## Result\nd 40%\n"


def test_draw_covers_competencies_weakest_first(db: Database) -> None:
    """Eight questions come from eight competencies; a question with a story comes after those without."""
    with db.session(write=True) as session:
        ensure_builtin_decks(session, NOW)
        story = save_story(session, parse_story(STORY), NOW)
        linked = link_story(session, story.id, "biggest business impact", NOW)
        session.commit()
        picked = pick_questions(session, NOW, 8, random.Random(4))
        assert len({q.competency for q in picked}) == 8
        impact = [q for q in picked if q.competency == "impact"]
        assert impact and impact[0].question != linked[0].fields["Question"]
        everything = pick_questions(session, NOW, 100, random.Random(4))
        impact_all = [q.question for q in everything if q.competency == "impact"]
        assert impact_all[-1] == linked[0].fields["Question"]  # the one with a story is the least weak


def test_mock_loop_times_rates_and_sums_up(db: Database) -> None:
    """Each answer is timed, rated and recorded as a review; the summary flags over-long answers."""
    with db.session(write=True) as session:
        ensure_builtin_decks(session, NOW)
        session.commit()
        questions = pick_questions(session, NOW, 2, random.Random(1))
        clock = FakeClock(NOW)
        steps = iter([timedelta(seconds=150), timedelta(seconds=2), timedelta(seconds=40), timedelta(seconds=3)])
        keys = iter(" 3 2")

        def read() -> str:
            clock.now += next(steps, timedelta(seconds=1))
            return next(keys, "q")

        out = io.StringIO()
        summary = run_mock(ReviewSession(session, Limits(10, 100)), questions, Console(file=out, width=120), read, clock)
        data = summary.as_dict()  # type: ignore[attr-defined]
        assert [a["seconds"] for a in data["answers"]] == [150, 40]
        assert [a["rating"] for a in data["answers"]] == [3, 2]
        assert data["over_two_minutes"] == 1
        assert len(data["without_story"]) == 2
        assert len(session.scalars(select(Review)).all()) == 2
        assert "over two minutes" in out.getvalue()


def test_the_summary_lists_only_weak_competencies_and_a_story_that_covers_each(db: Database) -> None:
    """Competencies rated below Good on average are weak (an Easy one is not); each names the best story of the bank
    that covers it and is not linked to the question asked, with the command that links it."""
    with db.session(write=True) as session:
        ensure_builtin_decks(session, NOW)
        story = save_story(session, parse_story(STORY), NOW)  # covers impact
        other = save_story(session, parse_story(STORY.replace("Ranking latency", "Cheaper training").replace("impact", "conflict")), NOW)
        session.commit()
        picked = pick_questions(session, NOW, 100, random.Random(2))
        questions = [next(q for q in picked if q.competency == "impact"), next(q for q in picked if q.competency == "failure")]
        link_story(session, other.id, str(questions[0].note_id), NOW)  # linked elsewhere: still a suggestion for impact
        session.commit()
        clock = FakeClock(NOW)
        keys = iter(" 1 4")  # impact: Again; the other: Easy

        def read() -> str:
            clock.now += timedelta(seconds=20)
            return next(keys, "q")

        out = io.StringIO()
        summary = run_mock(ReviewSession(session, Limits(10, 100)), questions, Console(file=out, width=200), read, clock)
        data = summary.as_dict(session)  # type: ignore[attr-defined]
        assert data["weak_competencies"] == [{
            "competency": "impact", "label": "Impact", "mean_rating": 1.0, "questions": [questions[0].note_id],
            "story": {"id": story.id, "title": "Ranking latency"},
        }]
        shown = out.getvalue()
        assert f"Weak: Impact (mean rating 1.0); story {story.id} (Ranking latency) covers it: srs story link {story.id} {questions[0].note_id}" in shown
        assert "Failure" not in shown.split("Weak:")[1] and shown.count("Weak:") == 1
        link_story(session, story.id, str(questions[0].note_id), NOW)
        assert summary.as_dict(session)["weak_competencies"][0]["story"] is None  # type: ignore[attr-defined]


def test_mock_without_questions_is_an_error(tmp_path: Path) -> None:
    """With every question suspended there is nothing to ask: one line, exit 1."""
    from click.testing import CliRunner

    from srs.cli import cli

    db = tmp_path / "m.db"
    CliRunner().invoke(cli, ["--db", str(db), "status"])
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("update cards set suspended = 1")
    conn.commit()
    conn.close()
    result = CliRunner().invoke(cli, ["--db", str(db), "--keys-from-stdin", "mock"])
    assert (result.exit_code, result.output) == (1, "Error: no questions to ask: build a deck of questions first (srs deck build GUIDE.md)\n")


def test_u_takes_back_the_last_rating_and_asks_again(db: Database) -> None:
    """u at the next question undoes the last rating (its review is gone) and asks that question again."""
    with db.session(write=True) as session:
        ensure_builtin_decks(session, NOW)
        session.commit()
        questions = pick_questions(session, NOW, 2, random.Random(1))
        clock = FakeClock(NOW)
        keys = iter("u 1u 3 4")  # nothing to undo yet; rate Again; undo it; rate Good; then Easy

        def read() -> str:
            clock.now += timedelta(seconds=5)
            return next(keys, "q")

        out = io.StringIO()
        summary = run_mock(ReviewSession(session, Limits(10, 100)), questions, Console(file=out, width=120), read, clock)
        data = summary.as_dict()  # type: ignore[attr-defined]
        assert [(a["question"], a["rating"]) for a in data["answers"]] == [(questions[0].question, 3), (questions[1].question, 4)]
        assert sorted(r.rating for r in session.scalars(select(Review))) == [3, 4]
        text = out.getvalue()
        assert "Nothing to undo yet." in text and "Undid the last rating: that question again." in text
        assert text.count("Question 1 of 2") == 3 and "u: undo the last rating" in text


def test_a_rating_a_sync_has_sent_is_not_taken_back(db: Database) -> None:
    """A sync that ran since (another terminal) sent the last rating: u says it stays, and the interview goes on."""
    with db.session(write=True) as session:
        ensure_builtin_decks(session, NOW)
        session.commit()
        questions = pick_questions(session, NOW, 2, random.Random(1))
        clock = FakeClock(NOW)
        keys = iter(" 1Su 4")  # rate Again; a sync sends it; u is refused; then Easy

        def read() -> str:
            clock.now += timedelta(seconds=5)
            key = next(keys, "q")
            if key == "S":  # what `srs sync` leaves behind: every answer so far counted as sent
                set_setting(session, SYNCED_REVIEW, session.scalar(select(func.max(Review.id))))
                session.commit()
                key = next(keys, "q")
            return key

        out = io.StringIO()
        summary = run_mock(ReviewSession(session, Limits(10, 100)), questions, Console(file=out, width=120), read, clock)
        data = summary.as_dict()  # type: ignore[attr-defined]
        assert [a["rating"] for a in data["answers"]] == [1, 4]
        assert sorted(r.rating for r in session.scalars(select(Review))) == [1, 4]
        assert "Cannot undo: that answer has already gone to the sync server" in out.getvalue()
