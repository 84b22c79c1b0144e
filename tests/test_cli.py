"""The command line: outputs, JSON shapes, errors and the interactive session."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from srs.cli import cli
from srs.db import SCHEMA_VERSION

from .conftest import write

NOW = "2026-11-25T08:00:00"

GUIDE = """\
# My guide
## Conflict
- Tell me about a disagreement with a peer.
## STAR
- **Situation**: The setting.
"""


@pytest.fixture
def dbfile(tmp_path: Path) -> Path:
    return tmp_path / "cli.db"


def run(dbfile: Path, *args: str, input: str | None = None, now: str = NOW) -> Result:
    runner = CliRunner(env={"COLUMNS": "200"})
    result = runner.invoke(cli, ["--db", str(dbfile), "--now", now, *args], input=input, catch_exceptions=False)
    return result


def configure(dbfile: Path) -> None:
    assert run(dbfile, "config", "timezone", "Europe/Berlin").exit_code == 0


def test_status_on_first_use_builds_builtin_decks(dbfile: Path) -> None:
    """The first command creates the database with the built-in decks, ready to study."""
    result = run(dbfile, "status", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["due"] == {"new": 10, "learning": 0, "review": 0}
    assert data["totals"]["decks"] == 3
    assert data["totals"]["cards"] == data["totals"]["notes"] >= 70
    assert data["totals"]["reviews"] == 0
    assert set(data) == {"today", "due", "totals", "next_due"}


def test_status_text(dbfile: Path) -> None:
    """The human status names today's counts."""
    configure(dbfile)
    result = run(dbfile, "status")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "Today 2026-11-25"
    assert lines[1] == "Due now: New 10  ·  Learning 0  ·  Review 0"
    assert lines[2].startswith("Collection: 86 cards in 86 notes, 3 decks; 0 suspended; 0 reviews so far.")


def test_deck_build_and_rebuild(dbfile: Path, tmp_path: Path) -> None:
    """deck build reports what changed; a rebuild changes nothing."""
    guide = write(tmp_path / "g.md", GUIDE)
    first = run(dbfile, "deck", "build", str(guide))
    assert first.exit_code == 0
    assert first.output == "My guide: 2 added, 0 updated, 0 unchanged, 0 suspended (gone from the guide), 0 restored\n"
    second = run(dbfile, "deck", "build", str(guide))
    assert second.output == "My guide: 0 added, 0 updated, 2 unchanged, 0 suspended (gone from the guide), 0 restored\n"
    listing = json.loads(run(dbfile, "deck", "list", "--json").output)
    assert {"deck": "My guide", "cards": 2, "new": 2, "due": 0, "suspended": 0} in listing


def test_review_session_through_keys(dbfile: Path, tmp_path: Path) -> None:
    """Space reveals, digits rate, u undoes, q quits; answers are stored with their rating."""
    configure(dbfile)
    run(dbfile, "deck", "build", str(write(tmp_path / "g.md", GUIDE)))
    result = run(dbfile, "review", "--deck", "My guide", input=" 3 4u 1q")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.count("Tell me about a disagreement with a peer.") >= 1
    assert "Situation" in out
    assert "1  Again 1m" in out and "3  Good 10m" in out
    assert "Undid the last answer." in out
    assert "Reviewed 2 card(s)" in out and "(Again 1, Good 1)" in out
    cards = json.loads(run(dbfile, "cards", "--deck", "My guide", "--json").output)
    assert [c["reps"] for c in cards] == [1, 1]
    assert {c["state"] for c in cards} == {"learning"}
    assert set(cards[0]) == {
        "id", "guid", "deck", "kind", "front", "state", "suspended", "due", "stability", "difficulty",
        "retrievability", "reps", "lapses",
    }


def test_review_says_when_next_card_is_due(dbfile: Path, tmp_path: Path) -> None:
    """With nothing due, review says when the next card comes."""
    configure(dbfile)
    run(dbfile, "deck", "build", str(write(tmp_path / "g.md", GUIDE)))
    run(dbfile, "review", "--deck", "My guide", input=" 4 4q")
    cards = json.loads(run(dbfile, "cards", "--deck", "My guide", "--json").output)
    first = min(datetime.fromisoformat(c["due"]) for c in cards)
    days = (first.astimezone(ZoneInfo("Europe/Berlin")).date() - date(2026, 11, 25)).days
    assert 6 <= days <= 10  # Easy on a new card: 8 days, fuzzed
    result = run(dbfile, "review", "--deck", "My guide", input="q")
    expected = f"Nothing due now. Next card due in {days} days ({first.astimezone(ZoneInfo('Europe/Berlin')):%a %d %b})."
    assert result.output.strip() == expected


def test_review_limits_from_flags(dbfile: Path) -> None:
    """--new-limit caps new cards for the session."""
    configure(dbfile)
    result = run(dbfile, "review", "--new-limit", "1", input=" 4")
    assert "Reviewed 1 card(s)" in result.output
    assert "daily limit of new cards is reached" in result.output


