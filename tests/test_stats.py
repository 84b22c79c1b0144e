"""Statistics: activity, true retention, forecast and recall, from a pinned history."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from srs.cli import cli
from srs.db import Database
from srs.domain import Rating
from srs.models import Card
from srs.review import Limits, ReviewSession
from srs.stats import FORECAST_DAYS, collection_stats

from .conftest import NOW
from .test_review import add_notes


def test_empty_collection_says_nothing_yet(tmp_path: Path) -> None:
    """Stats on a collection with no reviews is not an error: it says there is nothing yet."""
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "s.db"), "--now", "2026-11-25T08:00:00", "stats"])
    assert (result.exit_code, result.output) == (0, "Nothing to show yet: no reviews so far. Start with `srs review`.\n")
    data = json.loads(CliRunner().invoke(cli, ["--db", str(tmp_path / "s.db"), "--now", "2026-11-25T08:00:00", "stats", "--json"]).output)
    assert data["reviews"] == 0 and data["retention_by_month"] == [] and len(data["forecast"]) == FORECAST_DAYS


def test_pinned_history(db: Database) -> None:
    """Counts per day, true retention of review answers, streak, forecast and recall come out exactly."""
    ids = add_notes(db, 3)
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(10, 100))
        day0 = NOW - timedelta(days=20)
        for card_id in ids:  # day 0: three new cards, Easy (8 days, fuzzed)
            review.answer(session.get(Card, card_id), Rating.EASY, day0, 30_000)  # type: ignore[arg-type]
        later = NOW - timedelta(days=1)
        review.answer(session.get(Card, ids[0]), Rating.GOOD, later, 60_000)  # type: ignore[arg-type]
        review.answer(session.get(Card, ids[1]), Rating.AGAIN, later, 60_000)  # type: ignore[arg-type]
        session.commit()
        data = collection_stats(session, NOW)
    active = {a["date"]: (a["reviews"], a["minutes"]) for a in data["activity"] if a["reviews"]}
    assert active == {"2026-11-05": (3, 1.5), "2026-11-24": (2, 2.0)}
    assert data["reviews"] == 5 and data["days_studied"] == 2 and data["streak_days"] == 1
    assert data["retention_by_month"] == [{"period": "2026-11", "reviews": 2, "retention": 0.5}]
    assert data["retention_by_week"] == [{"period": "2026-W48", "reviews": 2, "retention": 0.5}]
    with db.session() as session:
        clock = review.clock
        offsets = sorted(max(0, clock.day_of(c.due) - clock.today(NOW)) for c in session.scalars(select(Card)))  # type: ignore[arg-type]
    assert offsets[:2] == [0, 0]  # the relearning card and the overdue third card
    assert sum(f["due"] for f in data["forecast"]) == sum(1 for o in offsets if o < FORECAST_DAYS)
    assert data["forecast"][0]["due"] == 2
    assert [row["deck"] for row in data["recall_by_deck"]] == ["D"] and data["recall_by_deck"][0]["cards"] == 3
    assert data["recall_by_competency"] == []  # these notes carry no competency


def test_png_charts(db: Database, tmp_path: Path) -> None:
    """--png writes the charts as a PNG image."""
    ids = add_notes(db, 2)
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(10, 100))
        for card_id in ids:
            review.answer(session.get(Card, card_id), Rating.EASY, NOW - timedelta(days=3), 10_000)  # type: ignore[arg-type]
        session.commit()
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["--db", str(db.path), "--now", NOW.isoformat(), "stats", "--png", str(tmp_path / "s.png")])
    assert result.exit_code == 0, result.output
    assert result.output.endswith(f"\nWrote the charts to {tmp_path / 's.png'}\n")
    as_json = CliRunner().invoke(cli, ["--db", str(db.path), "--now", NOW.isoformat(), "stats", "--json", "--png", str(tmp_path / "j.png"), "--force"])
    assert json.loads(as_json.stdout)["reviews"] == 2 and as_json.stderr == f"Wrote the charts to {tmp_path / 'j.png'}\n"
    data = (tmp_path / "s.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 700)
    empty = CliRunner().invoke(cli, ["--db", str(tmp_path / "e.db"), "stats", "--png", str(tmp_path / "e.png")])
    assert (empty.exit_code, empty.output) == (1, "Error: nothing to chart yet: no reviews so far\n")
    for name in ("s.jpg", "chart", "s.png.txt"):
        wrong = CliRunner().invoke(cli, ["--db", str(db.path), "--now", NOW.isoformat(), "stats", "--png", str(tmp_path / name)])
        assert (wrong.exit_code, wrong.output) == (1, f"Error: --png writes a PNG image: give a file name ending in .png, not {name!r}\n")
        assert not (tmp_path / name).exists()


def test_a_chart_panel_with_nothing_to_show_says_so() -> None:
    """Panels without data (nothing due, no review-card answers, no studied decks) carry a sentence, not an empty
    axis; panels with data draw it and carry no such sentence."""
    import matplotlib.pyplot as plt

    from srs.stats import chart_figure

    activity = [{"date": f"2026-11-{day:02d}", "reviews": 1 if day == 20 else 0} for day in range(1, 26)]
    bare = {"activity": activity, "forecast": [{"date": "2026-11-26", "due": 0}], "retention_by_month": [], "recall_by_deck": []}
    fig = chart_figure(bare)
    said = [[t.get_text() for t in ax.texts] for ax in fig.axes]
    plt.close(fig)
    assert said == [[], ["Nothing due in the next 30 days"], ["No reviews of review cards yet"], ["No studied cards yet"]]
    full = {**bare, "forecast": [{"date": "2026-11-26", "due": 3}], "retention_by_month": [{"period": "2026-11", "retention": 0.9}],
            "recall_by_deck": [{"deck": "D", "recall": 0.8}]}
    fig = chart_figure(full)
    drawn = [([t.get_text() for t in ax.texts], len(ax.patches) + len(ax.lines)) for ax in fig.axes]
    plt.close(fig)
    assert drawn == [([], 0), ([], 1), ([], 1), ([], 1)]


def _history(db: Database) -> None:
    ids = add_notes(db, 3)
    with db.session(write=True) as session:
        review = ReviewSession(session, Limits(10, 100))
        for card_id in ids:
            review.answer(session.get(Card, card_id), Rating.EASY, NOW - timedelta(days=20), 30_000)  # type: ignore[arg-type]
        review.answer(session.get(Card, ids[0]), Rating.GOOD, NOW - timedelta(days=1), 60_000)  # type: ignore[arg-type]
        review.answer(session.get(Card, ids[1]), Rating.AGAIN, NOW - timedelta(days=1), 60_000)  # type: ignore[arg-type]
        session.commit()


def test_terminal_view_shows_retention_by_week_and_month(db: Database) -> None:
    """The stats view has both retention tables the README describes."""
    _history(db)
    result = CliRunner(env={"COLUMNS": "120"}).invoke(cli, ["--db", str(db.path), "--now", NOW.isoformat(), "stats"])
    assert result.exit_code == 0, result.output
    assert "True retention by week" in result.output and "2026-W48" in result.output
    assert "True retention by month" in result.output and "2026-11" in result.output


def test_png_never_overwrites_or_follows_a_link_unasked(db: Database, tmp_path: Path) -> None:
    """An existing --png file or a link there is refused without --force; with it, the link is replaced, its target untouched."""
    import os

    _history(db)
    base = ["--db", str(db.path), "--now", NOW.isoformat(), "stats"]
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "p.png"
    link.symlink_to(target)
    refused = CliRunner().invoke(cli, [*base, "--png", str(link)])
    assert (refused.exit_code, refused.output) == (1, f"Error: {link} already exists (use --force to replace it)\n")
    assert link.is_symlink() and target.read_text() == "keep me"
    forced = CliRunner().invoke(cli, [*base, "--png", str(link), "--force"])
    assert forced.exit_code == 0, forced.output
    assert not link.is_symlink() and link.read_bytes()[:4] == b"\x89PNG" and target.read_text() == "keep me"
    old = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.png"
        assert CliRunner().invoke(cli, [*base, "--png", str(fresh)]).exit_code == 0
        assert fresh.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)
    folder = CliRunner().invoke(cli, [*base, "--png", str(tmp_path)])
    assert (folder.exit_code, folder.output) == (1, f"Error: {tmp_path} is a folder; give a file name for the chart\n")
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".png", ".part", ".txt")) == ["fresh.png", "p.png", "precious.txt"]
