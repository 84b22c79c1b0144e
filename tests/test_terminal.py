"""The interactive session's loop with a fake clock, and safe rendering of card text."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from rich.console import Console
from sqlalchemy import select

from srs.db import Database
from srs.models import Review
from srs.review import Limits, ReviewSession
from srs.terminal import format_interval, run_review, safe

from .conftest import NOW
from .test_review import add_notes


class FakeClock:
    """Advances by a set amount each time a key is read."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def scripted(keys: str, clock: FakeClock, step: timedelta):  # type: ignore[no-untyped-def]
    it = iter(keys)

    def read() -> str:
        clock.now += step
        return next(it, "")

    return read


def test_duration_is_time_to_reveal(db: Database) -> None:
    """The review's duration is the time from showing the card to revealing the answer."""
    add_notes(db, 2)
    clock = FakeClock(NOW)
    out = io.StringIO()
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(10, 100))
        # each key press happens 7 seconds after the previous one
        summary = run_review(review, Console(file=out, width=120), scripted(" 3 4q", clock, timedelta(seconds=7)), clock)
    assert summary.answered == 2 and summary.stop_reason == "quit"
    with db.session() as session:
        reviews = session.scalars(select(Review).order_by(Review.id)).all()
        assert [r.duration_ms for r in reviews] == [7000, 7000]
        assert [r.rating for r in reviews] == [3, 4]
        assert reviews[0].reviewed_at == NOW + timedelta(seconds=14)  # rated at the second key press


def test_long_answer_is_flagged(db: Database) -> None:
    """Revealing after more than two minutes shows the time in warning style."""
    add_notes(db, 1)
    clock = FakeClock(NOW)
    out = io.StringIO()
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(10, 100))
        run_review(review, Console(file=out, width=120), scripted(" 3q", clock, timedelta(minutes=3)), clock)
    assert "answered in 3:00" in out.getvalue()


def test_ctrl_c_quits_without_losing_answers(db: Database) -> None:
    """An interrupt while waiting for a key ends the session; earlier answers stay."""
    add_notes(db, 2)
    clock = FakeClock(NOW)
    keys = iter(" 3")

    def read() -> str:
        try:
            return next(keys)
        except StopIteration:
            raise KeyboardInterrupt from None

    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(10, 100))
        summary = run_review(review, Console(file=io.StringIO()), read, clock)
    assert summary.answered == 1
    with db.session() as session:
        assert len(session.scalars(select(Review)).all()) == 1


def test_control_characters_are_removed() -> None:
    """ESC sequences, bells and bidi overrides never reach the terminal."""
    assert safe("a\x1b[31mred\x07\u202e!") == "a[31mred!"
    assert safe("line\r\nnext\ttab") == "line\nnext    tab"


def test_card_text_is_not_rich_markup(db: Database) -> None:
    """Square brackets in a card are shown literally, not parsed as style markup."""
    from srs.models import Note

    add_notes(db, 1)
    with db.session(write=True) as session:
        note = session.scalars(select(Note)).one()
        note.fields = {"Question": "[bold red]Why[/] \x1b[2J?"}
        session.commit()
    clock = FakeClock(NOW)
    out = io.StringIO()
    with db.session(write=True) as session:
        run_review(ReviewSession(session, Limits(10, 100)), Console(file=out, width=120), scripted("q", clock, timedelta(seconds=1)), clock)
    assert "[bold red]Why[/] [2J?" in out.getvalue()
    assert "\x1b" not in out.getvalue()


def test_interval_labels() -> None:
    """Button labels read like Anki's."""
    from zoneinfo import ZoneInfo

    from srs.clock import Clock

    clock = Clock(ZoneInfo("Europe/Berlin"), 4)
    assert format_interval(NOW + timedelta(seconds=30), NOW, clock) == "<1m"
    assert format_interval(NOW + timedelta(minutes=10), NOW, clock) == "10m"
    assert format_interval(clock.day_start(clock.today(NOW) + 3), NOW, clock) == "3d"
    assert format_interval(clock.day_start(clock.today(NOW) + 90), NOW, clock) == "3.0mo"
    assert format_interval(clock.day_start(clock.today(NOW) + 730), NOW, clock) == "2.0y"


def test_another_writer_while_waiting_for_a_key(db: Database) -> None:
    """A second connection writing while the session waits for a key does not break the answer."""
    from srs.db import open_database
    from srs.settings import set_setting

    add_notes(db, 1)
    other = open_database(db.path)
    clock = FakeClock(NOW)
    keys = iter(" 3q")

    def read() -> str:
        key = next(keys, "q")
        if key == " ":  # while the card is on screen, another process writes
            with other.session(write=True) as session:
                set_setting(session, "new_per_day", 11)
                session.commit()
        clock.now += timedelta(seconds=3)
        return key

    with db.session(write=True) as session:
        summary = run_review(ReviewSession(session, Limits(10, 100)), Console(file=io.StringIO()), read, clock)
    other.close()
    assert summary.answered == 1
    with db.session() as session:
        assert len(session.scalars(select(Review)).all()) == 1


def test_the_progress_bar_starts_each_stage_afresh(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A counted stage shows its share; the stage after it, with no count, shows none (rich keeps a task's total
    once set, so a stage reusing the last one's task would read 0% of the old total)."""
    import sys

    import rich.progress

    import srs.commands.common as common

    seen: list[tuple[str, float | None, float]] = []

    class Recording(rich.progress.Progress):
        def update(self, task_id, **kwargs) -> None:  # type: ignore[no-untyped-def, override]
            super().update(task_id, **kwargs)
            task = self._tasks[task_id]
            seen.append((str(task.description), task.total, task.completed))

    monkeypatch.setattr(rich.progress, "Progress", Recording)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # as on a terminal
    with common.progress_bar("Syncing:") as report:
        report("merging notes", 0, 400)
        report("merging notes", 400, 400)
        report("sending srs's side", 0, 0)
    assert seen == [("Syncing: merging notes", 400, 0), ("Syncing: merging notes", 400, 400), ("Syncing: sending srs's side", None, 0)]


def test_without_a_terminal_the_progress_bar_costs_nothing() -> None:
    """Output to a pipe: the callback does nothing and rich's progress module is never loaded."""
    import subprocess
    import sys

    code = ("import sys; import srs.commands.common as c\n"
            "with c.progress_bar('Syncing:') as report: report('merging notes', 1, 2)\n"
            "print('rich.progress' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
