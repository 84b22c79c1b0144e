"""The command line: outputs, JSON shapes, errors and the interactive session."""

from __future__ import annotations

import json
import shutil
import subprocess
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

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
    result = runner.invoke(cli, ["--db", str(dbfile), "--now", now, "--keys-from-stdin", *args], input=input, catch_exceptions=False)
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


def test_a_guide_deck_gets_a_short_name_by_default(dbfile: Path, tmp_path: Path) -> None:
    """A long `#` heading with emoji names the deck by its first words (32 characters at most); --deck picks any name;
    a guide without a heading is named after its file."""
    long_title = "# 🎯 Behavioral Interview Preparation for Machine Learning Engineer (Level 4-5)\n"
    body = GUIDE.split("\n", 1)[1]
    guide = write(tmp_path / "long.md", long_title + body)
    built = run(dbfile, "deck", "build", str(guide))
    assert built.output.startswith("Behavioral Interview Preparation: 2 added"), built.output
    chosen = run(dbfile, "deck", "build", str(write(tmp_path / "mine.md", long_title.replace("Level", "L") + body)), "--deck", "Prep::ML")
    assert chosen.output.startswith("Prep::ML: ")
    plain = run(dbfile, "deck", "build", str(write(tmp_path / "team-questions.md", body)))
    assert plain.output.startswith("team-questions: ")


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
        "id", "note_id", "guid", "deck", "kind", "front", "label", "state", "suspended", "buried", "due", "stability", "difficulty",
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
    assert ("Nothing due now. Next card due in 10 days (Sat 05 Dec). The daily limit of 1 new card is reached (1 introduced "
            "today); `srs review --new-limit 11` allows 10 more today.") in " ".join(result.output.split())


def test_new_cards_met_in_anki_today_are_counted_and_said(dbfile: Path) -> None:
    """New cards first answered today in Anki (an import or a sync: the answer carries Anki's revlog type) use up
    today's limit as in Anki; the message says how many were introduced here and there, and names --new-limit."""
    configure(dbfile)
    assert run(dbfile, "review", "--new-limit", "5", input=" 4 4q").exit_code == 0  # two here
    with sqlite3.connect(dbfile) as conn:  # three more, first answered in Anki this morning, as an import stores them
        cards = [row[0] for row in conn.execute("SELECT id FROM cards WHERE state = 0 ORDER BY id LIMIT 3")]
        for n, card_id in enumerate(cards):
            conn.execute(
                "INSERT INTO reviews (card_id, reviewed_at, rating, duration_ms, prev_state, state, step, stability, difficulty,"
                " due, interval, last_interval, anki_type) VALUES (?, ?, 3, 5000, 0, 1, 1, 2.3, 5.0, ?, -600, 0, 0)",
                (card_id, f"2026-11-25 07:0{n}:00.000000", "2026-11-25 07:20:00.000000"),
            )
            conn.execute("UPDATE cards SET state = 1, reps = 1, due = '2026-11-25 07:20:00.000000' WHERE id = ?", (card_id,))
    result = run(dbfile, "review", "--new-limit", "5", "--search", "is:new", input="q")
    assert ("Done for today. The daily limit of 5 new cards is reached (5 introduced today: 2 here, 3 in Anki (brought by "
            "an import or a sync)); `srs review --new-limit 15` allows 10 more today.") in " ".join(result.output.split())
    more = run(dbfile, "review", "--new-limit", "15", "--search", "is:new", input=" 4q")
    assert "Reviewed 1 card(s)" in more.output