def test_cards_due_json(dbfile: Path, tmp_path: Path) -> None:
    """cards --due lists only cards due by the end of today, with memory state."""
    configure(dbfile)
    run(dbfile, "deck", "build", str(write(tmp_path / "g.md", GUIDE)))
    run(dbfile, "review", "--deck", "My guide", input=" 4 3q")
    later = (datetime(2026, 11, 25, 8, tzinfo=timezone.utc) + timedelta(days=8)).isoformat()
    due = json.loads(run(dbfile, "cards", "--due", "--json", now=later).output)
    by_front = {c["front"]: c for c in due}
    assert set(by_front) == {"Tell me about a disagreement with a peer.", "STAR — Situation?"}
    assert by_front["STAR — Situation?"]["state"] == "learning"  # its 10-minute step is long overdue
    question = by_front["Tell me about a disagreement with a peer."]
    assert question["state"] == "review" and 0 < question["retrievability"] < 1
    assert question["stability"] == 8.2956
    assert len(json.loads(run(dbfile, "cards", "--due", "--json").output)) == 1  # today: only the learning card


def test_config_roundtrip_and_errors(dbfile: Path) -> None:
    """config sets and shows values; bad values are one-line errors."""
    assert run(dbfile, "config", "desired_retention", "0.92").output == "desired_retention = 0.92\n"
    assert run(dbfile, "config", "learning-steps", "30s 5m 1h").output == "learning_steps = 30s 5m 1h\n"
    assert run(dbfile, "config", "desired_retention").output == "0.92\n"
    bad = run(dbfile, "config", "desired_retention", "2")
    assert bad.exit_code == 1 and bad.output == "Error: desired_retention must be between 0.70 and 0.99, got 2.0\n"
    bad = run(dbfile, "config", "timezone", "Nowhere/City")
    assert bad.exit_code == 1 and "unknown timezone 'Nowhere/City'" in bad.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Error: g.md is empty\n"),
        (b"\xff\xfe bad", "Error: g.md is not UTF-8 text (bad byte at offset 0)\n"),
        (b"# Title\n\nOnly prose.\n", "Error: g.md has no questions or '**Term**: definition' items to make cards from\n"),
    ],
)
def test_malformed_guides_fail_cleanly(dbfile: Path, tmp_path: Path, content: bytes, message: str) -> None:
    """Bad guides give one line, exit 1, and add no deck."""
    path = tmp_path / "g.md"
    path.write_bytes(content)
    run(dbfile, "status")
    result = run(dbfile, "deck", "build", str(path))
    assert (result.exit_code, result.output) == (1, message)
    assert "g" not in [d["deck"] for d in json.loads(run(dbfile, "deck", "list", "--json").output)]


def test_missing_guide(dbfile: Path, tmp_path: Path) -> None:
    """A guide path that does not exist is a one-line error."""
    result = run(dbfile, "deck", "build", str(tmp_path / "nope.md"))
    assert (result.exit_code, result.output) == (1, f"Error: no such guide: {tmp_path / 'nope.md'}\n")


def test_unknown_deck(dbfile: Path) -> None:
    """An unknown --deck names the decks that exist."""
    result = run(dbfile, "cards", "--deck", "Nope")
    assert result.exit_code == 1
    assert result.output.startswith("Error: no deck named 'Nope' (decks: Interview::Behavioral questions, ")
    assert len(result.output.splitlines()) == 1


def test_foreign_and_future_databases(tmp_path: Path) -> None:
    """Not-srs and newer-schema files are refused with one line and left untouched."""
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE x (y)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    result = run(other, "status")
    assert (result.exit_code, result.output) == (1, f"Error: {other} is not an srs database\n")
    assert other.read_bytes() == before

    future = tmp_path / "future.db"
    run(future, "status")
    conn = sqlite3.connect(future)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    result = run(future, "review")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {future} was written by a newer srs (schema {SCHEMA_VERSION + 1}, this srs knows up to "
        f"{SCHEMA_VERSION}); upgrade srs to open it\n"
    )


def test_unwritable_db_path(tmp_path: Path) -> None:
    """A --db path that cannot be created is a one-line error."""
    blocker = write(tmp_path / "file", "x")
    result = run(blocker / "sub" / "x.db", "status")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot create database folder {blocker / 'sub'}")


def test_srs_db_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SRS_DB chooses the database when --db is absent."""
    target = tmp_path / "env.db"
    monkeypatch.setenv("SRS_DB", str(target))
    result = CliRunner().invoke(cli, ["--now", NOW, "status", "--json"])
    assert result.exit_code == 0 and target.exists()


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    """`python -m srs` runs the same CLI."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "srs", "--db", str(tmp_path / "m.db"), "--now", NOW, "status", "--json"],
        capture_output=True, text=True, check=True,
    )
    assert json.loads(out.stdout)["due"]["new"] == 10