def test_review_search_that_matches_nothing_says_so(dbfile: Path) -> None:
    """`srs review --search` with no match says no card matches (as `srs cards` does), not "nothing is due"."""
    result = run(dbfile, "review", "--search", "deck:Nowhere")
    assert (result.exit_code, result.output) == (0, "No cards match 'deck:Nowhere'.\n")


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
    """A --db path in a folder that does not exist is a one-line error, and no folder is made."""
    blocker = write(tmp_path / "file", "x")
    result = run(blocker / "sub" / "x.db", "status")
    assert (result.exit_code, result.output) == (
        1, f"Error: cannot create database {blocker / 'sub' / 'x.db'}: folder {blocker / 'sub'} does not exist\n"
    )
    result = run(tmp_path / "nonexistent" / "dir" / "x.db", "status")
    assert result.exit_code == 1 and "folder" in result.output and result.output.count("\n") == 1
    assert not (tmp_path / "nonexistent").exists()


def test_default_data_folder_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --db or SRS_DB, the user data folder is created on first use."""
    monkeypatch.delenv("SRS_DB")
    result = CliRunner().invoke(cli, ["--now", NOW, "status", "--json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "xdg" / "srs" / "srs.db").is_file()


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


_STARTUP = """
import atexit, gc, sys

passes = {"start-up": 0, "command": 0}

def count(phase, info):  # start-up lasts until the command's module is loaded
    if phase == "start":
        passes["command" if "srs.commands.browse" in sys.modules else "start-up"] += 1

gc.callbacks.append(count)
atexit.register(lambda: sys.stderr.write(
    f"start-up={passes['start-up']} collector={gc.isenabled()} frozen={gc.get_freeze_count()}\\n"
))
sys.argv = ["srs", *sys.argv[1:]]
# Neither this script nor Python's own set-up is srs's start-up. Python's first compile in a process sets up its
# parser (about 800 objects, one pass of the collector) and, where no bytecode is cached (PYTHONDONTWRITEBYTECODE),
# would fall on srs/__init__.py, before any of srs's code can run. So: compile once, collect, and count from zero.
compile("pass", "<warm-up>", "exec")
gc.collect()
passes["start-up"] = 0  # (that collection was counted)
from srs.__main__ import run
run()
"""


def test_the_process_starts_with_the_collector_paused_and_runs_the_command_with_it(tmp_path: Path) -> None:
    """`srs` loads its modules without the cyclic collector's passes; the command runs with the collector on and the
    start-up's objects frozen out of its passes (srs.__main__, srs.cli._end_startup)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _STARTUP, "--db", str(tmp_path / "g.db"), "--now", NOW, "status", "--json"],
        capture_output=True, text=True, check=True,
    )
    assert json.loads(out.stdout)["due"]["new"] == 10
    seen = dict(part.split("=") for part in out.stderr.split())
    assert seen["start-up"] == "0"
    assert seen["collector"] == "True"
    assert int(seen["frozen"]) > 10_000  # SQLAlchemy, click and srs's modules: tens of thousands of objects


_LOADED = """
import atexit, sys
watched = ("anki", "srs.sync", "genanki", "numpy", "rich")
atexit.register(lambda: sys.stderr.write("loaded: " + " ".join(m for m in watched if m in sys.modules) + "\\n"))
sys.argv = ["srs", *sys.argv[1:]]
from srs.__main__ import run
run()
"""


@pytest.mark.parametrize("args", [["status", "--json"], ["cards", "--json"], ["stats", "--json"], ["deck", "list", "--json"]])
def test_everyday_commands_never_load_the_anki_library_or_the_sync(tmp_path: Path, args: list[str]) -> None:
    """The anki library, srs's sync, genanki and rich load only in the commands that need them: `srs status` and the
    other everyday commands start no slower for them (rich draws only on a terminal; --json draws nothing)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _LOADED, "--db", str(tmp_path / "l.db"), "--now", NOW, *args], capture_output=True, text=True, check=True,
    )
    json.loads(out.stdout)
    loaded = out.stderr.split("loaded:")[1].split()
    assert not {"anki", "srs.sync", "genanki", "rich"} & set(loaded), loaded
    if args[0] == "status":
        assert "numpy" not in loaded  # the start screen needs no arrays


_ENDING = """
import atexit, os, sys

class Teardown:  # a module global: its __del__ runs only if the interpreter tears its modules down
    def __del__(self, write=os.write):
        write(2, b"teardown\\n")

kept = Teardown()
atexit.register(lambda: sys.stderr.write("exit handler\\n"))
if sys.argv[1] == "profiled":
    sys.setprofile(lambda *args: None)
sys.argv = ["srs", *sys.argv[2:]]
from srs.cli import main
main()
"""


@pytest.mark.parametrize("how", ["plain", "profiled"])
def test_a_finished_command_ends_without_the_interpreters_teardown(tmp_path: Path, how: str) -> None:
    """After a command, the process ends at once (output flushed, exit handlers run, the status kept); under a profiler, the usual way."""
    import subprocess
    import sys

    db = str(tmp_path / "e.db")
    ok = subprocess.run([sys.executable, "-c", _ENDING, how, "--db", db, "--now", NOW, "status", "--json"], capture_output=True, text=True)
    assert ok.returncode == 0
    assert json.loads(ok.stdout)["due"]["new"] == 10  # the whole output, flushed
    assert "exit handler" in ok.stderr
    assert ("teardown" in ok.stderr) == (how == "profiled")
    bad = subprocess.run([sys.executable, "-c", _ENDING, how, "--db", str(tmp_path), "status"], capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.count("Error:") == 1 and "exit handler" in bad.stderr
    usage = subprocess.run([sys.executable, "-c", _ENDING, how, "--db", db, "no-such-command"], capture_output=True, text=True)
    assert usage.returncode == 2


def test_ctrl_c_while_the_database_closes_is_one_line(tmp_path: Path) -> None:
    """A Ctrl-C landing while SQLAlchemy's pool closes a connection: "Aborted!", status 1, no traceback from its log."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from sqlalchemy.engine.default import DefaultDialect\n"
        "def interrupted(self, connection):\n"
        "    raise KeyboardInterrupt\n"
        "DefaultDialect.do_close = interrupted\n"
        "sys.argv = ['srs', *sys.argv[1:]]\n"
        "from srs.cli import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", script, "--db", str(tmp_path / "c.db"), "--now", NOW, "status"], capture_output=True, text=True)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and done.stderr.strip().splitlines()[-1] == "Aborted!", done.stderr


@pytest.mark.parametrize("module", ["sqlalchemy.orm", "click", "srs.commands.common"])
def test_ctrl_c_while_srs_starts_is_one_line(tmp_path: Path, module: str) -> None:
    """A Ctrl-C in the first tenths of a second, while Python loads srs's modules (before click handles Ctrl-C): "Aborted!",
    status 1, no traceback, nothing made. The interrupt is raised where the signal would land: in the import of *module*."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "class Interrupted:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {module!r}:\n"
        "            raise KeyboardInterrupt\n"
        "        return None\n"
        "sys.meta_path.insert(0, Interrupted())\n"
        "sys.argv = ['srs', *sys.argv[1:]]\n"
        "from srs.__main__ import run\n"
        "run()\n"
    )
    db = tmp_path / "c.db"
    done = subprocess.run([sys.executable, "-c", script, "--db", str(db), "--now", NOW, "status"], capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == ["Aborted!"] and done.stdout == "", done.stderr
    assert not db.exists()

def _read_only_runner(folder: Path):  # type: ignore[no-untyped-def]
    """Run srs on *folder* made read-only: a read-only bind mount when this machine allows one, else srs told so.

    The mount (in a private user and mount namespace) is the real thing: even
    root cannot write there, and SQLite cannot create a WAL index beside the
    file. Where namespaces are not allowed, srs's own check of writability is
    made to answer "no" instead.
    """
    import shlex
    import subprocess
    import sys

    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount --bind -o ro {shlex.quote(str(folder))} {shlex.quote(str(folder))}"],
        capture_output=True,
    ) if shutil.which("unshare") else None
    if probe is not None and probe.returncode == 0:
        def run_ro(*args: str) -> tuple[int, str]:
            command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "srs", "--db", str(folder / "srs.db"), "--now", NOW, "--keys-from-stdin", *args])
            done = subprocess.run(
                ["unshare", "-rm", "sh", "-c", f"mount --bind -o ro {shlex.quote(str(folder))} {shlex.quote(str(folder))} && exec {command}"],
                capture_output=True, text=True,
            )
            return done.returncode, done.stdout + done.stderr
        return run_ro

    def run_simulated(*args: str) -> tuple[int, str]:
        from unittest import mock

        with mock.patch("srs.db._writable", return_value=False):
            result = run(folder / "srs.db", *args)
        return result.exit_code, result.output
    return run_simulated


def test_read_only_database(tmp_path: Path) -> None:
    """Reading commands work on a read-only collection; writing ones say so in one line and change nothing."""
    folder = tmp_path / "ro"
    folder.mkdir()
    assert run(folder / "srs.db", "status").exit_code == 0
    before = (folder / "srs.db").read_bytes()
    run_ro = _read_only_runner(folder)
    code, out = run_ro("status", "--json")
    assert code == 0, out
    assert json.loads(out)["totals"]["cards"] == 86
    for args in (("cards", "--json"), ("deck", "list"), ("stats", "--json"), ("config",)):
        code, out = run_ro(*args)
        assert code == 0, (args, out)
    message = f"Error: {folder / 'srs.db'} is read-only: this command changes the collection, so nothing was done\n"
    guide = write(tmp_path / "guide.md", "# G\n\n- Tell me about a launch.\n")
    for args in (("config", "new_per_day", "5"), ("review",), ("deck", "build", str(guide))):
        code, out = run_ro(*args)
        assert (code, out) == (1, message), args
    assert (folder / "srs.db").read_bytes() == before


def test_a_folder_where_a_file_is_expected_is_a_one_line_error(tmp_path: Path) -> None:
    """A folder given as a guide, package, story, chart, export or database: one line, exit 1, no usage text."""
    folder = tmp_path / "dir"
    folder.mkdir()
    db = tmp_path / "c.db"
    cases = [
        (["deck", "build", str(folder)], f"Error: {folder} is a folder; give a guide file\n"),
        (["import", str(folder)], f"Error: {folder} is a folder; give a package file\n"),
        (["story", "add", "--file", str(folder)], f"Error: {folder} is a folder; give a story file\n"),
        (["pitch", "edit", "--file", str(folder)], f"Error: {folder} is a folder; give a pitch file\n"),
        (["story", "import", str(folder)], f"Error: {folder} is a folder; give a brag document file\n"),
        (["stats", "--png", str(folder)], f"Error: {folder} is a folder; give a file name for the chart\n"),
        (["export", str(folder)], f"Error: {folder} is a folder; give a file name for the package\n"),
    ]
    for args, message in cases:
        result = run(db, *args)
        assert (result.exit_code, result.output) == (1, message), args
    result = run(folder, "status")
    assert (result.exit_code, result.output) == (1, f"Error: {folder} is a directory, not a database file\n")
    assert list(folder.iterdir()) == []


def test_export_wants_an_apkg_name_never_follows_a_link_and_follows_the_umask(tmp_path: Path) -> None:
    """`export new.txt` is refused; a dangling link is not replaced without --force; the package gets the umask's mode."""
    import os

    db = tmp_path / "c.db"
    result = run(db, "export", str(tmp_path / "new.txt"))
    assert result.exit_code == 1 and result.output.startswith("Error: new.txt: an Anki package name ends in .apkg")
    assert not (tmp_path / "new.txt").exists()
    link = tmp_path / "link.apkg"
    link.symlink_to(tmp_path / "nowhere" / "target.apkg")
    result = run(db, "export", str(link))
    assert (result.exit_code, result.output) == (1, f"Error: {link} already exists (use --force to replace it)\n")
    assert link.is_symlink()
    old = os.umask(0o022)
    try:
        assert run(db, "export", str(tmp_path / "out.apkg")).exit_code == 0
        assert run(db, "export", str(link), "--force").exit_code == 0
    finally:
        os.umask(old)
    assert (tmp_path / "out.apkg").stat().st_mode & 0o777 == 0o644
    assert not link.is_symlink() and link.is_file() and not (tmp_path / "nowhere").exists()


def test_review_and_mock_need_a_terminal(tmp_path: Path) -> None:
    """With standard input not a terminal, review and mock stop with one line instead of showing one card."""
    db = str(tmp_path / "c.db")
    for command in ("review", "mock"):
        result = CliRunner().invoke(cli, ["--db", db, "--now", NOW, command], input=" 3")
        assert (result.exit_code, result.output) == (
            1, f"Error: srs {command} needs a terminal: it reads your answers from the keyboard, and standard input is not one\n"
        )
    status = json.loads(CliRunner().invoke(cli, ["--db", db, "--now", NOW, "status", "--json"]).output)
    assert status["totals"]["reviews"] == 0


def test_listings_fit_the_terminal(tmp_path: Path) -> None:
    """At 80 columns `srs cards` and `srs story list` keep one line per row within the width, cutting text with an ellipsis."""
    from rich.cells import cell_len

    db = tmp_path / "c.db"
    story = write(tmp_path / "s.md", (
        "---\ntitle: Migrated the feature store to a streaming architecture without downtime for forty teams\n"
        "competencies: collaboration, impact\nimpact: 3\n---\n## Situation\nStale.\n## Task\nMove.\n"
        "## Action\nI planned it with each team.\n## Result\nFreshness went from 24 hours to 5 minutes.\n"
    ))
    assert run(db, "story", "add", "--file", str(story)).exit_code == 0
    run(db, "review", input=" 3 3q")
    count = len(json.loads(run(db, "cards", "--json").output))
    for width in (60, 80, 120):
        for args, rows in ((("cards",), count), (("story", "list"), 1)):
            result = CliRunner(env={"COLUMNS": str(width)}).invoke(cli, ["--db", str(db), "--now", NOW, *args])
            assert result.exit_code == 0, result.output
            lines = result.output.rstrip("\n").split("\n")
            assert len(lines) == rows + 1, (args, width)  # a header and one line per row
            assert max(cell_len(line) for line in lines) <= width, (args, width)
    narrow = CliRunner(env={"COLUMNS": "80"}).invoke(cli, ["--db", str(db), "--now", NOW, "story", "list"]).output
    assert "Migrated the feature store to a" in narrow and "…" in narrow and "forty teams" not in narrow
    wide = CliRunner(env={"COLUMNS": "250"}).invoke(cli, ["--db", str(db), "--now", NOW, "story", "list"]).output
    assert "forty teams" in wide and "involv." in wide
    cards = CliRunner(env={"COLUMNS": "80"}).invoke(cli, ["--db", str(db), "--now", NOW, "cards"]).output
    assert "Ask to learn: " in cards and "A question for the interviewer" not in cards


@pytest.mark.parametrize("group", [[], ["card"], ["deck"], ["story"], ["sync"], ["pitch"]])
def test_help_summaries_fit_80_columns(group: list[str]) -> None:
    """At 80 columns no command's summary in `srs [GROUP] --help` is cut short with '...'."""
    result = CliRunner(env={"COLUMNS": "80"}).invoke(cli, [*group, "--help"])
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:\n", 1)[1].splitlines()
    assert listed and all(len(line) <= 80 and not line.endswith("...") for line in listed), listed


def test_db_is_taken_before_or_after_the_command_name(tmp_path: Path) -> None:
    """`--db PATH` works after a command (and after a group's command) as before it; after wins when given twice."""
    before, after = tmp_path / "before.db", tmp_path / "after.db"
    first = CliRunner().invoke(cli, ["--now", NOW, "status", "--json", "--db", str(after)])
    assert first.exit_code == 0, first.output
    assert after.exists() and not before.exists()
    shown = CliRunner().invoke(cli, ["--now", NOW, "card", "show", "1", "--json", "--db", str(after)])
    assert shown.exit_code == 0 and json.loads(shown.output)["id"] == 1
    both = CliRunner().invoke(cli, ["--db", str(before), "--now", NOW, "deck", "list", "--db", str(after), "--json"])
    assert both.exit_code == 0 and not before.exists()
    assert "--db PATH" in CliRunner().invoke(cli, ["story", "list", "--help"]).output


def _srs(*args: str) -> subprocess.CompletedProcess[str]:
    import sys

    return subprocess.run([sys.executable, "-m", "srs", *args], capture_output=True, text=True, timeout=60)


def test_a_mistyped_command_gets_the_nearest_name_and_bare_srs_is_help(tmp_path: Path) -> None:
    """`srs reveiw` suggests `review` (status 2); so does a group's mistyped command; bare `srs` and `srs card` print
    their help and exit 0; the message quotes what was typed without its control characters."""
    typo = _srs("--db", str(tmp_path / "t.db"), "reveiw")
    assert (typo.returncode, typo.stderr.splitlines()[-1]) == (2, "Error: No such command 'reveiw'. Did you mean 'review'?")
    sub = _srs("--db", str(tmp_path / "t.db"), "card", "shw", "1")
    assert (sub.returncode, sub.stderr.splitlines()[-1]) == (2, "Error: No such command 'shw'. Did you mean 'show'?")
    far = _srs("--db", str(tmp_path / "t.db"), "zzzzzz")
    assert far.stderr.splitlines()[-1] == "Error: No such command 'zzzzzz'."
    evil = _srs("--db", str(tmp_path / "t.db"), "re\x1b]0;pwned\x07view")
    assert evil.returncode == 2 and "\x1b" not in evil.stderr and "\x07" not in evil.stderr and "No such command" in evil.stderr
    for args in ([], ["card"]):
        bare = _srs("--db", str(tmp_path / "t.db"), *args)
        assert bare.returncode == 0 and bare.stdout.startswith("Usage: srs") and "Commands:" in bare.stdout and bare.stderr == ""
    assert not (tmp_path / "t.db").exists()  # nothing ran, nothing was made


def test_an_import_shows_its_progress_on_a_terminal_and_nothing_when_piped(tmp_path: Path) -> None:
    """On a terminal `srs import` draws a progress bar (rich redraws it ten times a second: a small package shows its
    first stage only) and clears it before the summary; piped, it prints the summary alone, with no control sequence."""
    import os
    import pty
    import sys

    package = tmp_path / "deck.apkg"
    assert _srs("--db", str(tmp_path / "from.db"), "--now", NOW, "export", str(package)).returncode == 0
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "srs", "--db", str(tmp_path / "tty.db"), "--now", NOW, "import", str(package)],
        stdin=child, stdout=child, stderr=child, env={**os.environ, "COLUMNS": "100", "TERM": "xterm"}, close_fds=True,
    )
    os.close(child)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    assert proc.wait(timeout=60) == 0
    drawn = seen.decode("utf-8", "replace")
    assert "\r\x1b[2KImporting " in drawn and "━" in drawn
    assert drawn.rstrip().splitlines()[-1].startswith("\x1b[1A\x1b[2KImported deck.apkg: notes ")  # the bar cleared first
    piped = _srs("--db", str(tmp_path / "pipe.db"), "--now", NOW, "import", str(package))
    assert piped.returncode == 0 and piped.stdout.startswith("Imported deck.apkg: notes ") and "\x1b" not in piped.stdout + piped.stderr
